"""Property tests: hostile payloads on every request subject of a real bridge.

Arbitrary bytes, arbitrary JSON (huge numbers, ``NaN``/``Infinity`` literals, deep nesting,
wrong types, unknown enum values, very long strings, lone surrogates) and valid requests
with one field replaced, dropped or added are sent to ``wt.{e}.req.{op}`` for every
:class:`~schemas.subjects.Op` over a real NATS connection.  Every request must be answered
(no timeout) with either the op's documented reply type or a documented error — the
``Nats-Service-Error-Code``/``Nats-Service-Error`` headers with a 4xx code and an
``ErrorBody`` — never a 500, and the bridge process must still be alive and serving.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NatsClient

from schemas.codec import decode
from schemas.errors import ERROR_CODE_HEADER, ERROR_HEADER, ErrorBody
from schemas.messages import EngineInfo, GatewayInfo
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)
from schemas.subjects import Op, request_subject
from tests.support.processes import Bridge, NatsServer

REPLY_TIMEOUT = 10.0
"""Seconds a request may wait for its answer: far above any answer, below "never"."""
ERROR_CODES = {"400", "404", "409", "422"}
"""What bad input may be answered with (500 would be a bridge bug, 503 only while stopping)."""


class Subscribed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``subscribe`` reply."""

    vt_symbol: str


REPLY_TYPES: dict[Op, Any] = {  # and TEMPLATES: a valid body of each op
    Op.INFO: EngineInfo,
    Op.CONTRACTS: list[ContractData],
    Op.TICKS: list[TickData],
    Op.ACCOUNTS: list[AccountData],
    Op.POSITIONS: list[PositionData],
    Op.ORDERS: list[OrderData],
    Op.TRADES: list[TradeData],
    Op.ORDER: OrderData,
    Op.SUBSCRIBE: Subscribed,
    Op.SUBMIT: OrderData,
    Op.CANCEL: OrderData,
    Op.CANCEL_ALL: list[OrderData],
    Op.GATEWAYS: list[GatewayInfo],
    Op.CONNECT: GatewayInfo,
    Op.BARS: list[BarData],
}
QUERY = {"vt_symbol": "rb2601.SHFE", "active": True, "limit": 10}
TEMPLATES: dict[Op, dict[str, Any]] = {
    Op.INFO: {},
    Op.CONTRACTS: QUERY,
    Op.TICKS: QUERY,
    Op.ACCOUNTS: QUERY,
    Op.POSITIONS: QUERY,
    Op.ORDERS: QUERY,
    Op.TRADES: QUERY,
    Op.ORDER: {"vt_orderid": "SIM.1"},
    Op.SUBSCRIBE: {"symbol": "rb2601", "exchange": "SHFE"},
    Op.SUBMIT: {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": 3255,  # limit_down: rests
        "offset": "OPEN",
        "reference": "fuzz",
        "client_order_id": "",
    },
    Op.CANCEL: {"vt_orderid": "SIM.1"},
    Op.CANCEL_ALL: {"vt_symbol": "rb2601.SHFE"},
    Op.GATEWAYS: {},
    Op.CONNECT: {"gateway_name": "SIM", "setting": {}},
    Op.BARS: {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "start": "2026-01-01T00:00:00Z",
        "interval": "MINUTE",
    },
}

HOSTILE_STRINGS = [
    "",
    " ",
    "*",
    ">",
    "wt.>",
    "..",
    "%2E%2E",
    "SIM.*",
    "rb2601.SHFE.>",
    "\x00",
    "a\nb",
    "\ud800",  # a lone surrogate: not encodable as UTF-8, sent as a JSON escape
    "LONG ",
    "long",
    "多",
    "UP",
    "NOWHERE",
    "ICEBERG",
    "x" * 70_000,
    "多" * 5_000,
]
HUGE_NUMBERS = [10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324]
FIELDS = sorted({name for template in TEMPLATES.values() for name in template} | {"x", ""})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),  # NaN, Infinity: not JSON at all
    st.text(max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), children, max_size=4
        ),
    ),
    max_leaves=12,
)
DEEP = [
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"[" * 3_000_000,
]


def to_json(value: Any) -> bytes:
    """``value`` as JSON text, ``NaN``/``Infinity`` literals included."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> bytes:
    """A valid request with one field replaced by any JSON value, dropped, or added."""
    body = dict(template)
    field = draw(st.sampled_from(sorted(template) or FIELDS))
    action = draw(st.sampled_from(["replace", "drop", "add"]))
    if action == "drop":
        body.pop(field, None)
    elif action == "add":
        body[draw(st.sampled_from(FIELDS))] = draw(json_values)
    else:
        body[field] = draw(json_values)
    return to_json(body)


def payloads(op: Op) -> st.SearchStrategy[bytes]:
    """Every kind of hostile payload for ``op``."""
    return st.one_of(
        st.binary(max_size=512),
        st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        json_values.map(to_json),
        mutated(TEMPLATES.get(op, {})),
        st.sampled_from(DEEP),
    )


@pytest.fixture(scope="module")
def target(nats_server: NatsServer) -> Iterator[Bridge]:
    """A clean bridge of this module's own (its engine only takes fuzz)."""
    bridge = Bridge(nats_server.url, "fz" + uuid.uuid4().hex[:10], tick_rate=2)
    try:
        bridge.start_bridge()
        yield bridge
    finally:
        bridge.stop()


async def answer(nc: NatsClient, engine_id: str, op: Op, payload: bytes) -> str | None:
    """Send ``payload`` to ``op``; check the answer is documented; its error code or None."""
    msg = await nc.request(request_subject(engine_id, op), payload, timeout=REPLY_TIMEOUT)
    headers = msg.headers or {}
    code = headers.get(ERROR_CODE_HEADER)
    if code is None:
        # the op's reply type (an op this table does not know yet: any JSON)
        decode(msg.data, REPLY_TYPES.get(op, Any))
        return None
    assert code in ERROR_CODES, (op, code, payload[:200], msg.data[:500])
    assert headers.get(ERROR_HEADER), (op, payload[:200])
    assert decode(msg.data, ErrorBody).detail
    return code


@pytest.mark.parametrize("op", list(Op), ids=[op.value for op in Op])
@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the NATS client is reused, as intended
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
async def test_any_payload_on_any_op_gets_a_documented_answer(
    target: Bridge, nc: NatsClient, op: Op, data: st.DataObject
) -> None:
    payload = data.draw(payloads(op), label="payload")
    await answer(nc, target.engine_id, op, payload)
    assert target.alive()


@pytest.mark.parametrize(
    "payload",
    [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"\xff\xfe", b"\x00" * 64, *DEEP],
    ids=["nan", "inf", "-inf", "1e400", "bad-utf8", "nuls", "deep-list", "deep-object", "open"],
)
async def test_literal_hostile_payloads_are_400_on_every_op(
    target: Bridge, nc: NatsClient, payload: bytes
) -> None:
    for op in Op:
        assert await answer(nc, target.engine_id, op, payload) == "400", op


async def test_after_the_fuzzing_the_bridge_is_alive_serving_and_logged_no_traceback(
    target: Bridge, nc: NatsClient
) -> None:
    assert await answer(nc, target.engine_id, Op.INFO, b"") is None
    assert await answer(nc, target.engine_id, Op.ORDERS, b"") is None
    assert target.alive()
    assert "Traceback" not in target.output
