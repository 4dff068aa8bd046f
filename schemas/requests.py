"""Requests from clients to an engine, the filters of list queries, the subscribe reply.

These are decoded at the edge (gateway body, bridge request payload) with one typed
decoder each, so a wrong type or unknown enum is refused with the field named.
Contract-dependent checks live in :mod:`schemas.validation`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from schemas.enums import Direction, Exchange, Interval, Offset, OrderType
from schemas.objects import AwareDatetime

ClientOrderId = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[\x21-\x7e]*$")]
"""Up to 64 printable ASCII characters, no spaces."""
Reference = Annotated[str, msgspec.Meta(max_length=256)]
"""Free text the order carries back in its events (VeighNa's strategy name); at most 256."""


class SubscribeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subscribe to market data of one contract."""

    symbol: str
    exchange: Exchange

    @property
    def vt_symbol(self) -> str:
        """``symbol.EXCHANGE``."""
        return f"{self.symbol}.{self.exchange.value}"


class SubscribeReply(msgspec.Struct, frozen=True):
    """Reply of ``subscribe``: the contract now subscribed."""

    vt_symbol: str


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Send a new order (vnpy_webtrader's body, enums by name or VeighNa value)."""

    symbol: str
    exchange: Exchange
    direction: Direction
    type: OrderType
    volume: float
    price: float = 0.0
    offset: Offset = Offset.NONE
    reference: Reference = ""
    client_order_id: ClientOrderId = ""
    """The client's own id for this order: the same id on the same engine is the same order
    (a retry returns the original order and creates nothing).  Empty: no idempotency."""

    @property
    def vt_symbol(self) -> str:
        """``symbol.EXCHANGE``."""
        return f"{self.symbol}.{self.exchange.value}"


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel one order, by ``vt_orderid``."""

    vt_orderid: str


class CancelAllRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel every active order, optionally only those of one ``vt_symbol``."""

    vt_symbol: str | None = None


class Query(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Filters of a list query; every field optional.

    ``vt_symbol`` narrows to one contract, ``active`` to active orders only, ``limit`` keeps
    the newest N items.
    """

    vt_symbol: str | None = None
    active: bool = False
    limit: int | None = None


class OrderLookup(msgspec.Struct, frozen=True, kw_only=True):
    """Fetch one order by ``vt_orderid``."""

    vt_orderid: str


class HistoryRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Bars of one contract from ``start`` to ``end`` (VeighNa's ``HistoryRequest``).

    ``end`` defaults to now; bars are those opening in ``[start, end)``, oldest first.
    """

    symbol: str
    exchange: Exchange
    start: AwareDatetime
    end: AwareDatetime | None = None
    interval: Interval = Interval.MINUTE

    @property
    def vt_symbol(self) -> str:
        """``symbol.EXCHANGE``."""
        return f"{self.symbol}.{self.exchange.value}"


SettingValue = str | int | float | bool
"""One value of a gateway's connect setting (VeighNa's ``default_setting`` value types)."""


class ConnectRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Connect one gateway of the engine with ``setting`` (VeighNa's ``connect(setting)``).

    Keys missing from ``setting`` take the gateway's defaults (the first choice of a list).
    """

    gateway_name: str
    setting: dict[str, SettingValue] = msgspec.field(default_factory=dict)
