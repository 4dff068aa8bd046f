"""``/stream`` against the served gateway and real engine bridges."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from nats.aio.client import Client as NatsClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.auth import AUDIENCE, ISSUER
from schemas.subjects import EventKind, event_subject
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import (
    events_of,
    login,
    open_ws,
    recv_json,
    recv_until,
    reply_to,
    send_op,
    subscribe,
    ws_url,
)

_CLAIMS = {
    "sub": "vnpy",
    "iss": ISSUER,
    "aud": AUDIENCE,
    "iat": 1_700_000_000,
    "exp": 4_102_444_800,
    "jti": "t1",
    "role": "admin",
    "engines": ["*"],
}
FORGED = jwt.encode(_CLAIMS, "not-the-gateway-key-" * 3, algorithm="HS256")
"""Well-formed, valid claims, signed with another key."""
UNSIGNED = jwt.encode(_CLAIMS, None, algorithm="none")
"""``alg: none``."""


@pytest.fixture(scope="module")
def fast_key() -> str:
    """The signing key of ``fast_gateway`` (random per run), so tests can mint tokens."""
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def fast_gateway(nats_server: NatsServer, sim_bridge: Bridge, fast_key: str) -> Iterator[Gateway]:
    """A second demo gateway (login vnpy/vnpy) with a known key, a 0.5 s heartbeat and a
    2 s idle timeout."""
    env = {"WEBTRADER_JWT_SECRET": fast_key}
    gw = Gateway(
        nats_server.url, "sim", "--demo", "--ws-heartbeat", "0.5", "--ws-idle-timeout", "2", env=env
    )
    gw.start_gateway()
    yield gw
    gw.stop()


def mint(key: str, expires_in: float) -> str:
    """A token signed with ``key`` that expires ``expires_in`` seconds from now."""
    now = int(time.time())
    claims = {**_CLAIMS, "iat": now - 60}
    return jwt.encode({**claims, "exp": int(now + expires_in)}, key, algorithm="HS256")


async def test_welcome_is_the_first_frame(gateway: Gateway, token: str) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        welcome = await recv_json(ws)
    assert welcome["type"] == "welcome"
    assert welcome["protocol"] == 1
    assert welcome["engine"] == "sim"
    assert welcome["user"] == "vnpy"
    assert welcome["heartbeat"] == 10.0
    assert welcome["idle_timeout"] == 30.0
    assert welcome["queue_limit"] == 10_000
    assert len(welcome["session"]) >= 8


async def test_bearer_header_is_accepted(gateway: Gateway, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with open_ws(ws_url(gateway, "/stream"), additional_headers=headers) as ws:
        assert (await recv_json(ws))["type"] == "welcome"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (None, None),
        ("not-a-jwt", None),
        (FORGED, None),
        (UNSIGNED, None),
        (None, {"Authorization": "Bearer not-a-jwt"}),
        (None, {"Authorization": "Basic dm5weTp2bnB5"}),
    ],
)
async def test_bad_token_is_refused_at_handshake(
    gateway: Gateway,
    client: httpx.AsyncClient,
    token: str,
    query: str | None,
    headers: dict[str, str] | None,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(ws_url(gateway, "/stream", query), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 401
    assert "detail" in json.loads(refused.value.response.body)
    # the gateway is fine afterwards
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        assert (await recv_json(ws))["type"] == "welcome"
    assert (await client.get("/engines")).status_code == 200


async def test_subscribe_acks_then_delivers_tick_events(
    gateway: Gateway, token: str, client: httpx.AsyncClient
) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        ack = await subscribe(ws, "1", engine="sim", topic="tick.SHFE.>")
        assert ack == {
            "type": "ack",
            "id": "1",
            "op": "subscribe",
            "sub": "s1",
            "subject": "wt.sim.evt.tick.SHFE.>",
            "engine": "sim",
        }
        assert (await client.post("/tick/rb2601.SHFE")).status_code == 200
        frame = await recv_until(ws, lambda f: f["type"] == "events")
        for event in events_of(frame):
            assert event["sub"] == "s1"
            assert event["subject"].startswith("wt.sim.evt.tick.SHFE.")
            assert event["data"]["exchange"] == "SHFE"
            assert event["subject"].endswith("." + event["data"]["symbol"])


async def test_overlapping_subscriptions_each_get_the_event_in_one_batch(
    gateway: Gateway, token: str, client: httpx.AsyncClient
) -> None:
    """Like NATS: once per matching subscription; both copies queue before the writer wakes."""
    assert (await client.post("/tick/au2606.SHFE")).status_code == 200
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await subscribe(ws, "a", topic="tick.SHFE.au2606")
        await subscribe(ws, "b", topic="tick.SHFE.au2606")
        frame = await recv_until(ws, lambda f: f["type"] == "events")
    events = events_of(frame)
    assert {e["sub"] for e in events} == {"s1", "s2"}
    by_sub = {e["sub"]: e for e in events}
    assert by_sub["s1"]["data"] == by_sub["s2"]["data"]
    assert by_sub["s1"]["subject"] == "wt.sim.evt.tick.SHFE.au2606"


async def test_sugar_subscribe_escapes_the_symbol_and_subscribes_the_engine(
    gateway: Gateway, token: str, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        ack = await subscribe(ws, "2", engine=engine, kind="tick", vt_symbol="BRK.B.SMART")
        assert ack["subject"] == f"wt.{engine}.evt.tick.SMART.BRK%2EB"
        # nobody else asked this fresh engine for BRK.B: ticks prove the sugar did
        frame = await recv_until(ws, lambda f: f["type"] == "events")
    event = events_of(frame)[0]
    assert event["subject"] == f"wt.{engine}.evt.tick.SMART.BRK%2EB"
    assert event["data"]["symbol"] == "BRK.B"
    assert event["data"]["vt_symbol"] == "BRK.B.SMART"


async def test_sugar_subscribe_reports_the_engines_refusal(gateway: Gateway, token: str) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await send_op(ws, op="subscribe", id="x", kind="tick", vt_symbol="nope.SHFE")
        error = await reply_to(ws, "x")
        assert error["type"] == "error"
        assert error["code"] == 404
        assert error["field"] == "vt_symbol"
        await send_op(ws, op="subscribe", id="y", engine="nobody", kind="tick", vt_symbol="a.SSE")
        error = await reply_to(ws, "y")
        assert (error["type"], error["code"], error["field"]) == ("error", 503, "engine")


async def test_unsubscribe_stops_delivery(
    gateway: Gateway, token: str, client: httpx.AsyncClient
) -> None:
    assert (await client.post("/tick/m2605.DCE")).status_code == 200
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await subscribe(ws, "1", topic="tick.DCE.m2605")
        await subscribe(ws, "2", topic="tick.DCE.>")
        await recv_until(ws, lambda f: any(e["sub"] == "s1" for e in events_of(f)))
        await send_op(ws, op="unsubscribe", id="3", sub="s1")
        ack = await reply_to(ws, "3")
        assert ack["type"] == "ack"
        assert (ack["op"], ack["sub"], ack["subject"]) == (
            "unsubscribe",
            "s1",
            "wt.sim.evt.tick.DCE.m2605",
        )
        seen: list[str] = []
        while seen.count("s2") < 5:  # s2 keeps flowing; s1 never again
            seen += [e["sub"] for e in events_of(await recv_json(ws))]
        assert "s1" not in seen
        await send_op(ws, op="unsubscribe", id="4", sub="s1")
        error = await reply_to(ws, "4")
        assert (error["type"], error["code"], error["field"]) == ("error", 404, "sub")


@pytest.mark.parametrize(
    ("frame", "field", "rid"),
    [
        ("{not json", None, None),
        ("[1, 2]", None, None),
        ('{"op": "dance", "id": "7"}', "op", "7"),
        ('{"id": "8"}', "op", "8"),
        ('{"op": "subscribe", "id": "9", "topic": "tick..SHFE"}', "topic", "9"),
        ('{"op": "subscribe", "id": "10", "topic": "price.>"}', "topic", "10"),
        ('{"op": "subscribe", "id": "11", "topic": "tick.>.x"}', "topic", "11"),
        ('{"op": "subscribe", "id": "12"}', "topic", "12"),
        ('{"op": "subscribe", "id": "13", "engine": "a.b", "topic": ">"}', "engine", "13"),
        (
            '{"op": "subscribe", "id": "14", "kind": "tick", "vt_symbol": "rb2601"}',
            "vt_symbol",
            "14",
        ),
        ('{"op": "subscribe", "id": "15", "kind": "candle"}', "kind", "15"),
        ('{"op": "subscribe", "id": "16", "topik": ">"}', "topik", "16"),
        (
            '{"op": "subscribe", "id": "17", "engine": "*", "kind": "tick", '
            '"vt_symbol": "rb2601.SHFE"}',
            "engine",
            "17",
        ),
        ('{"op": "unsubscribe", "id": "18"}', "sub", "18"),
        ('{"op": "ping", "id": ["no"]}', "id", None),
    ],
)
async def test_bad_frame_gets_an_error_naming_the_field_and_the_socket_stays_open(
    gateway: Gateway, token: str, frame: str, field: str | None, rid: str | None
) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await ws.send(frame)
        error = await recv_until(ws, lambda f: f["type"] == "error")
        assert error["field"] == field
        assert error["id"] == rid
        assert error["code"] == 400
        assert error["detail"]
        await send_op(ws, op="ping", id="after")
        assert (await reply_to(ws, "after"))["type"] == "pong"


async def test_ping_is_answered_with_pong(gateway: Gateway, token: str) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await send_op(ws, op="ping", id="4")
        pong = await reply_to(ws, "4")
        await send_op(ws, op="ping", id=5)
        assert (await reply_to(ws, 5))["type"] == "pong"  # type: ignore[arg-type]
    assert pong["type"] == "pong"
    assert pong["time"].endswith("Z") or "+" in pong["time"]


async def test_heartbeats_arrive_at_the_configured_interval(fast_gateway: Gateway) -> None:
    token = await login(fast_gateway)
    async with open_ws(ws_url(fast_gateway, "/stream", token)) as ws:
        welcome = await recv_json(ws)
        assert (welcome["heartbeat"], welcome["idle_timeout"]) == (0.5, 2.0)
        beats = [await recv_until(ws, lambda f: f["type"] == "heartbeat") for _ in range(2)]
    assert all("time" in b for b in beats)


async def test_silent_client_is_closed_as_idle_and_released(
    fast_gateway: Gateway, engine_id: str
) -> None:
    token = await login(fast_gateway)
    async with (
        httpx.AsyncClient(
            base_url=fast_gateway.url, headers={"Authorization": f"Bearer {token}"}
        ) as rest,
        open_ws(ws_url(fast_gateway, "/stream", token)) as ws,
    ):
        ack = await subscribe(ws, "1", engine=engine_id, topic="tick.>")  # a core-hub kind
        assert await refcount(rest, ack["subject"]) == 1
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(ws, lambda f: False)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4408
        assert "idle" in closed.value.rcvd.reason
        await until_refcount(rest, ack["subject"], 0)


async def test_client_that_pings_is_not_idle(fast_gateway: Gateway) -> None:
    """Eight heartbeats (4 s) outlive the 2 s idle timeout when every one is answered."""
    token = await login(fast_gateway)
    async with open_ws(ws_url(fast_gateway, "/stream", token)) as ws:
        for n in range(8):
            await recv_until(ws, lambda f: f["type"] == "heartbeat")
            await send_op(ws, op="ping", id=f"keepalive-{n}")
        await send_op(ws, op="ping", id="last")
        assert (await reply_to(ws, "last"))["type"] == "pong"


async def test_all_engines_subscription_sees_an_engine_started_later(
    gateway: Gateway, token: str, bridge_factory: Callable[..., Bridge], engine_id: str
) -> None:
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        ack = await subscribe(ws, "1", engine="*", kind="heartbeat")
        assert ack["subject"] == "wt.*.evt.heartbeat"
        await asyncio.to_thread(bridge_factory, engine_id)
        frame = await recv_until(
            ws,
            lambda f: any(e["subject"] == f"wt.{engine_id}.evt.heartbeat" for e in events_of(f)),
        )
    event = next(e for e in events_of(frame) if engine_id in e["subject"])
    assert event["data"]["engine_id"] == engine_id


async def refcount(rest: httpx.AsyncClient, pattern: str) -> int:
    """Client subscriptions the gateway's hub holds on ``pattern``."""
    r = await rest.get("/stream/stats", params={"pattern": pattern})
    assert r.status_code == 200, r.text
    return int(r.json()["refcount"])


async def until_refcount(rest: httpx.AsyncClient, pattern: str, expected: int) -> None:
    """Poll the stats until ``pattern`` has ``expected`` subscriptions (fails after 15 s)."""
    async with asyncio.timeout(15):
        while await refcount(rest, pattern) != expected:
            await asyncio.sleep(0.05)


async def test_clients_share_one_subscription_released_however_they_leave(
    gateway: Gateway, token: str, client: httpx.AsyncClient, engine_id: str
) -> None:
    pattern = f"wt.{engine_id}.evt.tick.>"  # ticks: a core-hub kind
    url = ws_url(gateway, "/stream", token)
    async with open_ws(url) as leaves, open_ws(url) as drops, open_ws(url) as stays:
        for ws in (leaves, drops, stays):
            assert (await subscribe(ws, "1", engine=engine_id, topic="tick.>"))[
                "subject"
            ] == pattern
        assert await refcount(client, pattern) == 3
        await send_op(stays, op="unsubscribe", id="2", sub="s1")
        assert (await reply_to(stays, "2"))["type"] == "ack"
        assert await refcount(client, pattern) == 2
        await leaves.close()
        await until_refcount(client, pattern, 1)
        drops.transport.abort()  # no close handshake: the TCP connection just ends
        await until_refcount(client, pattern, 0)  # and the NATS subscription is gone
        await send_op(stays, op="ping", id="3")
        assert (await reply_to(stays, "3"))["type"] == "pong"
    stats = (await client.get("/stream/stats")).json()
    assert stats["refcount"] is None
    assert stats["dropped"] == 0


async def test_expired_token_is_refused(fast_gateway: Gateway, fast_key: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(ws_url(fast_gateway, "/stream", mint(fast_key, -5))):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["detail"] == "access token expired"
    async with open_ws(ws_url(fast_gateway, "/stream", mint(fast_key, 600))) as ws:
        assert (await recv_json(ws))["type"] == "welcome"


async def test_session_ends_when_its_token_expires(fast_gateway: Gateway, fast_key: str) -> None:
    async def stay_active(ws: ClientConnection) -> None:
        while True:  # answer heartbeats with pings: never idle
            if (await recv_json(ws))["type"] == "heartbeat":
                await send_op(ws, op="ping")

    async with open_ws(ws_url(fast_gateway, "/stream", mint(fast_key, 2))) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await stay_active(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "access token expired")


async def test_empty_or_invalid_payloads_from_nats_do_not_break_the_session(
    gateway: Gateway, token: str, nc: NatsClient, engine_id: str
) -> None:
    """The gateway never parses payloads; a rogue publisher still cannot end a session."""
    subject = event_subject(engine_id, EventKind.LOG)
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await subscribe(ws, "1", engine=engine_id, kind="log")
        await nc.publish(subject, b"")
        await nc.publish(subject, b'"caf\xe9"')  # not UTF-8
        await nc.flush()
        data: list[Any] = []
        while len(data) < 2:
            data += [e["data"] for e in events_of(await recv_json(ws))]
        assert data == [None, "caf\ufffd"]
        await send_op(ws, op="ping", id="still")
        assert (await reply_to(ws, "still"))["type"] == "pong"
