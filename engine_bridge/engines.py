"""Which :class:`~engine_bridge.engine.Engine` runs behind the bridge, from settings."""

from __future__ import annotations

from engine_bridge.engine import Engine
from engine_bridge.settings import BridgeSettings
from engine_bridge.sim import SimEngine
from engine_bridge.sim.contracts import select_specs


def create_engine(settings: BridgeSettings) -> Engine:
    """The engine ``settings.engine`` names, configured from ``settings``.

    Raises:
        ValueError: an engine kind this bridge does not know.
    """
    if settings.engine == SimEngine.kind:
        return SimEngine(
            tick_rate=settings.tick_rate,
            seed=settings.seed,
            specs=select_specs(settings.contracts),
        )
    if settings.engine == "vnpy":
        from engine_bridge.vnpy.headless import HeadlessVnpyEngine  # noqa: PLC0415 - optional

        return HeadlessVnpyEngine(
            gateway=settings.gateway,
            gateway_setting=settings.gateway_setting,
            gateway_name=settings.gateway_name,
        )
    raise ValueError(f"unknown engine {settings.engine!r}")
