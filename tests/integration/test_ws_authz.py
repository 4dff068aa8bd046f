"""Authorization on the WebSockets: engines per user, token expiry and refresh, no token in logs.

A gateway of this module's own signs with a key the tests know, so they mint tokens for any
user, role and engine list (``gateway.auth.issue_token``).  The forbidden engine is the
session's ``sim`` (also the default engine); the allowed one a fresh bridge.  Every "never
arrives" check has a positive control: the same event reaching an admin, or the allowed
engine's event arriving after it.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.access import Role
from gateway.auth import issue_refresh_token, issue_token
from gateway.settings import GatewaySettings
from tests.support.orders import RESTING
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import (
    FRAME_TIMEOUT,
    events_of,
    open_ws,
    recv_json,
    recv_until,
    reply_to,
    send_op,
    subscribe,
    ws_url,
)

FORBIDDEN_ENGINE = "sim"
"""The session's default engine; restricted users here may not use it."""

Mint = Callable[..., str]


@pytest.fixture(scope="module")
def authz_key() -> str:
    """The signing key of ``authz_gateway`` (random per run)."""
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def authz_gateway(nats_server: NatsServer, sim_bridge: Bridge, authz_key: str) -> Iterator[Gateway]:
    """A demo gateway on the session's NATS (engine ``sim``) signing with ``authz_key``."""
    gw = Gateway(nats_server.url, FORBIDDEN_ENGINE, "--demo", "--jwt-secret", authz_key)
    gw.start_gateway()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def mint(authz_key: str) -> Mint:
    """``mint(user, role, engines, ttl=600, issued=now)``: a token ``authz_gateway`` accepts."""

    def make(
        username: str,
        role: Role = Role.VIEWER,
        engines: Iterable[str] = ("*",),
        ttl: float = 600,
        issued: float | None = None,
    ) -> str:
        settings = GatewaySettings.demo_settings(jwt_secret=authz_key, token_ttl=ttl)
        return issue_token(settings, username, role, engines, now=issued)

    return make


@asynccontextmanager
async def stream(gateway: Gateway, token: str) -> AsyncIterator[tuple[ClientConnection, Any]]:
    """A ``/stream`` connection and its welcome frame."""
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        welcome = await recv_json(ws)
        assert welcome["type"] == "welcome"
        yield ws, welcome


@asynccontextmanager
async def rest(gateway: Gateway, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with ``token``."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=10) as c:
        yield c


async def place(http: httpx.AsyncClient, engine_id: str) -> Any:
    """A resting order on ``engine_id``; the order as accepted."""
    r = await http.post(f"/engines/{engine_id}/order", json=RESTING)
    assert r.status_code == 201, r.text
    return r.json()


async def watch_ticks(http: httpx.AsyncClient, *engine_ids: str) -> None:
    """Make each engine publish rb2601 ticks (and known to the gateway)."""
    for engine_id in engine_ids:
        r = await http.post(f"/engines/{engine_id}/tick/rb2601.SHFE")
        assert r.status_code == 200, r.text


def engine_of(event: dict[str, Any]) -> str:
    """The engine id in an event's subject (``wt.{engine}.evt.…``)."""
    return str(event["subject"].split(".")[1])


def kind_of(event: dict[str, Any]) -> str:
    """The event kind in an event's subject."""
    return str(event["subject"].split(".")[3])


def is_order(event: dict[str, Any], engine_id: str, vt_orderid: str) -> bool:
    """True for an order event of ``vt_orderid`` on ``engine_id``."""
    return (
        engine_of(event) == engine_id
        and kind_of(event) == "order"
        and event["data"].get("vt_orderid") == vt_orderid
    )


async def until_closed(ws: ClientConnection) -> tuple[int, str]:
    """Read (and drop) frames until the server closes; the close code and reason."""

    async def drain() -> None:
        async with asyncio.timeout(FRAME_TIMEOUT):
            while True:
                await ws.recv()

    with pytest.raises(ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


# --- subscriptions ----------------------------------------------------------------------


async def test_wildcard_of_a_restricted_user_delivers_only_its_engines_ticks_and_orders(
    authz_gateway: Gateway, mint: Mint, fresh_bridge: Bridge
) -> None:
    allowed = fresh_bridge.engine_id
    admin, user = mint("root", Role.ADMIN), mint("alice", Role.VIEWER, [allowed])
    async with (
        rest(authz_gateway, admin) as http,
        stream(authz_gateway, user) as (ws, welcome),
        stream(authz_gateway, admin) as (control, _),
    ):
        await watch_ticks(http, FORBIDDEN_ENGINE, allowed)
        assert set(welcome["engines"]) <= {allowed}  # the forbidden engine is not even named
        ack = await subscribe(ws, "all", engine="*", topic=">")
        assert (ack["subject"], ack["engines"]) == ("wt.*.evt.>", [allowed])
        await subscribe(control, "all", engine="*", topic=">")
        hidden = await place(http, FORBIDDEN_ENGINE)
        # positive control: the forbidden engine's order is published and reaches an admin
        await recv_until(
            control,
            lambda f: any(
                is_order(e, FORBIDDEN_ENGINE, hidden["vt_orderid"]) for e in events_of(f)
            ),
        )
        shown = await place(http, allowed)
        frames: list[Any] = []
        match = await recv_until(
            ws,
            lambda f: any(is_order(e, allowed, shown["vt_orderid"]) for e in events_of(f)),
            seen=frames,
        )
        frames.append(match)
        while not any(kind_of(e) == "tick" for f in frames for e in events_of(f)):
            frames.append(await recv_json(ws))
    events = [e for f in frames for e in events_of(f)]
    assert {engine_of(e) for e in events} == {allowed}
    assert {"tick", "order"} <= {kind_of(e) for e in events}


async def test_snapshot_and_resume_of_a_restricted_wildcard_stay_within_its_engines(
    authz_gateway: Gateway, mint: Mint, fresh_bridge: Bridge
) -> None:
    allowed = fresh_bridge.engine_id
    admin, user = mint("root", Role.ADMIN), mint("alice", Role.VIEWER, [allowed])
    async with rest(authz_gateway, admin) as http:
        await place(http, FORBIDDEN_ENGINE)
        shown = await place(http, allowed)
        async with stream(authz_gateway, admin) as (control, _):
            # positive control: an admin's snapshot has the forbidden engine's orders
            await subscribe(control, "snap", engine="*", topic="order.>", snapshot=True)
            await recv_until(
                control, lambda f: f["type"] == "snapshot_end" and f["engine"] == FORBIDDEN_ENGINE
            )
    async with stream(authz_gateway, user) as (ws, _):
        await send_op(
            ws, op="subscribe", id="map", engine="*", topic="order.>", resume_from={"sim": 0}
        )
        refused = await reply_to(ws, "map")
        assert (refused["type"], refused["code"], refused["field"]) == ("error", 403, "resume_from")
        frames: list[Any] = []
        await subscribe(ws, "snap", engine="*", topic="order.>", snapshot=True)
        end = await recv_until(ws, lambda f: f["type"] == "snapshot_end", seen=frames)
        assert end["engine"] == allowed
        await subscribe(ws, "resume", engine="*", topic="order.>", resume_from={allowed: 0})
        match = await recv_until(
            ws,
            lambda f: any(
                e["sub"] == "s2" and e["data"]["vt_orderid"] == shown["vt_orderid"]
                for e in events_of(f)
            ),
            seen=frames,
        )
        frames.append(match)
        await send_op(ws, op="ping", id="last")  # whatever else was queued comes before the pong
        await reply_to(ws, "last", seen=frames)
    snapshot = [e for f in frames for e in events_of(f) if e["sub"] == "s1"]
    assert any(e["data"]["vt_orderid"] == shown["vt_orderid"] for e in snapshot)
    assert {engine_of(e) for f in frames for e in events_of(f)} == {allowed}
    assert not [f for f in frames if f["type"] == "snapshot_end"]  # none but `end`


async def test_subscribing_to_an_engine_the_user_may_not_use_is_refused_with_403(
    authz_gateway: Gateway, mint: Mint, engine_id: str
) -> None:
    user = mint("bob", Role.TRADER, [engine_id])
    refusals = {
        "named": ({"engine": FORBIDDEN_ENGINE, "topic": "tick.>"}, "engine"),
        "default": ({"topic": "order.>"}, "engine"),  # no engine: the default one, sim
        "sugar": (
            {"engine": FORBIDDEN_ENGINE, "kind": "tick", "vt_symbol": "rb2601.SHFE"},
            "engine",
        ),
        "map": ({"engine": "*", "topic": "order.>", "resume_from": {"sim": 1}}, "resume_from"),
    }
    async with stream(authz_gateway, user) as (ws, welcome):
        assert FORBIDDEN_ENGINE not in welcome["engines"]
        for rid, (fields, field) in refusals.items():
            await send_op(ws, op="subscribe", id=rid, **fields)
            error = await reply_to(ws, rid)
            assert (error["type"], error["code"], error["field"]) == ("error", 403, field), error
            assert f"'{FORBIDDEN_ENGINE}'" in error["detail"]
        # positive control: the same socket may subscribe to its own engine
        ack = await subscribe(ws, "own", engine=engine_id, topic="tick.>")
        assert ack["subject"] == f"wt.{engine_id}.evt.tick.>"
    async with stream(authz_gateway, mint("root", Role.ADMIN)) as (ws, welcome):
        assert FORBIDDEN_ENGINE in welcome["engines"]
        await subscribe(ws, "named", engine=FORBIDDEN_ENGINE, topic="tick.>")


async def test_vnpy_socket_refuses_a_user_without_the_default_engine_with_403(
    authz_gateway: Gateway, mint: Mint
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(ws_url(authz_gateway, "/ws/", mint("carol", engines=["other"]))):
            pass
    assert refused.value.response.status_code == 403
    assert "'sim'" in json.loads(refused.value.response.body)["detail"]
    async with open_ws(ws_url(authz_gateway, "/ws/", mint("carol", engines=["sim"]))) as ws:
        await ws.ping()  # accepted: the default engine is carol's


# --- expiry and refresh -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/", "/stream"])
async def test_socket_is_closed_1008_when_its_token_expires(
    authz_gateway: Gateway, mint: Mint, path: str
) -> None:
    async with open_ws(ws_url(authz_gateway, path, mint("dave", engines=["sim"], ttl=3))) as ws:
        assert await until_closed(ws) == (1008, "access token expired")


async def test_refresh_over_the_socket_outlives_the_first_token(
    authz_gateway: Gateway, mint: Mint
) -> None:
    first = mint("erin", engines=["sim"], ttl=3)
    first_exp = jwt.decode(first, options={"verify_signature": False})["exp"]
    async with stream(authz_gateway, first) as (ws, welcome):
        assert welcome["expires"]
        await send_op(ws, op="refresh", id="r", token=mint("erin", engines=["sim"]))
        ack = await reply_to(ws, "r")
        assert (ack["type"], ack["op"], ack["user"], ack["dropped"]) == (
            "ack",
            "refresh",
            "erin",
            [],
        )
        assert ack["expires"] > welcome["expires"]
        await asyncio.sleep(first_exp - time.time() + 1)  # past the first token's expiry
        await send_op(ws, op="ping", id="alive")
        assert (await reply_to(ws, "alive"))["type"] == "pong"


async def test_refresh_with_a_bad_or_foreign_token_is_refused_and_the_old_expiry_stands(
    authz_gateway: Gateway, mint: Mint, authz_key: str
) -> None:
    forged = jwt.encode(
        jwt.decode(mint("frank"), options={"verify_signature": False}),
        "not-the-gateway-key-" * 3,
        algorithm="HS256",
    )
    refusals = {
        "foreign": (mint("mallory", Role.ADMIN), 403),
        "garbage": ("not-a-jwt", 401),
        "forged": (forged, 401),
        "expired": (mint("frank", ttl=60, issued=time.time() - 120), 401),
        "refresh token": (  # for POST /token/refresh, never an access token
            issue_refresh_token(GatewaySettings.demo_settings(jwt_secret=authz_key), "frank", "x"),
            401,
        ),
    }
    async with stream(authz_gateway, mint("frank", ttl=3)) as (ws, _):
        for rid, (token, code) in refusals.items():
            await send_op(ws, op="refresh", id=rid, token=token)
            error = await reply_to(ws, rid)
            assert (error["type"], error["code"], error["field"]) == ("error", code, "token"), rid
        assert await until_closed(ws) == (1008, "access token expired")


async def test_refresh_to_fewer_engines_ends_the_subscriptions_it_no_longer_allows(
    authz_gateway: Gateway, mint: Mint, fresh_bridge: Bridge
) -> None:
    kept = fresh_bridge.engine_id
    async with rest(authz_gateway, mint("root", Role.ADMIN)) as http:
        await watch_ticks(http, FORBIDDEN_ENGINE, kept)
    async with stream(authz_gateway, mint("gina", engines=["sim", kept])) as (ws, _):
        await subscribe(ws, "sim", engine=FORBIDDEN_ENGINE, topic="tick.>")  # s1
        await subscribe(ws, "all", engine="*", topic="tick.>")  # s2: sim and kept
        await subscribe(ws, "kept", engine=kept, topic="tick.>")  # s3
        before: list[Any] = []
        while {e["sub"] for f in before for e in events_of(f)} != {"s1", "s2", "s3"}:
            before.append(await recv_json(ws))  # all three deliver
        await send_op(ws, op="refresh", id="r", token=mint("gina", engines=[kept]))
        frames: list[Any] = []
        ack = await reply_to(ws, "r", seen=frames)
        assert ack["dropped"] == ["s1", "s2"]
        errors = {
            (f["id"], f["sub"], f["code"], f["field"]) for f in frames if f["type"] == "error"
        }
        assert errors == {("sim", "s1", 403, "engine"), ("all", "s2", 403, "engine")}
        after: list[dict[str, Any]] = []
        while len(after) < 10:
            after += events_of(await recv_json(ws))
    assert {(e["sub"], engine_of(e)) for e in after} == {("s3", kept)}


# --- the token in the URL ---------------------------------------------------------------


async def test_the_token_in_a_websocket_url_never_reaches_the_gateway_log(
    authz_gateway: Gateway, mint: Mint
) -> None:
    start = len(authz_gateway.lines)
    good, other, refreshed = mint("hank"), mint("ivan", engines=["other"]), mint("hank")
    forged = good[: good.rindex(".") + 1] + "A" * 43
    async with stream(authz_gateway, good) as (ws, _):
        await send_op(ws, op="refresh", id="r", token=refreshed)
        assert (await reply_to(ws, "r"))["type"] == "ack"
        await send_op(ws, op="refresh", id="x", token=forged)
        assert (await reply_to(ws, "x"))["type"] == "error"
    async with open_ws(ws_url(authz_gateway, "/ws/", good)) as ws:
        await ws.ping()
    for path, token in (("/ws/", other), ("/stream", forged), ("/nowhere", good)):
        with pytest.raises(InvalidStatus):
            async with open_ws(ws_url(authz_gateway, path, token) + "&x=1"):
                pass
    # positive control: the handshakes are logged, with their query strings
    authz_gateway.wait_for(r'"WebSocket /nowhere\?token=redacted&x=1" 403', start=start)
    log = "\n".join(authz_gateway.lines[start:])
    assert '"WebSocket /stream?token=redacted" [accepted]' in log
    assert re.search(r'"WebSocket /ws/?\?token=redacted" \[accepted\]', log)
    assert re.search(r'"WebSocket /ws/?\?token=redacted&x=1" 403', log)
    assert '"WebSocket /stream?token=redacted&x=1" 401' in log
    for token in (good, other, refreshed, forged):
        assert token not in log
        assert token.rsplit(".", 1)[1] not in log  # not even its signature
