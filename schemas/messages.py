"""Messages about engines themselves: heartbeat and identity."""

from __future__ import annotations

import msgspec

from schemas.objects import AwareDatetime

HEARTBEAT_INTERVAL = 10.0
"""Seconds between heartbeats (VeighNa's HEARTBEAT_INTERVAL)."""

HEARTBEAT_TOLERANCE = 30.0
"""Seconds of silence after which an engine or client counts as gone (VeighNa's value)."""

SERVICE_NAME = "webtrader-engine"
"""nats.micro service name every bridge registers; ``$SRV.PING.webtrader-engine`` finds them."""

PROTOCOL_VERSION = "1"


class EngineInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Who an engine is; the reply of the ``info`` request and the heartbeat body."""

    engine_id: str
    engine: str
    """Kind of engine behind the bridge (``sim``, ``vnpy``)."""
    version: str
    gateway_name: str
    exchanges: list[str] = msgspec.field(default_factory=list)
    contracts: int = 0
    started: AwareDatetime | None = None


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Published on ``wt.{engine}.evt.heartbeat`` every HEARTBEAT_INTERVAL seconds."""

    engine_id: str
    time: AwareDatetime
    seq: int
    info: EngineInfo
