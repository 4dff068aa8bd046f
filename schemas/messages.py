"""Messages about engines themselves: heartbeat and identity."""

from __future__ import annotations

from enum import StrEnum

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


class GatewayState(StrEnum):
    """Connection state of one gateway of an engine."""

    DISCONNECTED = "DISCONNECTED"
    """Never asked to connect, and nothing heard from it."""
    CONNECTING = "CONNECTING"
    """Asked to connect; no contract or account heard from it yet."""
    CONNECTED = "CONNECTED"
    """Contracts or accounts have arrived from it."""


DefaultValue = str | int | float | bool | list[str]
"""A default of a gateway's connect setting: a value, or a list of choices (first = default)."""


class GatewayInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One gateway of an engine: the reply of ``gateways`` (a list) and ``connect``."""

    name: str
    state: GatewayState
    exchanges: list[str] = msgspec.field(default_factory=list)
    """Exchanges the gateway serves (member names)."""
    contracts: int = 0
    """Contracts known from it."""
    default_setting: dict[str, DefaultValue] = msgspec.field(default_factory=dict)
    """The keys ``connect`` takes, with their defaults (never the values last used)."""
