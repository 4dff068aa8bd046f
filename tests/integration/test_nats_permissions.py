"""Least privilege on NATS (nats.conf + nats-auth.conf), proved with real connections.

This module has a nats-server of its own (``module_nats``: its log holds only the violations
these tests cause) with a real ``sim`` bridge connected as ``bridge-sim``; every other
client is a plain nats-py connection as one of the configuration's users, with the
credentials and inbox prefix ``schemas.natsauth`` gives it.

A refused operation is checked twice: the server tells the offending client (an error
callback naming the subject), and the effect never happens (``admin`` finds no delivered
message, no interest, no order created or cancelled).  After the server's ``-ERR``, one
round trip of the checking client is enough to know: the server handles a publication
(delivering it or refusing it) before it answers anything sent after.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from schemas.errors import ERROR_CODE_HEADER
from schemas.natsauth import NatsAuth
from schemas.subjects import Op, request_subject
from tests.support.orders import FILLING, RESTING
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import events_of, login, open_ws, recv_json, subscribe, ws_url

WAIT = 15.0
"""Seconds a test waits for what it expects (a guard against hanging, not a measurement)."""
REPLY_WAIT = 2.0
"""Seconds a refused request waits for a reply that must never come."""
BULK = 4000
"""Events of about 2 kB written to a stream for a long replay (JetStream flow control sets
in after a few MB)."""


class Conn:
    """A NATS connection as one user, with the errors the server reported to it."""

    def __init__(self, nc: NatsClient, errors: asyncio.Queue[str]) -> None:
        self.nc = nc
        self.errors = errors

    async def violation(self, kind: str, subject: str) -> str:
        """Wait for the server's ``permissions violation for {kind} to "{subject}"``."""
        wanted = f'permissions violation for {kind} to "{subject.lower()}"'
        async with asyncio.timeout(WAIT):
            while True:
                error = await self.errors.get()
                if wanted in error.lower():
                    return error


async def connect_as(server: NatsServer, user: str) -> Conn:
    """Connect as ``user`` the way the bridge and the gateway do (``schemas.natsauth``)."""
    errors: asyncio.Queue[str] = asyncio.Queue()

    async def on_error(exc: Exception) -> None:
        errors.put_nowait(str(exc))

    auth = NatsAuth.load(user=user, password=server.passwords[user])
    nc = await nats.connect(
        server.plain_url, name=f"perm-test {user}", error_cb=on_error, **auth.connect_kwargs()
    )
    return Conn(nc, errors)


@pytest.fixture(scope="module")
def sim(module_nats: NatsServer) -> Iterator[Bridge]:
    """Engine ``sim`` on this module's server, connected as ``bridge-sim``."""
    bridge = Bridge(module_nats.plain_url, "sim", env=module_nats.env_for("bridge-sim"))
    bridge.start_bridge()
    yield bridge
    bridge.stop()


@pytest.fixture
async def admin(module_nats: NatsServer, sim: Bridge) -> AsyncIterator[NatsClient]:
    """``admin``: may do anything (checks what the others could not do)."""
    nc = await nats.connect(module_nats.url, name="perm-test admin")
    yield nc
    await nc.close()


@pytest.fixture
async def as_user(module_nats: NatsServer, sim: Bridge) -> AsyncIterator[Any]:
    """``await as_user(name)``: a connection as that user, closed at teardown."""
    opened: list[Conn] = []

    async def open_as(user: str) -> Conn:
        conn = await connect_as(module_nats, user)
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        await conn.nc.close()


async def call(nc: NatsClient, engine: str, op: Op, body: Any = b"") -> Any:
    """An admin request to ``engine``; the decoded reply (fails on an error reply)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    msg = await nc.request(request_subject(engine, op), data, timeout=WAIT)
    assert not (msg.headers or {}).get(ERROR_CODE_HEADER), msg.headers
    return json.loads(msg.data)


# --------------------------------------------------------------------------- connecting


async def refused(url: str) -> str:
    """The error of a connection attempt to ``url`` (the client is closed either way)."""
    client = NatsClient()
    try:
        with pytest.raises(nats.errors.Error) as excinfo:
            await client.connect(url, allow_reconnect=False, connect_timeout=5)
    finally:
        await client.close()
    return str(excinfo.value)


async def test_a_connection_without_credentials_is_refused(module_nats: NatsServer) -> None:
    assert "Authorization Violation" in await refused(module_nats.plain_url)


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("gateway", "wtNotTheGatewayPassword1"),
        ("nobody", "wtNoSuchUserAnywhere123"),
        ("admin", None),  # None: the gateway's (valid) password for another user
    ],
    ids=["wrong-password", "unknown-user", "another-users-password"],
)
async def test_a_connection_with_wrong_credentials_is_refused(
    module_nats: NatsServer, user: str, password: str | None
) -> None:
    secret = module_nats.passwords["gateway"] if password is None else password
    assert "Authorization Violation" in await refused(module_nats.url_for(user, secret))


def test_a_bridge_with_a_wrong_password_exits_at_once_naming_the_user_not_the_password(
    module_nats: NatsServer,
) -> None:
    wrong = "wtWrongBridgePassword42"
    env = {**module_nats.env_for("bridge-sim"), "WEBTRADER_NATS_PASSWORD": wrong}
    bridge = Bridge(module_nats.plain_url, "sim", env=env)
    with pytest.raises(RuntimeError, match=r"exited \(1\)"):
        bridge.start(r"bridge ready", timeout=WAIT)
    bridge.stop()
    assert "NATS refused the credentials (user bridge-sim)" in bridge.output
    assert wrong not in bridge.output


def test_a_gateway_with_a_wrong_password_exits_naming_the_user_not_the_password(
    module_nats: NatsServer,
) -> None:
    wrong = "wtWrongGatewayPassword42"
    env = {**module_nats.env_for("gateway"), "WEBTRADER_NATS_PASSWORD": wrong}
    gw = Gateway(module_nats.plain_url, "sim", "--demo", env=env)
    with pytest.raises(RuntimeError, match="exited"):
        gw.start(r"gateway ready", timeout=WAIT)
    gw.stop()
    assert "NATS refused the credentials (user gateway)" in gw.output
    assert wrong not in gw.output


# --------------------------------------------------------------------------- observer


async def test_the_observer_receives_the_events_of_an_engine(
    as_user: Any, admin: NatsClient
) -> None:
    observer = await as_user("observer")
    sub = await observer.nc.subscribe("wt.*.evt.order.>")
    await observer.nc.flush()
    order = await call(admin, "sim", Op.SUBMIT, RESTING)
    async with asyncio.timeout(WAIT):
        while True:
            msg = await sub.next_msg(timeout=WAIT)
            if json.loads(msg.data)["vt_orderid"] == order["vt_orderid"]:
                break
    assert msg.subject.startswith("wt.sim.evt.order.")


async def test_the_observer_cannot_submit_an_order(as_user: Any, admin: NatsClient) -> None:
    observer = await as_user("observer")
    cid = f"observer-{uuid.uuid4().hex}"
    body = json.dumps({**RESTING, "client_order_id": cid}).encode()
    with pytest.raises(nats.errors.TimeoutError):
        await observer.nc.request(request_subject("sim", Op.SUBMIT), body, timeout=REPLY_WAIT)
    await observer.violation("publish", request_subject("sim", Op.SUBMIT))
    orders = await call(admin, "sim", Op.ORDERS)
    assert orders, "the engine has orders (the check below is not vacuous)"
    assert cid not in {o["client_order_id"] for o in orders}


async def test_the_observer_cannot_cancel_an_order(as_user: Any, admin: NatsClient) -> None:
    observer = await as_user("observer")
    order = await call(admin, "sim", Op.SUBMIT, RESTING)
    subject = request_subject("sim", Op.CANCEL)
    await observer.nc.publish(subject, json.dumps({"vt_orderid": order["vt_orderid"]}).encode())
    await observer.violation("publish", subject)
    await observer.nc.publish(request_subject("sim", Op.CANCEL_ALL), b"")
    await observer.violation("publish", request_subject("sim", Op.CANCEL_ALL))
    now = await call(admin, "sim", Op.ORDER, {"vt_orderid": order["vt_orderid"]})
    assert now["status"] == "NOTTRADED"


# ---------------------------------------------------------------- refused publications

PUBLISH_REFUSED = [
    ("observer", "wt.sim.evt.order.SHFE.rb2601.forged", "observer-forges-an-event"),
    ("observer", "wt.sim.req.orders", "observer-reads-orders"),
    ("observer", "$JS.API.STREAM.INFO.WT_sim_EVENTS", "observer-reads-history"),
    ("observer", "$SRV.INFO.webtrader-engine", "observer-discovers"),
    ("bridge-sim", "wt.sim2.evt.order.SHFE.rb2601.1", "bridge-sim-publishes-as-sim2"),
    ("bridge-sim", "wt.sim2.evt.heartbeat", "bridge-sim-heartbeats-as-sim2"),
    ("bridge-sim", "wt.sim2.req.submit", "bridge-sim-orders-on-sim2"),
    ("bridge-sim", "$KV.wt_sim2_client_orders.Zm9yZ2Vk", "bridge-sim-writes-sim2-bucket"),
    ("bridge-sim", "$JS.API.STREAM.DELETE.WT_sim2_EVENTS", "bridge-sim-deletes-sim2-stream"),
    ("bridge-sim", "$JS.API.STREAM.PURGE.WT_sim_EVENTS", "bridge-sim-purges-its-history"),
    ("bridge-sim", "_INBOX.gateway.forged", "bridge-sim-forges-a-reply"),
    ("gateway", "wt.sim.evt.order.SHFE.rb2601.forged", "gateway-forges-an-event"),
    ("gateway", "wt.sim.evt.heartbeat", "gateway-forges-a-heartbeat"),
    ("gateway", "$KV.wt_sim_client_orders.Zm9yZ2Vk", "gateway-writes-the-bucket"),
    ("gateway", "$JS.API.STREAM.DELETE.WT_sim_EVENTS", "gateway-deletes-a-stream"),
    ("gateway", "_INBOX.bridge-sim.forged", "gateway-forges-a-jetstream-ack"),
]


@pytest.mark.parametrize(
    ("user", "subject"),
    [case[:2] for case in PUBLISH_REFUSED],
    ids=[case[2] for case in PUBLISH_REFUSED],
)
async def test_a_publication_outside_the_users_permissions_is_refused_and_never_delivered(
    as_user: Any, admin: NatsClient, user: str, subject: str
) -> None:
    watcher = await admin.subscribe(subject)
    await admin.flush()
    conn = await as_user(user)
    await conn.nc.publish(subject, b'{"forged":true}')
    await conn.violation("publish", subject)
    await admin.flush()  # anything the server had delivered would be here by now
    assert watcher.pending_msgs == 0


# ---------------------------------------------------------------- refused subscriptions

SUBSCRIBE_REFUSED = [
    ("observer", "wt.sim.req.>", None, "observer-listens-to-requests"),
    ("observer", "_INBOX.>", None, "observer-reads-replies"),
    ("bridge-sim", "wt.sim2.req.>", None, "bridge-sim-listens-to-sim2-requests"),
    ("bridge-sim", "wt.sim2.req.submit", "q", "bridge-sim-serves-sim2-submit"),
    ("bridge-sim", "wt.sim2.evt.>", None, "bridge-sim-reads-sim2-events"),
    ("bridge-sim", "_INBOX.gateway.>", None, "bridge-sim-reads-gateway-replies"),
    ("gateway", "wt.sim.req.>", None, "gateway-intercepts-requests"),
    ("gateway", "_INBOX.bridge-sim.>", None, "gateway-reads-bridge-acks"),
    ("gateway", "$KV.>", None, "gateway-reads-bucket-writes"),
]


@pytest.mark.parametrize(
    ("user", "pattern", "queue"),
    [case[:3] for case in SUBSCRIBE_REFUSED],
    ids=[case[3] for case in SUBSCRIBE_REFUSED],
)
async def test_a_subscription_outside_the_users_permissions_is_refused_and_gets_nothing(
    as_user: Any, admin: NatsClient, user: str, pattern: str, queue: str | None
) -> None:
    conn = await as_user(user)
    await conn.nc.subscribe(pattern, queue=queue or "")
    await conn.violation("subscription", pattern)
    concrete = pattern.replace(">", f"probe.{uuid.uuid4().hex}").replace("*", "x")
    with pytest.raises(nats.errors.NoRespondersError):  # the server holds no such interest
        await admin.request(concrete, b"", timeout=WAIT)


# ------------------------------------------------------------- the real processes' work


async def test_the_sim_bridge_as_bridge_sim_submits_restarts_and_restores_without_a_violation(
    tmp_path: Path,
) -> None:
    """Fresh start, orders (resting, filled, cancelled, idempotent), restart and restore,
    a NATS restart (reconnect, streams ensured again): all within ``bridge-sim``'s rights."""
    server = NatsServer(tmp_path / "js")
    server.start_server()
    bridge = Bridge(server.plain_url, "sim", env=server.env_for("bridge-sim"))
    try:
        await asyncio.to_thread(bridge.start_bridge)
        nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        try:
            await call(nc, "sim", Op.SUBSCRIBE, {"symbol": "rb2601", "exchange": "SHFE"})
            cid = f"cycle-{uuid.uuid4().hex}"
            first = await call(nc, "sim", Op.SUBMIT, {**RESTING, "client_order_id": cid})
            again = await call(nc, "sim", Op.SUBMIT, {**RESTING, "client_order_id": cid})
            assert again["vt_orderid"] == first["vt_orderid"]
            filled = await call(nc, "sim", Op.SUBMIT, FILLING)
            cancelled = await call(nc, "sim", Op.SUBMIT, RESTING)
            await call(nc, "sim", Op.CANCEL, {"vt_orderid": cancelled["vt_orderid"]})
            assert await asyncio.to_thread(bridge.stop) == 0

            # A new process restores from WT_sim_EVENTS, WT_sim_TICKS and the bucket.
            await asyncio.to_thread(bridge.start_bridge)
            restored = await call(nc, "sim", Op.ORDER, {"vt_orderid": filled["vt_orderid"]})
            assert restored["status"] == "ALLTRADED"
            replay = await call(nc, "sim", Op.SUBMIT, {**RESTING, "client_order_id": cid})
            assert replay["vt_orderid"] == first["vt_orderid"]

            mark = len(bridge.lines)
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start_server)  # same port and store
            await asyncio.to_thread(bridge.wait_for, "NATS reconnected", WAIT, mark)
            async with asyncio.timeout(WAIT):
                while not nc.is_connected:
                    await asyncio.sleep(0.05)
            after = await call(nc, "sim", Op.SUBMIT, FILLING)
            assert after["status"] == "ALLTRADED"
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(bridge.stop)
        await asyncio.to_thread(server.stop)
    assert server.violations() == []


async def test_the_gateway_as_gateway_replays_a_long_history_without_a_violation(
    tmp_path: Path,
) -> None:
    """A resume from the start of a long events stream (several MB: JetStream flow control),
    through the gateway connected as ``gateway``, of engine ``sim2`` (``bridge-sim2``)."""
    server = NatsServer(tmp_path / "js")
    server.start_server()
    bridge = Bridge(server.plain_url, "sim2", env=server.env_for("bridge-sim2"))
    gw = Gateway(server.plain_url, "sim2", "--demo", env=server.env_for("gateway"))
    try:
        await asyncio.to_thread(bridge.start_bridge)
        await asyncio.to_thread(gw.start_gateway)
        nc = await nats.connect(server.url)
        try:
            order = await call(nc, "sim2", Op.SUBMIT, FILLING)
            js = nc.jetstream()
            padding = "x" * 2000
            acks = []
            for i in range(BULK):
                body = {"vt_orderid": order["vt_orderid"], "pad": padding}
                subject = f"wt.sim2.evt.trade.SHFE.rb2601.bulk{i}"
                acks.append(await js.publish_async(subject, json.dumps(body).encode()))
            last = max(ack.seq for ack in await asyncio.gather(*acks))
        finally:
            await nc.close()
        token = await login(gw)
        async with open_ws(ws_url(gw, "/stream", token)) as ws:
            await recv_json(ws)  # welcome
            await subscribe(ws, "1", engine="sim2", topic="trade.>", resume_from=0)
            seen: set[int] = set()
            async with asyncio.timeout(4 * WAIT):
                while last not in seen:
                    seen.update(e["seq"] for e in events_of(await recv_json(ws)) if "seq" in e)
        assert len(seen) > BULK
    finally:
        await asyncio.to_thread(gw.stop)
        await asyncio.to_thread(bridge.stop)
        await asyncio.to_thread(server.stop)
    assert server.violations() == []
