"""VeighNa's object model (``vnpy.trader.object``) as immutable msgspec Structs.

Field names follow VeighNa so its users feel at home.  Unlike VeighNa, the derived ids
(``vt_symbol``, ``vt_orderid``, ...) are real fields: they are computed on construction
and travel on the wire, so a consumer never has to rebuild them.  Datetimes must carry a
UTC offset.  Floats that are not finite are encoded as ``null`` (strict JSON).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec.structs import force_setattr

from schemas.enums import (
    Direction,
    Exchange,
    Interval,
    Offset,
    OptionType,
    OrderType,
    Product,
    Status,
)

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A datetime with a UTC offset; naive datetimes are refused on decode."""


def vt_symbol_of(symbol: str, exchange: Exchange) -> str:
    """VeighNa's ``vt_symbol``: ``"{symbol}.{exchange}"``."""
    return f"{symbol}.{exchange.value}"


def split_vt_symbol(vt_symbol: str) -> tuple[str, Exchange]:
    """Inverse of :func:`vt_symbol_of`; the exchange is the text after the last dot.

    Raises:
        ValueError: no dot, empty symbol or unknown exchange.
    """
    symbol, sep, exchange = vt_symbol.rpartition(".")
    if not sep or not symbol:
        raise ValueError(f"not a vt_symbol (expected SYMBOL.EXCHANGE): {vt_symbol!r}")
    return symbol, Exchange(exchange)


class Base(msgspec.Struct, frozen=True, kw_only=True):
    """Common base: immutable, keyword-only, carries the engine gateway's name."""

    gateway_name: str = ""


class TickData(Base, frozen=True, kw_only=True):
    """Latest market data snapshot with a 5-level book."""

    symbol: str
    exchange: Exchange
    datetime: AwareDatetime
    name: str = ""
    volume: float = 0.0
    turnover: float = 0.0
    open_interest: float = 0.0
    last_price: float = 0.0
    last_volume: float = 0.0
    limit_up: float = 0.0
    limit_down: float = 0.0
    open_price: float = 0.0
    high_price: float = 0.0
    low_price: float = 0.0
    pre_close: float = 0.0
    bid_price_1: float = 0.0
    bid_price_2: float = 0.0
    bid_price_3: float = 0.0
    bid_price_4: float = 0.0
    bid_price_5: float = 0.0
    ask_price_1: float = 0.0
    ask_price_2: float = 0.0
    ask_price_3: float = 0.0
    ask_price_4: float = 0.0
    ask_price_5: float = 0.0
    bid_volume_1: float = 0.0
    bid_volume_2: float = 0.0
    bid_volume_3: float = 0.0
    bid_volume_4: float = 0.0
    bid_volume_5: float = 0.0
    ask_volume_1: float = 0.0
    ask_volume_2: float = 0.0
    ask_volume_3: float = 0.0
    ask_volume_4: float = 0.0
    ask_volume_5: float = 0.0
    localtime: AwareDatetime | None = None
    vt_symbol: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))


class OrderData(Base, frozen=True, kw_only=True):
    """An order and its latest state."""

    symbol: str
    exchange: Exchange
    orderid: str
    type: OrderType = OrderType.LIMIT
    direction: Direction
    offset: Offset = Offset.NONE
    price: float = 0.0
    volume: float = 0.0
    traded: float = 0.0
    status: Status = Status.SUBMITTING
    datetime: AwareDatetime | None = None
    reference: str = ""
    reason: str = ""
    """Why the engine rejected or cancelled the order (empty otherwise)."""
    client_order_id: str = ""
    """The client's idempotency id from the OrderRequest (empty if none was given)."""
    vt_symbol: str = ""
    vt_orderid: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))
        force_setattr(self, "vt_orderid", f"{self.gateway_name}.{self.orderid}")

    def is_active(self) -> bool:
        """True while the order can still trade or be cancelled."""
        return self.status.is_active


class TradeData(Base, frozen=True, kw_only=True):
    """A fill of (part of) an order."""

    symbol: str
    exchange: Exchange
    orderid: str
    tradeid: str
    direction: Direction
    offset: Offset = Offset.NONE
    price: float = 0.0
    volume: float = 0.0
    datetime: AwareDatetime | None = None
    vt_symbol: str = ""
    vt_orderid: str = ""
    vt_tradeid: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))
        force_setattr(self, "vt_orderid", f"{self.gateway_name}.{self.orderid}")
        force_setattr(self, "vt_tradeid", f"{self.gateway_name}.{self.tradeid}")


class PositionData(Base, frozen=True, kw_only=True):
    """A position in one contract and direction."""

    symbol: str
    exchange: Exchange
    direction: Direction
    volume: float = 0.0
    frozen: float = 0.0
    price: float = 0.0
    pnl: float = 0.0
    yd_volume: float = 0.0
    vt_symbol: str = ""
    vt_positionid: str = ""

    def __post_init__(self) -> None:
        vt_symbol = vt_symbol_of(self.symbol, self.exchange)
        force_setattr(self, "vt_symbol", vt_symbol)
        force_setattr(
            self, "vt_positionid", f"{self.gateway_name}.{vt_symbol}.{self.direction.value}"
        )


class AccountData(Base, frozen=True, kw_only=True):
    """Account balance; ``available`` is ``balance - frozen``."""

    accountid: str
    balance: float = 0.0
    frozen: float = 0.0
    available: float = 0.0
    vt_accountid: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "available", self.balance - self.frozen)
        force_setattr(self, "vt_accountid", f"{self.gateway_name}.{self.accountid}")


class ContractData(Base, frozen=True, kw_only=True):
    """A tradable contract and the rules an order for it must follow."""

    symbol: str
    exchange: Exchange
    name: str
    product: Product
    size: float
    pricetick: float
    min_volume: float = 1.0
    max_volume: float | None = None
    limit_up: float | None = None
    limit_down: float | None = None
    stop_supported: bool = False
    net_position: bool = False
    history_data: bool = False
    option_strike: float | None = None
    option_underlying: str | None = None
    option_type: OptionType | None = None
    option_listed: AwareDatetime | None = None
    option_expiry: AwareDatetime | None = None
    option_portfolio: str | None = None
    option_index: str | None = None
    vt_symbol: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))


class QuoteData(Base, frozen=True, kw_only=True):
    """A two-sided quote (market making) and its latest state."""

    symbol: str
    exchange: Exchange
    quoteid: str
    bid_price: float = 0.0
    bid_volume: float = 0.0
    ask_price: float = 0.0
    ask_volume: float = 0.0
    bid_offset: Offset = Offset.NONE
    ask_offset: Offset = Offset.NONE
    status: Status = Status.SUBMITTING
    datetime: AwareDatetime | None = None
    reference: str = ""
    vt_symbol: str = ""
    vt_quoteid: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))
        force_setattr(self, "vt_quoteid", f"{self.gateway_name}.{self.quoteid}")


class BarData(Base, frozen=True, kw_only=True):
    """A candlestick of one interval; ``datetime`` is when the bar opens."""

    symbol: str
    exchange: Exchange
    datetime: AwareDatetime
    interval: Interval | None = None
    volume: float = 0.0
    turnover: float = 0.0
    open_interest: float = 0.0
    open_price: float = 0.0
    high_price: float = 0.0
    low_price: float = 0.0
    close_price: float = 0.0
    vt_symbol: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "vt_symbol", vt_symbol_of(self.symbol, self.exchange))


class LogData(Base, frozen=True, kw_only=True):
    """A log line from the engine."""

    msg: str
    level: int = 20
    time: AwareDatetime | None = None
