"""VeighNa's objects <-> wire Structs, with the real ``vnpy`` package's classes and enums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import Enum

import pytest
from vnpy.trader import constant as vc
from vnpy.trader import object as vo

from engine_bridge.vnpy import convert
from schemas import enums
from schemas.codec import decode, encode
from schemas.objects import ContractData, OrderData, TickData
from schemas.requests import OrderRequest

CST = timezone(timedelta(hours=8))
PAIRS: list[tuple[type[Enum], type[Enum]]] = [
    (vc.Direction, enums.Direction),
    (vc.Offset, enums.Offset),
    (vc.Status, enums.Status),
    (vc.Product, enums.Product),
    (vc.OrderType, enums.OrderType),
    (vc.OptionType, enums.OptionType),
    (vc.Exchange, enums.Exchange),
    (vc.Interval, enums.Interval),
]


@pytest.mark.parametrize(("vnpy_enum", "wire_enum"), PAIRS, ids=lambda e: e.__name__)
def test_every_vnpy_enum_member_has_a_wire_member_of_its_name(
    vnpy_enum: type[Enum], wire_enum: type[Enum]
) -> None:
    assert set(vnpy_enum.__members__) == set(wire_enum.__members__)
    for member in vnpy_enum:
        assert convert.member(wire_enum, member).name == member.name
        # VeighNa's own (translated) value is accepted on the wire, too
        if isinstance(member.value, str) and member.value:
            assert wire_enum(member.value).name == member.name


def test_order_crosses_by_member_name_and_gets_an_offset() -> None:
    order = vo.OrderData(
        gateway_name="CTP",
        symbol="rb2601",
        exchange=vc.Exchange.SHFE,
        orderid="1_2_3",
        type=vc.OrderType.FAK,
        direction=vc.Direction.SHORT,
        offset=vc.Offset.CLOSETODAY,
        price=3500,
        volume=2,
        traded=1,
        status=vc.Status.PARTTRADED,
        datetime=datetime(2025, 1, 2, 9, 30, tzinfo=CST),
        reference="s1",
    )
    wire = convert.order(order)
    assert (wire.type, wire.direction, wire.offset, wire.status) == (
        enums.OrderType.FAK,
        enums.Direction.SHORT,
        enums.Offset.CLOSETODAY,
        enums.Status.PARTTRADED,
    )
    assert (wire.vt_orderid, wire.vt_symbol) == (order.vt_orderid, order.vt_symbol)
    assert decode(encode(wire), OrderData) == wire  # survives the wire, offset included


def test_order_without_direction_is_net() -> None:
    order = vo.OrderData(gateway_name="G", symbol="x", exchange=vc.Exchange.SSE, orderid="1")
    assert convert.order(order).direction is enums.Direction.NET


def test_naive_datetimes_are_read_as_local_time() -> None:
    log = vo.LogData(gateway_name="G", msg="hello")
    assert log.time.tzinfo is None
    wire = convert.log(log)
    assert wire.time is not None
    assert wire.time.utcoffset() is not None
    assert wire.time.astimezone(UTC).replace(tzinfo=None) == log.time.astimezone(UTC).replace(
        tzinfo=None
    )


def test_tick_keeps_its_book_and_limits() -> None:
    tick = vo.TickData(
        gateway_name="G",
        symbol="BRK.B",
        exchange=vc.Exchange.SMART,
        datetime=datetime(2025, 1, 2, tzinfo=UTC),
        last_price=480.5,
        bid_price_1=480.4,
        ask_price_5=481,
        ask_volume_5=7,
        limit_up=500,
    )
    wire = convert.tick(tick)
    assert (wire.vt_symbol, wire.last_price, wire.bid_price_1, wire.ask_volume_5) == (
        "BRK.B.SMART",
        480.5,
        480.4,
        7,
    )
    assert decode(encode(wire), TickData) == wire


def test_eurex_keeps_vnpy_s_value_for_vnpy_and_its_name_on_the_wire() -> None:
    contract = vo.ContractData(
        gateway_name="IB",
        symbol="FGBL",
        exchange=vc.Exchange.EUREX,
        name="Bund",
        product=vc.Product.FUTURES,
        size=1000,
        pricetick=0.01,
        option_type=vc.OptionType.CALL,
        option_expiry=datetime(2026, 3, 1, tzinfo=UTC),
    )
    wire = convert.contract(contract)
    assert contract.vt_symbol == "FGBL.EUX"
    assert wire.vt_symbol == "FGBL.EUREX"
    assert convert.vnpy_vt_symbol("FGBL", enums.Exchange.EUREX) == contract.vt_symbol
    assert (wire.limit_up, wire.option_type) == (None, enums.OptionType.CALL)
    assert decode(encode(wire), ContractData) == wire


def test_order_request_reaches_vnpy_with_vnpy_members() -> None:
    req = OrderRequest(
        symbol="600036",
        exchange=enums.Exchange.SSE,
        direction=enums.Direction("多"),
        type=enums.OrderType.LIMIT,
        volume=100,
        price=40.01,
        offset=enums.Offset.OPEN,
        reference="r",
        client_order_id="c1",
    )
    vnpy_req = convert.order_request(req)
    assert (vnpy_req.direction, vnpy_req.type, vnpy_req.offset, vnpy_req.exchange) == (
        vc.Direction.LONG,
        vc.OrderType.LIMIT,
        vc.Offset.OPEN,
        vc.Exchange.SSE,
    )
    assert (vnpy_req.volume, vnpy_req.price, vnpy_req.reference) == (100, 40.01, "r")
