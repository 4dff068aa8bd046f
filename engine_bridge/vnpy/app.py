"""The bridge as a VeighNa app: ``main_engine.add_app(NatsWebTraderApp)``.

Added to the ``MainEngine`` of a running VeighNa Trader — the way ``WebTraderApp`` is —
the app bridges that engine (every gateway it has, connected from VeighNa's window or a
script) onto NATS.  No Qt is needed: the bridge runs on a thread of its own with its own
asyncio loop; VeighNa's window, when there is one, shows the app's status (:mod:`.ui`).

Settings come from ``nats_webtrader_setting.json`` in VeighNa's ``.vntrader`` directory,
a JSON object whose keys are the bridge's options in snake case (``python -m
engine_bridge --help``) plus ``autostart``::

    {"nats_url": "nats://127.0.0.1:4222", "engine_id": "ctp-live",
     "nats_user": "bridge-ctp-live", "nats_password_file": "nats-password.txt"}

``engine_id`` is required; relative file paths are read from the ``.vntrader`` directory;
``WEBTRADER_*`` environment variables fill what the file leaves out.  With an
``engine_id``, the bridge starts when the app is added (``"autostart": false`` to start it
from the window or with :meth:`NatsBridgeEngine.start_bridge`), and stops when VeighNa
closes the ``MainEngine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from vnpy.event import EventEngine
from vnpy.trader.app import BaseApp
from vnpy.trader.engine import BaseEngine, MainEngine
from vnpy.trader.utility import get_file_path, load_json

from engine_bridge.jetstream import StreamOptions
from engine_bridge.service import Bridge, connect
from engine_bridge.settings import BridgeSettings, SettingsError
from engine_bridge.uniqueness import DuplicateEngineError, ensure_unique
from engine_bridge.vnpy.engine import VnpyEngine
from engine_bridge.vnpy.setting import AUTOSTART, SETTING_FILENAME, bridge_settings
from schemas.config import redact_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

APP_NAME = "NatsWebTrader"
STOP_TIMEOUT = 20.0
"""Seconds :meth:`NatsBridgeEngine.stop_bridge` waits for the bridge to stop."""


class BridgeThread(threading.Thread):
    """Runs one bridge for ``engine`` on its own asyncio loop until :meth:`stop`."""

    def __init__(
        self, settings: BridgeSettings, engine: VnpyEngine, write_log: Callable[[str], None]
    ) -> None:
        super().__init__(name=f"webtrader-bridge-{settings.engine_id}", daemon=True)
        self.settings = settings
        self.engine = engine
        self.write_log = write_log
        self.state = "starting"
        """``starting``, ``serving``, ``stopped`` or ``failed: <why>``."""
        self.bridge: Bridge | None = None
        self.started_or_failed = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False

    def run(self) -> None:
        """The thread: run the bridge; any failure is logged in VeighNa's log."""
        try:
            asyncio.run(self._serve())
        except Exception as exc:  # noqa: BLE001 - reported to the VeighNa user, not raised
            self.state = f"failed: {exc}"
            self.write_log(f"NATS bridge {self.settings.engine_id} failed: {exc}")
        else:
            if not self.state.startswith("failed"):
                self.state = "stopped"
        finally:
            self.started_or_failed.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = stop = asyncio.Event()
        if self._stop_requested:
            return
        bridges: list[Bridge] = []

        def reconnected() -> None:
            for bridge in bridges:
                bridge.reconnected()

        connecting = await _until(connect(self.settings, reconnected), stop)
        if connecting is None:
            return
        nc = connecting.result()
        s = self.settings
        try:
            await ensure_unique(nc, s.engine_id)
        except DuplicateEngineError:
            await nc.close()
            raise
        self.bridge = bridge = Bridge(nc, self.engine, s.engine_id, StreamOptions.from_settings(s))
        bridges.append(bridge)
        try:
            starting = await _until(bridge.start(), stop)
            if starting is None:
                return
            starting.result()
            self.state = "serving"
            self.started_or_failed.set()
            self.write_log(f"NATS bridge ready: engine {s.engine_id} on {redact_url(s.nats_url)}")
            await stop.wait()
        finally:
            await bridge.stop()
            self.write_log(f"NATS bridge {s.engine_id} stopped")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the bridge (finishing what is in flight) and wait for the thread."""
        self._stop_requested = True
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed
                loop.call_soon_threadsafe(event.set)
        self.join(timeout)
        if self.is_alive():
            logger.warning("NATS bridge thread did not stop within %g s", timeout)


async def _until(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> asyncio.Task[T] | None:
    """Run ``work`` to its end (its finished task), unless ``stop`` is set first (None)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    return task


class NatsBridgeEngine(BaseEngine):
    """The app's engine: reads the settings, runs and stops the bridge thread."""

    def __init__(self, main_engine: MainEngine, event_engine: EventEngine) -> None:
        super().__init__(main_engine, event_engine, APP_NAME)
        self.setting_path = get_file_path(SETTING_FILENAME)
        self.thread: BridgeThread | None = None
        setting = load_json(SETTING_FILENAME)
        if setting.get("engine_id") and setting.get(AUTOSTART, True):
            self.start_bridge()
        elif not setting.get("engine_id"):
            self.write_log(f"NATS bridge: set engine_id and nats_url in {self.setting_path}")

    def write_log(self, msg: str) -> None:
        """A line in VeighNa's log (and on NATS, once the bridge runs)."""
        self.main_engine.write_log(msg, APP_NAME)

    def start_bridge(self) -> bool:
        """Start the bridge with the settings file as it is now; False if it cannot."""
        if self.thread is not None and self.thread.is_alive():
            return True
        try:
            settings = bridge_settings(load_json(SETTING_FILENAME), self.setting_path.parent)
        except SettingsError as exc:
            self.write_log(f"NATS bridge not started: {exc}")
            return False
        self.thread = BridgeThread(settings, VnpyEngine(self.main_engine), self.write_log)
        self.thread.start()
        return True

    def stop_bridge(self) -> None:
        """Stop the bridge if it runs."""
        if self.thread is not None:
            self.thread.stop()

    @property
    def status(self) -> dict[str, Any]:
        """What the app's window shows."""
        thread = self.thread
        if thread is None:
            return {"state": "not started", "settings": str(self.setting_path)}
        bridge, s = thread.bridge, thread.settings
        return {
            "state": thread.state,
            "engine_id": s.engine_id,
            "nats_url": redact_url(s.nats_url),
            "events published": 0 if bridge is None else bridge.publisher.published,
            "ticks conflated": thread.engine.dropped_ticks,
            "settings": str(self.setting_path),
        }

    def close(self) -> None:
        """VeighNa is closing: stop the bridge."""
        self.stop_bridge()


class NatsWebTraderApp(BaseApp):
    """VeighNa app putting this ``MainEngine`` on NATS (see the module docstring)."""

    app_name = APP_NAME
    app_module = "engine_bridge.vnpy"
    app_path = Path(__file__).parent
    display_name = "NATS WebTrader"
    engine_class = NatsBridgeEngine
    widget_name = "BridgeMonitor"
    icon_name = ""
