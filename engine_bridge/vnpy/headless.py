"""Headless VeighNa: ``webtrader bridge --engine vnpy --gateway module:GatewayClass``.

:class:`HeadlessVnpyEngine` owns a VeighNa ``MainEngine`` with one gateway — no Qt, no
VeighNa Trader window.  On start, in a worker thread, it reads ``--gateway-setting`` (a
JSON object: the dict VeighNa's connect dialog saves as ``connect_*.json``), imports the
gateway class, creates ``EventEngine`` + ``MainEngine`` and adds the gateway under
``--gateway-name`` (default: the class's ``default_name``).  Then it bridges the engine
(:class:`~engine_bridge.vnpy.engine.VnpyEngine`) and connects the gateway with that
setting; without ``--gateway-setting`` the gateway waits for a ``connect`` request.
Stopping stops the bridging, then closes the ``MainEngine`` (its gateways and threads).

VeighNa's ``MainEngine`` changes the process's working directory to its trader directory
(``~`` or the current one, whichever holds ``.vntrader``); this engine changes it back, so
relative paths of the bridge's own options keep their meaning.  VeighNa's settings
(``vt_setting.json``: its log to console and file, ...) apply as in VeighNa Trader.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from vnpy.event import EventEngine
from vnpy.trader.engine import MainEngine
from vnpy.trader.gateway import BaseGateway

from engine_bridge.engine import EngineStartError, EventListener
from engine_bridge.vnpy.engine import ACK_TIMEOUT, VnpyEngine
from schemas.errors import WebTraderError
from schemas.requests import ConnectRequest

logger = logging.getLogger(__name__)


def load_gateway_class(spec: str) -> type[BaseGateway]:
    """The class ``module:GatewayClass`` names.

    Raises:
        EngineStartError: it cannot be imported or is not a VeighNa ``BaseGateway``.
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise EngineStartError(f"--gateway {spec!r}: use module:GatewayClass")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineStartError(f"--gateway {spec!r}: cannot import {module_name}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseGateway)):
        raise EngineStartError(f"--gateway {spec!r}: not a VeighNa BaseGateway class")
    return cls


def read_gateway_setting(path: str) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises:
        EngineStartError: unreadable, not JSON, or not an object.
    """
    try:
        setting = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineStartError(f"--gateway-setting {path}: {exc}") from None
    if not isinstance(setting, dict):
        raise EngineStartError(f"--gateway-setting {path}: not a JSON object")
    return setting


class HeadlessVnpyEngine(VnpyEngine):
    """A ``MainEngine`` of its own with one gateway, bridged (see the module docstring)."""

    def __init__(
        self,
        *,
        gateway: str,
        gateway_setting: str = "",
        gateway_name: str = "",
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        super().__init__(ack_timeout=ack_timeout)
        self.gateway_spec = gateway
        self.gateway_setting = gateway_setting
        self._name = gateway_name

    def _build(self) -> tuple[MainEngine, str, dict[str, Any] | None]:
        """In a worker thread: setting, gateway class, ``MainEngine`` with the gateway."""
        if not self.gateway_spec:
            raise EngineStartError("--engine vnpy needs --gateway module:GatewayClass")
        setting = read_gateway_setting(self.gateway_setting) if self.gateway_setting else None
        cls = load_gateway_class(self.gateway_spec)
        cwd = Path.cwd()
        main_engine = MainEngine(EventEngine())
        os.chdir(cwd)  # VeighNa moved it to its trader directory
        gateway = main_engine.add_gateway(cls, self._name)
        return main_engine, gateway.gateway_name, setting

    async def start(self, listener: EventListener) -> None:
        """Build the ``MainEngine``, bridge it, connect the gateway (when a setting is given).

        Raises:
            EngineStartError: bad ``--gateway``/``--gateway-setting``, or ``connect`` failed.
        """
        loop = asyncio.get_running_loop()
        main_engine, name, setting = await loop.run_in_executor(None, self._build)
        self._main_engine = main_engine
        try:
            await super().start(listener)
            logger.info("VeighNa gateway %s (%s) added", name, self.gateway_spec)
            if setting is not None:
                await self.connect_gateway(ConnectRequest(gateway_name=name, setting=setting))
        except WebTraderError as exc:
            await self.stop()
            raise EngineStartError(exc.detail) from None
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop bridging, then close the ``MainEngine`` (gateways, VeighNa's threads)."""
        await super().stop()
        main_engine, self._main_engine = self._main_engine, None
        if main_engine is not None:
            await asyncio.get_running_loop().run_in_executor(None, main_engine.close)
