"""VeighNa's objects <-> the wire Structs of :mod:`schemas`, enums by member name.

VeighNa's enum *values* are translated text (``Direction.LONG.value`` is ``"多"``, or
``"Long"`` under an English locale), so nothing here reads a value: every enum crosses by
member name, which both sides share (``Direction.LONG`` <-> ``"LONG"``).  The one place a
VeighNa value matters is its ``vt_symbol``, built from ``Exchange.value``: ``EUREX`` is
``"EUX"`` and ``CBOT`` is ``"CBOT"`` there, so :func:`vnpy_vt_symbol` builds VeighNa's key
while the Structs build ours.

Datetimes: a naive VeighNa datetime (``LogData.time``, some gateways) is read as local
time, the convention of VeighNa's own database settings, and given its offset.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from vnpy.trader import constant as vc
from vnpy.trader import object as vo

from schemas import enums
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    QuoteData,
    TickData,
    TradeData,
)
from schemas.requests import OrderRequest

E = TypeVar("E", bound=Enum)

TICK_FIELDS = (
    "name",
    "volume",
    "turnover",
    "open_interest",
    "last_price",
    "last_volume",
    "limit_up",
    "limit_down",
    "open_price",
    "high_price",
    "low_price",
    "pre_close",
    *(
        f"{side}_{what}_{i}"
        for side in ("bid", "ask")
        for what in ("price", "volume")
        for i in range(1, 6)
    ),
)
"""TickData fields copied as they are (everything but ids, enums and datetimes)."""


class ConversionError(ValueError):
    """A VeighNa object the wire cannot carry (an enum member it does not know)."""


def member(target: type[E], value: Enum) -> E:
    """The member of ``target`` with ``value``'s name.

    Raises:
        ConversionError: ``target`` has no such member (a newer VeighNa).
    """
    try:
        return target[value.name]
    except KeyError:
        raise ConversionError(f"{target.__name__} has no member {value.name!r}") from None


def aware(when: datetime | None) -> datetime | None:
    """``when`` with a UTC offset (a naive datetime is taken as local time)."""
    if when is None or when.tzinfo is not None:
        return when
    return when.astimezone()


def _direction(value: vc.Direction | None) -> enums.Direction:
    # VeighNa allows an order or trade without a direction; the wire needs one.
    return enums.Direction.NET if value is None else member(enums.Direction, value)


# ------------------------------------------------------------------ VeighNa -> wire


def tick(t: vo.TickData) -> TickData:
    """A VeighNa tick as the wire's."""
    fields: dict[str, Any] = {name: getattr(t, name) for name in TICK_FIELDS}
    return TickData(
        gateway_name=t.gateway_name,
        symbol=t.symbol,
        exchange=member(enums.Exchange, t.exchange),
        datetime=aware(t.datetime) or t.datetime,
        localtime=aware(t.localtime),
        **fields,
    )


def order(o: vo.OrderData) -> OrderData:
    """A VeighNa order as the wire's (no ``client_order_id``: VeighNa has none)."""
    return OrderData(
        gateway_name=o.gateway_name,
        symbol=o.symbol,
        exchange=member(enums.Exchange, o.exchange),
        orderid=o.orderid,
        type=member(enums.OrderType, o.type),
        direction=_direction(o.direction),
        offset=member(enums.Offset, o.offset),
        price=o.price,
        volume=o.volume,
        traded=o.traded,
        status=member(enums.Status, o.status),
        datetime=aware(o.datetime),
        reference=o.reference,
    )


def trade(t: vo.TradeData) -> TradeData:
    """A VeighNa trade as the wire's."""
    return TradeData(
        gateway_name=t.gateway_name,
        symbol=t.symbol,
        exchange=member(enums.Exchange, t.exchange),
        orderid=t.orderid,
        tradeid=t.tradeid,
        direction=_direction(t.direction),
        offset=member(enums.Offset, t.offset),
        price=t.price,
        volume=t.volume,
        datetime=aware(t.datetime),
    )


def position(p: vo.PositionData) -> PositionData:
    """A VeighNa position as the wire's."""
    return PositionData(
        gateway_name=p.gateway_name,
        symbol=p.symbol,
        exchange=member(enums.Exchange, p.exchange),
        direction=member(enums.Direction, p.direction),
        volume=p.volume,
        frozen=p.frozen,
        price=p.price,
        pnl=p.pnl,
        yd_volume=p.yd_volume,
    )


def account(a: vo.AccountData) -> AccountData:
    """A VeighNa account as the wire's (``available`` is recomputed the same way)."""
    return AccountData(
        gateway_name=a.gateway_name, accountid=a.accountid, balance=a.balance, frozen=a.frozen
    )


def contract(c: vo.ContractData) -> ContractData:
    """A VeighNa contract as the wire's (VeighNa has no price limits on contracts)."""
    return ContractData(
        gateway_name=c.gateway_name,
        symbol=c.symbol,
        exchange=member(enums.Exchange, c.exchange),
        name=c.name,
        product=member(enums.Product, c.product),
        size=c.size,
        pricetick=c.pricetick,
        min_volume=c.min_volume,
        max_volume=c.max_volume,
        stop_supported=c.stop_supported,
        net_position=c.net_position,
        history_data=c.history_data,
        option_strike=c.option_strike,
        option_underlying=c.option_underlying,
        option_type=None if c.option_type is None else member(enums.OptionType, c.option_type),
        option_listed=aware(c.option_listed),
        option_expiry=aware(c.option_expiry),
        option_portfolio=c.option_portfolio,
        option_index=c.option_index,
    )


def quote(q: vo.QuoteData) -> QuoteData:
    """A VeighNa quote as the wire's."""
    return QuoteData(
        gateway_name=q.gateway_name,
        symbol=q.symbol,
        exchange=member(enums.Exchange, q.exchange),
        quoteid=q.quoteid,
        bid_price=q.bid_price,
        bid_volume=q.bid_volume,
        ask_price=q.ask_price,
        ask_volume=q.ask_volume,
        bid_offset=member(enums.Offset, q.bid_offset),
        ask_offset=member(enums.Offset, q.ask_offset),
        status=member(enums.Status, q.status),
        datetime=aware(q.datetime),
        reference=q.reference,
    )


def log(entry: vo.LogData) -> LogData:
    """A VeighNa log line as the wire's."""
    return LogData(
        gateway_name=entry.gateway_name,
        msg=entry.msg,
        level=entry.level,
        time=aware(getattr(entry, "time", None)),
    )


def bar(b: vo.BarData) -> BarData:
    """A VeighNa bar as the wire's."""
    return BarData(
        gateway_name=b.gateway_name,
        symbol=b.symbol,
        exchange=member(enums.Exchange, b.exchange),
        datetime=aware(b.datetime) or b.datetime,
        interval=None if b.interval is None else member(enums.Interval, b.interval),
        volume=b.volume,
        turnover=b.turnover,
        open_interest=b.open_interest,
        open_price=b.open_price,
        high_price=b.high_price,
        low_price=b.low_price,
        close_price=b.close_price,
    )


# ------------------------------------------------------------------ wire -> VeighNa


def vnpy_exchange(exchange: enums.Exchange) -> vc.Exchange:
    """VeighNa's member of ``exchange``."""
    return member(vc.Exchange, exchange)


def vnpy_vt_symbol(symbol: str, exchange: enums.Exchange) -> str:
    """VeighNa's ``vt_symbol`` (its exchange *value*: ``EUX`` for ``EUREX``)."""
    return f"{symbol}.{vnpy_exchange(exchange).value}"


def subscribe_request(c: ContractData) -> vo.SubscribeRequest:
    """VeighNa's request for ticks of ``c``."""
    return vo.SubscribeRequest(symbol=c.symbol, exchange=vnpy_exchange(c.exchange))


def order_request(req: OrderRequest) -> vo.OrderRequest:
    """VeighNa's order request (``client_order_id`` stays with the bridge)."""
    return vo.OrderRequest(
        symbol=req.symbol,
        exchange=vnpy_exchange(req.exchange),
        direction=member(vc.Direction, req.direction),
        type=member(vc.OrderType, req.type),
        volume=req.volume,
        price=req.price,
        offset=member(vc.Offset, req.offset),
        reference=req.reference,
    )


def cancel_request(o: OrderData) -> vo.CancelRequest:
    """VeighNa's request to cancel ``o``."""
    return vo.CancelRequest(orderid=o.orderid, symbol=o.symbol, exchange=vnpy_exchange(o.exchange))


def history_request(
    c: ContractData, start: datetime, end: datetime, interval: enums.Interval
) -> vo.HistoryRequest:
    """VeighNa's request for bars of ``c`` in ``[start, end)``."""
    return vo.HistoryRequest(
        symbol=c.symbol,
        exchange=vnpy_exchange(c.exchange),
        start=start,
        end=end,
        interval=member(vc.Interval, interval),
    )
