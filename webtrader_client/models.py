"""Types of the gateway's REST answers that are not engine objects, and the resources.

Engine objects (``OrderData``, ``TickData``, ...) are the project's own
:mod:`schemas.objects`; this module adds what only the gateway answers (``EngineStatus``,
the login tokens) and names each state resource with the type its list decodes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

import msgspec

from schemas.objects import (
    AccountData,
    ContractData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)

T = TypeVar("T")


class EngineStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One engine as ``GET /engines`` lists it (docs/gateway.md)."""

    engine_id: str
    status: Literal["up", "down"]
    last_heartbeat: datetime | None = None
    engine: str | None = None
    """Kind of engine behind the bridge (``sim``, ``vnpy``)."""
    version: str | None = None
    gateway_name: str | None = None
    contracts: int = 0
    exchanges: list[str] = msgspec.field(default_factory=list)
    started: datetime | None = None


class TokenReply(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of ``POST /token`` and ``POST /token/refresh``.

    ``expires_in`` and ``refresh_token`` are absent from gateways without refresh tokens
    (vnpy_webtrader's shape).
    """

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: float | None = None
    refresh_token: str | None = None


class Subscribed(msgspec.Struct, frozen=True):
    """The answer of ``POST /tick/{vt_symbol}``."""

    vt_symbol: str


@dataclass(frozen=True, slots=True)
class Resource(Generic[T]):
    """A state resource: its path segment and the type of its items."""

    path: str
    type: type[T]


CONTRACTS = Resource("contract", ContractData)
TICKS = Resource("tick", TickData)
ORDERS = Resource("order", OrderData)
TRADES = Resource("trade", TradeData)
POSITIONS = Resource("position", PositionData)
ACCOUNTS = Resource("account", AccountData)


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[T]):
    """A state query's answer with the engine's stream sequence it includes.

    ``seq`` is the ``Wt-Stream-Seq`` header (``None`` when the engine has no events
    stream): subscribe on ``/stream`` with ``resume_from=seq`` to follow every change after
    this state without a gap.
    """

    data: list[T]
    seq: int | None


__all__ = [
    "ACCOUNTS",
    "CONTRACTS",
    "ORDERS",
    "POSITIONS",
    "TICKS",
    "TRADES",
    "EngineStatus",
    "Resource",
    "Snapshot",
    "Subscribed",
    "TokenReply",
]
