"""``python -m engine_bridge``: run one engine and put it on NATS until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from nats.js.errors import APIError

from engine_bridge.engine import EngineStartError
from engine_bridge.engines import create_engine
from engine_bridge.jetstream import StreamOptions
from engine_bridge.service import Bridge, connect
from engine_bridge.settings import BridgeSettings, SettingsError, load_settings
from engine_bridge.uniqueness import DuplicateEngineError, ensure_unique
from schemas.config import redact_url
from schemas.exposition import MetricsServer
from schemas.logs import configure_logging

logger = logging.getLogger("engine_bridge")

T = TypeVar("T")

EXIT_DUPLICATE = 3
"""Exit status when another live bridge already serves the engine id."""


async def run_bridge(settings: BridgeSettings) -> int:  # noqa: PLR0911 - one per outcome
    """Run the bridge until SIGTERM or SIGINT; return the exit code."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    bridges: list[Bridge] = []

    def reconnected() -> None:
        for bridge in bridges:
            bridge.reconnected()

    stop_wait = asyncio.create_task(stopping.wait())
    connecting = await _until_stopped(connect(settings, reconnected), stop_wait)
    if connecting is None:
        logger.info("stopped before NATS was reached")
        return 0
    try:
        nc = connecting.result()
    except Exception as exc:  # noqa: BLE001 - any failure to connect ends the process
        logger.error("cannot connect to NATS at %s: %s", redact_url(settings.nats_url), exc)
        return 1
    try:
        await ensure_unique(nc, settings.engine_id)
    except DuplicateEngineError as exc:
        logger.error("refusing to start: %s", exc)
        await nc.close()
        return EXIT_DUPLICATE
    bridge = Bridge(
        nc, create_engine(settings), settings.engine_id, StreamOptions.from_settings(settings)
    )
    bridges.append(bridge)
    try:
        metrics = await _start_metrics(settings, bridge)
    except OSError as exc:
        logger.error("cannot serve metrics on port %d: %s", settings.metrics_port, exc)
        await nc.close()
        return 1
    try:
        starting = await _until_stopped(bridge.start(), stop_wait)
        if starting is None:
            logger.info("stopped while starting")
            return 0
        try:
            starting.result()
        except (APIError, EngineStartError) as exc:
            what = "set up JetStream for" if isinstance(exc, APIError) else "start"
            logger.error("cannot %s engine %s: %s", what, settings.engine_id, exc)
            return 1
        sys.stdout.write(
            f"bridge ready engine_id={settings.engine_id} nats={redact_url(settings.nats_url)}\n"
        )
        sys.stdout.flush()
        logger.info("serving engine %s (%s)", settings.engine_id, settings.engine)
        await stop_wait
        logger.info("stopping")
    finally:
        await bridge.stop()
        if metrics is not None:
            await metrics.close()
    return 0


async def _start_metrics(settings: BridgeSettings, bridge: Bridge) -> MetricsServer | None:
    """The ``--metrics-port`` listener: ``/metrics``, and ``/healthz`` (200 while serving)."""
    if not settings.metrics_port:
        return None

    def healthz() -> tuple[int, bytes, str]:
        ok = bridge.serving and bridge.nc.is_connected
        body = b'{"status":"ok"}' if ok else b'{"status":"unavailable"}'
        return (200 if ok else 503), body, "application/json"

    server = MetricsServer(
        bridge.metrics.registry,
        settings.metrics_host,
        settings.metrics_port,
        routes={"/healthz": healthz},
    )
    await server.start()
    logger.info("metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
    return server


async def _until_stopped(
    work: Coroutine[Any, Any, T], stop: asyncio.Task[Any]
) -> asyncio.Task[T] | None:
    """Run ``work`` until it ends (its finished task) or ``stop`` is done first (None)."""
    task = asyncio.create_task(work)
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    return task


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, configure stderr logging, run the bridge; return the exit code."""
    try:
        settings = load_settings(argv)
    except SettingsError as exc:
        sys.stderr.write(f"engine_bridge: {exc}\n")
        return 2
    with (
        configure_logging(settings.log_level, settings.log_format),
        asyncio.Runner(loop_factory=_loop_factory()) as runner,
    ):
        return runner.run(run_bridge(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory: uvloop's when installed (via ``uvicorn[standard]``), else None."""
    try:
        import uvloop  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())
