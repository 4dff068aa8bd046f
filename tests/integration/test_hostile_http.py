"""Hostile HTTP input: oversized bodies, absurd numbers, and path values aimed at subjects.

* a body above the gateway's limit (64 KiB) is a 413 ``ErrorBody`` — by ``Content-Length``
  or streamed without one — on order submits and on ``POST /token`` (form, multipart, JSON);
* numbers and enums that ``test_bad_input`` does not try are refused naming the field, on
  both order routes;
* path and query values made of subject syntax (``..``, ``*``, ``>``, ``%2e``, spaces,
  ``%00``, ``%0a``) never reach a subject: a raw NATS subscriber on ``wt.>`` sees only the
  subjects ``schemas.subjects`` builds, with the hostile value inside the request's body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from gateway.errors import MAX_BODY_SIZE
from schemas.subjects import (
    ENGINE_ID_RE,
    REQ,
    ROOT,
    Op,
    parse_event_subject,
    request_subject,
)
from tests.support.processes import Bridge, Gateway

ORDER: dict[str, Any] = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "volume": 1,
    "price": 3255,
}
ORDER_ROUTES = ["/order", "/engines/sim/order"]
LOGIN = {"username": "vnpy", "password": "vnpy"}


def raw_order(**raw: str) -> bytes:
    """An order body with some values spliced in as raw JSON text (``NaN`` and the like)."""
    fields = {k: json.dumps(v) for k, v in ORDER.items()} | raw
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


def padded_order(size: int) -> bytes:
    """An order body of exactly ``size`` bytes (a long unknown field), volume 0 (a 422)."""
    head = raw_order(volume="0", padding='""')[:-2]  # ends in "padding":"
    return head + b"x" * (size - len(head) - 2) + b'"}'


def encode_all(value: str) -> str:
    """Every byte percent-encoded: the server decodes it; no client resolves ``..`` in it."""
    return "".join(f"%{byte:02X}" for byte in value.encode())


def assert_error(r: httpx.Response, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["detail"], body
    if field is not None:
        assert body.get("field") == field, body


# ------------------------------------------------------------------------ oversized bodies


@pytest.mark.parametrize("route", ORDER_ROUTES)
async def test_an_order_body_above_the_limit_is_413(client: httpx.AsyncClient, route: str) -> None:
    r = await client.post(
        route,
        content=padded_order(MAX_BODY_SIZE + 1),
        headers={"content-type": "application/json"},
    )
    assert_error(r, 413)


@pytest.mark.parametrize("route", ORDER_ROUTES)
async def test_an_order_body_at_the_limit_is_read_and_judged(
    client: httpx.AsyncClient, route: str
) -> None:
    r = await client.post(
        route, content=padded_order(MAX_BODY_SIZE), headers={"content-type": "application/json"}
    )
    assert_error(r, 422, "volume")  # read in full: the engine saw volume 0


async def test_a_streamed_body_without_length_above_the_limit_is_413(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 8192  # JSON whitespace: 160 KiB of it

    r = await client.post("/order", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413)


async def test_a_login_body_above_the_limit_is_413_form_multipart_or_json(
    anon_client: httpx.AsyncClient,
) -> None:
    big = "x" * (MAX_BODY_SIZE + 1)
    form = await anon_client.post("/token", data={**LOGIN, "password": big})
    assert_error(form, 413)
    multipart = await anon_client.post("/token", data=LOGIN, files={"pad": ("pad", big.encode())})
    assert_error(multipart, 413)
    as_json = await anon_client.post("/token", json={**LOGIN, "password": big})
    assert_error(as_json, 413)
    assert (await anon_client.post("/token", data=LOGIN)).status_code == 200


# ------------------------------------------------------------- numbers, enums, nesting


@pytest.mark.parametrize("route", ORDER_ROUTES)
@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ({"price": "NaN"}, 400, None),  # not JSON
        ({"price": "Infinity"}, 400, None),
        ({"price": "-Infinity"}, 400, None),
        ({"price": "1e400"}, 400, "price"),  # no float64 holds it
        ({"volume": "true"}, 400, "volume"),
        ({"volume": "null"}, 400, "volume"),
        ({"volume": "-0.0"}, 422, "volume"),
        ({"volume": "1e-400"}, 422, "volume"),  # underflows to 0
        ({"volume": "1" + "0" * 30}, 422, "volume"),  # an integer far above max_volume
        ({"volume": "-1e308"}, 422, "volume"),
        ({"price": "1e308"}, 422, "price"),
        ({"exchange": "null"}, 400, "exchange"),
        ({"exchange": '"SH FE"'}, 400, "exchange"),
        ({"type": '""'}, 400, "type"),
        ({"offset": '"OPENX"'}, 400, "offset"),
        ({"direction": '["LONG"]'}, 400, "direction"),
        ({"client_order_id": '"has space"'}, 400, "client_order_id"),
        ({"client_order_id": '"' + "x" * 65 + '"'}, 400, "client_order_id"),
    ],
)
async def test_absurd_numbers_and_unknown_enums_are_refused_naming_the_field(
    client: httpx.AsyncClient, route: str, raw: dict[str, str], status: int, field: str | None
) -> None:
    r = await client.post(
        route, content=raw_order(**raw), headers={"content-type": "application/json"}
    )
    assert_error(r, status, field)


@pytest.mark.parametrize("route", ORDER_ROUTES)
async def test_an_order_reference_longer_than_256_is_400_naming_it(
    client: httpx.AsyncClient, route: str
) -> None:
    r = await client.post(route, json={**ORDER, "reference": "r" * 257})
    assert_error(r, 400, "reference")


@pytest.mark.parametrize(
    "body",
    [b'{"x":' * 5000 + b"1" + b"}" * 5000, b"[" * 20_000 + b"]" * 20_000],
    ids=["deep-object", "deep-array"],
)
@pytest.mark.parametrize("route", ORDER_ROUTES)
async def test_deeply_nested_bodies_are_400_not_500(
    client: httpx.AsyncClient, route: str, body: bytes
) -> None:
    r = await client.post(route, content=body, headers={"content-type": "application/json"})
    assert_error(r, 400)


# ------------------------------------------------------------- path values and subjects

HOSTILE = ["..", ".", "*", ">", "SIM.*", "a.>", "a b", "\t", "\x00", "\n", "%", "%2e%2e", "wt.x.>"]
"""Values as the gateway receives them (after percent-decoding)."""


class Wire:
    """Every message a raw NATS client sees on ``wt.>`` (requests and events)."""

    def __init__(self) -> None:
        self.msgs: list[Msg] = []

    async def put(self, msg: Msg) -> None:
        self.msgs.append(msg)

    def requests(self, engine_id: str) -> list[tuple[str, Any]]:
        """``(subject, JSON body)`` of each request sent to ``engine_id``'s ops."""
        prefix = f"{ROOT}.{engine_id}.{REQ}."
        return [
            (m.subject, json.loads(m.data) if m.data.strip() else None)
            for m in self.msgs
            if m.subject.startswith(prefix)
        ]


@pytest.fixture
async def wire(nc: NatsClient) -> AsyncIterator[Wire]:
    wire = Wire()
    sub = await nc.subscribe(f"{ROOT}.>", cb=wire.put)
    await nc.flush()
    yield wire
    await sub.unsubscribe()


def assert_grammar(subject: str) -> None:
    """``subject`` is one ``schemas.subjects`` builds: an event, or ``wt.{id}.req.{op}``."""
    tokens = subject.split(".")
    if len(tokens) > 2 and tokens[2] == REQ:
        assert len(tokens) == 4, subject
        engine_id, op = tokens[1], tokens[3]
        assert ENGINE_ID_RE.match(engine_id), subject
        assert subject == request_subject(engine_id, Op(op)), subject
    else:
        parse_event_subject(subject)  # raises on anything the grammar does not build
    assert all(tok and not any(c.isspace() or ord(c) < 0x20 for c in tok) for tok in tokens)
    assert not {"*", ">"} & set(subject), subject


async def raw_http(gateway: Gateway, token: str, method: str, path: str) -> int:
    """Send ``path`` byte for byte (httpx would resolve ``..``); the response status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


@pytest.fixture
def target(fresh_bridge: Bridge) -> str:
    """A clean engine's id: the only requests on its subjects are this test's."""
    return fresh_bridge.engine_id


async def settle(wire: Wire, nc: NatsClient) -> None:
    """Let the last requests' messages reach the subscriber (a round trip through NATS)."""
    await nc.flush()
    await asyncio.sleep(0.2)


async def test_hostile_path_values_reach_engines_only_inside_request_bodies(
    client: httpx.AsyncClient, nc: NatsClient, wire: Wire, target: str
) -> None:
    base = f"/engines/{target}"
    for value in HOSTILE:
        enc = encode_all(value)
        for method, path in (
            ("GET", f"{base}/order/{enc}"),
            ("DELETE", f"{base}/order/{enc}"),
            ("POST", f"{base}/tick/{enc}.SHFE"),
        ):
            r = await client.request(method, path)
            assert r.status_code in (400, 404), (method, path, r.text)
            assert r.json()["detail"]
        r = await client.get(f"{base}/order", params={"vt_symbol": value})
        assert (r.status_code, r.json()) == (200, []), (value, r.text)
    await settle(wire, nc)

    sent = wire.requests(target)
    for subject, _ in sent:
        assert_grammar(subject)
    by_op: dict[str, list[Any]] = {}
    for subject, body in sent:
        by_op.setdefault(subject, []).append(body)
    # every hostile value travelled as data, on the one subject of its op
    for value in HOSTILE:
        assert {"vt_orderid": value} in by_op[request_subject(target, Op.ORDER)], value
        assert {"vt_orderid": value} in by_op[request_subject(target, Op.CANCEL)], value
        assert {"symbol": value, "exchange": "SHFE"} in by_op[
            request_subject(target, Op.SUBSCRIBE)
        ], value
        assert {"vt_symbol": value} in by_op[request_subject(target, Op.ORDERS)], value


async def test_literal_dot_segments_reach_no_subject(
    gateway: Gateway, token: str, nc: NatsClient, wire: Wire, target: str
) -> None:
    for method, path in (
        ("GET", f"/engines/{target}/order/.."),
        ("DELETE", f"/engines/{target}/order/."),
        ("GET", f"/engines/{target}/../sim/order"),
        ("GET", "/engines/../order"),
        ("POST", f"/engines/{target}/tick/...SHFE"),
    ):
        assert await raw_http(gateway, token, method, path) in (400, 404), path
    await settle(wire, nc)
    for msg in wire.msgs:
        assert_grammar(msg.subject)
    orders = [b for s, b in wire.requests(target) if s == request_subject(target, Op.ORDER)]
    assert {"vt_orderid": ".."} in orders


@pytest.mark.parametrize(
    "engine_id",
    ["..", "*", ">", "a.b", "a b", "\x00", "\n", "a%2eb", "x" * 65, "é"],
)
async def test_hostile_engine_ids_are_404_and_send_nothing_to_nats(
    client: httpx.AsyncClient, nc: NatsClient, wire: Wire, engine_id: str
) -> None:
    enc = encode_all(engine_id)
    for method, path in (
        ("GET", f"/engines/{enc}"),
        ("GET", f"/engines/{enc}/contract"),
        ("POST", f"/engines/{enc}/order"),
        ("DELETE", f"/engines/{enc}/order"),
    ):
        r = await client.request(method, path, json=ORDER if method == "POST" else None)
        assert r.status_code == 404, (path, r.text)
    await settle(wire, nc)
    for msg in wire.msgs:
        assert_grammar(msg.subject)
        assert msg.subject.split(".")[1] != engine_id
