"""Codec and object model: derived ids, strict JSON, typed decode naming the field."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from schemas import (
    AccountData,
    BadRequestError,
    Direction,
    Exchange,
    OrderData,
    OrderRequest,
    PositionData,
    TickData,
    TradeData,
)
from schemas.codec import convert, decode, encode, join_array
from schemas.objects import split_vt_symbol


def test_derived_ids_are_real_fields() -> None:
    order = OrderData(
        gateway_name="SIM",
        symbol="BRK.B",
        exchange=Exchange.SMART,
        orderid="7",
        direction=Direction.LONG,
    )
    assert order.vt_symbol == "BRK.B.SMART"
    assert order.vt_orderid == "SIM.7"
    wire = decode(encode(order), OrderData)
    assert wire == order
    trade = TradeData(
        gateway_name="SIM",
        symbol="rb2601",
        exchange=Exchange.SHFE,
        orderid="7",
        tradeid="3",
        direction=Direction.SHORT,
    )
    assert (trade.vt_orderid, trade.vt_tradeid) == ("SIM.7", "SIM.3")
    pos = PositionData(
        gateway_name="SIM", symbol="rb2601", exchange=Exchange.SHFE, direction=Direction.LONG
    )
    assert pos.vt_positionid == "SIM.rb2601.SHFE.LONG"


def test_ids_cannot_be_forged_on_the_wire() -> None:
    raw = (
        b'{"gateway_name":"SIM","symbol":"a","exchange":"SSE","orderid":"1",'
        b'"direction":"LONG","vt_orderid":"EVIL.9"}'
    )
    assert decode(raw, OrderData).vt_orderid == "SIM.1"


def test_account_available_is_derived() -> None:
    acc = AccountData(gateway_name="SIM", accountid="A", balance=100.0, frozen=30.0, available=1.0)
    assert acc.available == 70.0
    assert acc.vt_accountid == "SIM.A"


def test_non_finite_floats_encode_as_null() -> None:
    tick = TickData(
        symbol="x",
        exchange=Exchange.SSE,
        datetime=datetime.now(UTC),
        last_price=math.nan,
        bid_price_1=math.inf,
    )
    body = encode(tick)
    assert b"NaN" not in body
    assert b"Infinity" not in body
    assert b'"last_price":null' in body


def test_datetimes_carry_an_offset_and_naive_is_refused() -> None:
    tick = TickData(symbol="x", exchange=Exchange.SSE, datetime=datetime(2026, 1, 2, tzinfo=UTC))
    assert b'"datetime":"2026-01-02T00:00:00Z"' in encode(tick)
    with pytest.raises(BadRequestError) as err:
        decode(b'{"symbol":"x","exchange":"SSE","datetime":"2026-01-02T00:00:00"}', TickData)
    assert err.value.field == "datetime"


def test_order_request_accepts_vnpy_chinese_body() -> None:
    body = (
        '{"symbol":"rb2601","exchange":"SHFE","direction":"多","type":"限价",'
        '"volume":1,"price":3500,"offset":"开","reference":"web"}'
    )
    req = decode(body.encode(), OrderRequest)
    assert (req.direction.name, req.type.name, req.offset.name) == ("LONG", "LIMIT", "OPEN")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            b'{"symbol":"a","exchange":"NOPE","direction":"LONG","type":"LIMIT","volume":1}',
            "exchange",
        ),
        (
            b'{"symbol":"a","exchange":"SSE","direction":"UP","type":"LIMIT","volume":1}',
            "direction",
        ),
        (
            b'{"symbol":"a","exchange":"SSE","direction":"LONG","type":"LIMIT","volume":"x"}',
            "volume",
        ),
        (b'{"symbol":"a","exchange":"SSE","direction":"LONG","type":"LIMIT"}', "volume"),
    ],
)
def test_decode_errors_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(BadRequestError) as err:
        decode(body, OrderRequest)
    assert err.value.field == field
    assert err.value.code == 400


def test_garbage_is_a_bad_request_without_field() -> None:
    with pytest.raises(BadRequestError) as err:
        decode(b"\xff\x00not json", OrderRequest)
    assert err.value.field is None


def test_convert_coerces_form_strings() -> None:
    req = convert(
        {
            "symbol": "a",
            "exchange": "SSE",
            "direction": "多",
            "type": "限价",
            "volume": "100",
            "price": "10.5",
        },
        OrderRequest,
    )
    assert (req.volume, req.price) == (100.0, 10.5)


def test_join_array_passes_encoded_items_through() -> None:
    assert join_array([b'{"a":1}', b"2"]) == b'[{"a":1},2]'
    assert join_array([]) == b"[]"


@pytest.mark.parametrize(
    ("vt", "sym", "ex"),
    [("rb2601.SHFE", "rb2601", Exchange.SHFE), ("BRK.B.SMART", "BRK.B", Exchange.SMART)],
)
def test_split_vt_symbol_uses_last_dot(vt: str, sym: str, ex: Exchange) -> None:
    assert split_vt_symbol(vt) == (sym, ex)


@pytest.mark.parametrize("vt", ["nodot", ".SHFE", "x.NOPE"])
def test_split_vt_symbol_refuses_malformed(vt: str) -> None:
    with pytest.raises(ValueError, match=r"vt_symbol|NOPE"):
        split_vt_symbol(vt)
