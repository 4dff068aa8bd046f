"""VeighNa (``vnpy`` 4.x, the ``vnpy`` extra) behind the bridge; the only package importing it.

* :mod:`.engine` — :class:`~.engine.VnpyEngine`, a ``MainEngine`` as the bridge's engine;
* :mod:`.events` — VeighNa's events into the handoff, fences, the replay of its OMS;
* :mod:`.threads` — VeighNa's event thread -> the asyncio loop (bounded, order-keeping);
* :mod:`.state` — what the engine knows (caches, client ids, waiters), on the loop;
* :mod:`.gateways` — gateways and their inferred connection state;
* :mod:`.convert` — VeighNa objects <-> wire Structs, enums by member name;
* :mod:`.headless` — ``webtrader bridge --engine vnpy --gateway module:GatewayClass``;
* :mod:`.app` — ``main_engine.add_app(NatsWebTraderApp)`` inside VeighNa Trader;
* :mod:`.ui` — the app's window in VeighNa Trader (Qt; imported by VeighNa only).

Import :class:`NatsWebTraderApp` from here (``from engine_bridge.vnpy import NatsWebTraderApp``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["NatsWebTraderApp"]


def __getattr__(name: str) -> Any:
    """``NatsWebTraderApp``, imported on first use (the headless bridge never needs it)."""
    if name == "NatsWebTraderApp":
        from engine_bridge.vnpy.app import NatsWebTraderApp  # noqa: PLC0415 - lazy

        return NatsWebTraderApp
    raise AttributeError(name)
