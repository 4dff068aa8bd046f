"""``/stream`` durable events: stream sequences, resume, snapshots, and the notices.

Order, trade, position and account events come from the engine's JetStream events stream:
every such event carries the ``seq`` under which the stream stores it, a client that comes
back with the last ``seq`` it saw gets everything after it exactly once, and a snapshot is
the current state of each order, position and account followed by live events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient
from websockets.asyncio.client import ClientConnection

from schemas.streams import STREAM_SEQ_HEADER, events_stream
from tests.support.orders import FILLING, RESTING
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import (
    close_draining,
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

WAIT = 15.0
"""Seconds a test waits for what it expects (a guard against hanging, not a measurement)."""


Stored = dict[int, tuple[str, Any]]
"""``{seq: (subject, decoded payload)}`` of an events stream."""


async def stored_events(nc: NatsClient, engine_id: str) -> Stored:
    """Every message of the engine's events stream, read straight from JetStream."""
    js = nc.jetstream()
    name = events_stream(engine_id)
    info = await js.stream_info(name)
    out: Stored = {}
    for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
        try:
            msg = await js.get_msg(name, seq)
        except nats.js.errors.NotFoundError:
            continue
        out[seq] = (str(msg.subject), json.loads(msg.data or b"null"))
    return out


def sequenced(frames: list[Any]) -> list[dict[str, Any]]:
    """Events that carry a ``seq``, in arrival order."""
    return [e for f in frames for e in events_of(f) if "seq" in e]


async def read_until_seqs(ws: ClientConnection, seqs: Iterable[int], frames: list[Any]) -> None:
    """Read frames into ``frames`` until events with all of ``seqs`` arrived.

    (Events of different subscriptions come from different consumers: their sequences
    interleave, so the highest one arriving says nothing about the others.)
    """
    wanted = set(seqs)
    async with asyncio.timeout(WAIT):
        while not wanted <= {e["seq"] for e in sequenced(frames)}:
            frames.append(await recv_json(ws))


def assert_exactly(events: list[dict[str, Any]], stored: Stored, after: int) -> None:
    """``events`` are the stored messages after ``after``, each once, in order, as stored."""
    assert [e["seq"] for e in events] == [s for s in sorted(stored) if s > after]
    for event in events:
        subject, data = stored[event["seq"]]
        assert (event["subject"], event["data"]) == (subject, data)


@asynccontextmanager
async def stream(gateway: Gateway, token: str) -> AsyncIterator[ClientConnection]:
    """A ``/stream`` connection past its welcome frame."""
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        assert (await recv_json(ws))["type"] == "welcome"
        yield ws


@pytest.fixture
async def engine(bridge_factory: Callable[..., Bridge], engine_id: str) -> str:
    """A fresh engine (its own events stream), running."""
    await asyncio.to_thread(bridge_factory, engine_id)
    return engine_id


async def place(client: httpx.AsyncClient, engine_id: str, order: dict[str, Any]) -> Any:
    """Submit an order on ``engine_id``; the order as accepted."""
    r = await client.post(f"/engines/{engine_id}/order", json=order)
    assert r.status_code == 201, r.text
    return r.json()


async def test_durable_events_carry_the_seq_the_stream_stores_them_under(
    gateway: Gateway, token: str, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    async with stream(gateway, token) as ws:
        start = max(await stored_events(nc, engine), default=0)
        for n, topic in enumerate(("order.>", "trade.>", "position.>", "account.>")):
            ack = await subscribe(ws, f"d{n}", engine=engine, topic=topic)
            assert ack["seq"] == start  # the stream's end: everything after it follows
        await place(client, engine, FILLING)
        stored = {s: m for s, m in (await stored_events(nc, engine)).items() if s > start}
        kinds = {subject.split(".")[3] for subject, _ in stored.values()}
        assert kinds == {"order", "trade", "position", "account"}
        frames: list[Any] = []
        await read_until_seqs(ws, stored, frames)
    got = sequenced(frames)
    assert sorted(e["seq"] for e in got) == sorted(stored)  # each once, none missing
    for event in got:
        assert (event["subject"], event["data"]) == stored[event["seq"]]


async def test_resume_from_the_last_seq_delivers_what_was_missed_once_then_live(
    gateway: Gateway, token: str, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    async with stream(gateway, token) as ws:
        await subscribe(ws, "1", engine=engine, topic="order.>")
        placed = await place(client, engine, RESTING)
        frame = await recv_until(ws, lambda f: bool(events_of(f)))
        last = events_of(frame)[-1]["seq"]
        assert events_of(frame)[-1]["data"]["vt_orderid"] == placed["vt_orderid"]
    # while away: one more order, and the first one cancelled
    await place(client, engine, RESTING)
    r = await client.delete(f"/engines/{engine}/order/{placed['vt_orderid']}")
    assert r.status_code == 200, r.text
    async with stream(gateway, token) as ws:
        ack = await subscribe(ws, "1", engine=engine, topic="order.>", resume_from=last)
        assert ack["seq"] == last
        stored = {s: m for s, m in (await stored_events(nc, engine)).items() if ".order." in m[0]}
        frames: list[Any] = []
        await read_until_seqs(ws, (s for s in stored if s > last), frames)
        assert_exactly(sequenced(frames), stored, after=last)
        assert sequenced(frames)[-1]["data"]["status"] == "CANCELLED"
        # then live, continuing the same sequence
        await place(client, engine, RESTING)
        live = await recv_until(ws, lambda f: bool(events_of(f)))
        assert events_of(live)[0]["seq"] > max(stored)


async def test_rest_stream_seq_then_resume_has_no_gap(
    gateway: Gateway, token: str, client: httpx.AsyncClient, engine: str
) -> None:
    """Read the state over REST, then resume the stream from the seq the answer includes."""
    await place(client, engine, RESTING)
    r = await client.get(f"/engines/{engine}/order")
    assert r.status_code == 200, r.text
    seq = int(r.headers[STREAM_SEQ_HEADER])
    known = {o["vt_orderid"] for o in r.json()}
    await place(client, engine, RESTING)  # after the read: must come over the stream
    async with stream(gateway, token) as ws:
        await subscribe(ws, "1", engine=engine, topic="order.>", resume_from=seq)
        frame = await recv_until(ws, lambda f: bool(events_of(f)))
    event = events_of(frame)[0]
    assert event["seq"] > seq
    assert event["data"]["vt_orderid"] not in known


async def test_snapshot_is_the_current_state_then_snapshot_end_then_live(
    gateway: Gateway, token: str, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    first = await place(client, engine, RESTING)
    await place(client, engine, RESTING)
    r = await client.delete(f"/engines/{engine}/order/{first['vt_orderid']}")
    assert r.status_code == 200, r.text
    orders = {o["vt_orderid"]: o for o in (await client.get(f"/engines/{engine}/order")).json()}
    async with stream(gateway, token) as ws:
        ack = await subscribe(ws, "1", engine=engine, topic="order.>", snapshot=True)
        assert "seq" not in ack
        seen: list[Any] = []
        end = await recv_until(ws, lambda f: f["type"] == "snapshot_end", seen=seen)
        snapshot = sequenced(seen)
        # one event per order, its latest state (the cancel, not the submit)
        assert {e["data"]["vt_orderid"]: e["data"] for e in snapshot} == orders
        assert len(snapshot) == len(orders)
        assert end == {"type": "snapshot_end", "sub": "s1", "engine": engine, "seq": end["seq"]}
        assert end["seq"] == max(e["seq"] for e in snapshot)
        placed = await place(client, engine, RESTING)
        live = events_of(await recv_until(ws, lambda f: bool(events_of(f))))
    assert live[0]["data"]["vt_orderid"] == placed["vt_orderid"]
    assert live[0]["seq"] > end["seq"]
    stored = await stored_events(nc, engine)
    assert stored[live[0]["seq"]][1] == live[0]["data"]


async def test_snapshot_of_nothing_ends_at_once(
    gateway: Gateway, token: str, client: httpx.AsyncClient, engine: str
) -> None:
    async with stream(gateway, token) as ws:
        await send_op(ws, op="subscribe", id="1", engine=engine, topic="trade.>", snapshot=True)
        assert (await recv_json(ws))["type"] == "ack"
        end = await recv_json(ws)
        assert (end["type"], end["sub"], end["engine"]) == ("snapshot_end", "s1", engine)
        await place(client, engine, FILLING)
        trade = events_of(await recv_until(ws, lambda f: bool(events_of(f))))[0]
    assert trade["seq"] > end["seq"]
    assert trade["subject"].startswith(f"wt.{engine}.evt.trade.")


async def test_resume_point_the_stream_cannot_continue_from_is_refused(
    gateway: Gateway, token: str, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    await place(client, engine, RESTING)
    last = max(await stored_events(nc, engine))
    async with stream(gateway, token) as ws:
        await send_op(ws, op="subscribe", id="ahead", engine=engine, topic="order.>",
                      resume_from=last + 100)  # fmt: skip
        error = await reply_to(ws, "ahead")
        assert (error["type"], error["code"], error["field"]) == ("error", 410, "resume_from")
        await nc.jetstream().purge_stream(events_stream(engine))  # as if retention removed them
        await send_op(ws, op="subscribe", id="gone", engine=engine, topic="order.>",
                      resume_from=0)  # fmt: skip
        error = await reply_to(ws, "gone")
        assert (error["type"], error["code"], error["field"]) == ("error", 410, "resume_from")
        assert "no longer kept" in error["detail"]
        # resuming from the end of what was removed is fine
        ack = await subscribe(ws, "ok", engine=engine, topic="order.>", resume_from=last)
        assert ack["seq"] == last


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "tick.>", "snapshot": True}, "snapshot"),
        ({"topic": "log", "resume_from": 3}, "resume_from"),
        ({"topic": "order.>", "snapshot": True, "resume_from": 3}, "resume_from"),
        ({"topic": "order.>", "resume_from": -1}, "resume_from"),
        ({"engine": "*", "topic": "order.>", "resume_from": 3}, "resume_from"),
        ({"engine": "sim", "topic": "order.>", "resume_from": {"sim": 3}}, "resume_from"),
        ({"engine": "*", "topic": "order.>", "resume_from": {"a.b": 3}}, "resume_from"),
    ],
)
async def test_snapshot_and_resume_are_refused_where_they_make_no_sense(
    gateway: Gateway, token: str, fields: dict[str, Any], field: str
) -> None:
    async with stream(gateway, token) as ws:
        await send_op(ws, op="subscribe", id="x", **fields)
        error = await reply_to(ws, "x")
    assert (error["type"], error["code"], error["field"]) == ("error", 400, field)


async def test_wildcard_topic_gets_ticks_from_the_hub_and_orders_with_seq_once(
    gateway: Gateway, token: str, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    async with stream(gateway, token) as ws:
        ack = await subscribe(ws, "all", engine=engine, topic=">")
        assert ack["subject"] == f"wt.{engine}.evt.>"
        r = await client.post(f"/engines/{engine}/tick/rb2601.SHFE")
        assert r.status_code == 200, r.text
        await place(client, engine, FILLING)
        stored = {s: m for s, m in (await stored_events(nc, engine)).items() if s > ack["seq"]}
        frames: list[Any] = []
        await read_until_seqs(ws, stored, frames)
        frames.append(await recv_until(ws, lambda f: any(".tick." in e["subject"]
                                                          for e in events_of(f))))  # fmt: skip
    events = [e for f in frames for e in events_of(f)]
    for event in events:
        durable = event["subject"].split(".")[3] in ("order", "trade", "position", "account")
        assert ("seq" in event) == durable, event
    assert sorted(e["seq"] for e in sequenced(frames)) == sorted(stored)


async def test_all_engines_subscription_has_seqs_and_resumes_from_a_map(
    gateway: Gateway,
    token: str,
    client: httpx.AsyncClient,
    nc: NatsClient,
    *,
    bridge_factory: Callable[..., Bridge],
    engine_id: str,
) -> None:
    other = engine_id + "b"
    await asyncio.to_thread(bridge_factory, engine_id)
    await asyncio.to_thread(bridge_factory, other)
    await client.get(f"/engines/{other}")  # known to the gateway before the subscription
    await client.get(f"/engines/{engine_id}")
    async with stream(gateway, token) as ws:
        ack = await subscribe(ws, "1", engine="*", topic="order.>")
        assert "seq" not in ack  # sequences are per engine
        await place(client, engine_id, RESTING)
        await place(client, other, RESTING)
        seen: list[Any] = []
        while {e["subject"].split(".")[1] for e in sequenced(seen)} < {engine_id, other}:
            seen.append(await recv_json(ws))
    last = {e["subject"].split(".")[1]: e["seq"] for e in sequenced(seen)}
    await place(client, other, RESTING)  # while away, on one engine only
    async with stream(gateway, token) as ws:
        resume = {engine_id: last[engine_id], other: last[other]}
        await subscribe(ws, "1", engine="*", topic="order.>", resume_from=resume)
        frame = await recv_until(ws, lambda f: bool(events_of(f)))
    (event,) = events_of(frame)
    assert event["subject"].startswith(f"wt.{other}.evt.order.")
    orders = [seq for seq, (subject, _) in (await stored_events(nc, other)).items()
              if ".order." in subject]  # fmt: skip
    assert event["seq"] == max(orders) > last[other]


async def test_engine_started_after_the_subscription_delivers_from_its_first_event(
    gateway: Gateway,
    token: str,
    client: httpx.AsyncClient,
    nc: NatsClient,
    *,
    bridge_factory: Callable[..., Bridge],
    engine_id: str,
) -> None:
    async with stream(gateway, token) as ws:
        ack = await subscribe(ws, "1", engine=engine_id, topic="account.>")
        assert ack["seq"] == 0  # no stream yet: everything it will hold follows
        await asyncio.to_thread(bridge_factory, engine_id)
        await place(client, engine_id, RESTING)  # freezes funds: an account event
        stored = await stored_events(nc, engine_id)
        accounts = {s: m for s, m in stored.items() if ".account." in m[0]}
        frames: list[Any] = []
        await read_until_seqs(ws, accounts, frames)
    assert_exactly(sequenced(frames), accounts, after=0)


@pytest.fixture(scope="module")
def tight_gateway(nats_server: NatsServer, sim_bridge: Bridge) -> Iterator[Gateway]:
    """A gateway whose clients may fall only 50 non-tick events behind."""
    gw = Gateway(nats_server.url, "sim", "--demo", "--ws-queue-limit", "50")
    gw.start_gateway()
    yield gw
    gw.stop()


async def test_a_replay_far_longer_than_the_queue_limit_is_paced_not_cut_off(
    tight_gateway: Gateway, client: httpx.AsyncClient, nc: NatsClient, engine: str
) -> None:
    for _ in range(15):
        await asyncio.gather(*(place(client, engine, RESTING) for _ in range(10)))
    stored = await stored_events(nc, engine)
    assert len(stored) > 200  # an order and an account event per order: 4x the limit
    token = await login(tight_gateway)
    async with stream(tight_gateway, token) as ws:
        await subscribe(ws, "1", engine=engine, topic=">", resume_from=0)
        frames: list[Any] = []
        await read_until_seqs(ws, stored, frames)
        await close_draining(ws)
    assert_exactly(sequenced(frames), stored, after=0)


async def test_welcome_lists_engines_and_clients_hear_an_engine_go_down_and_up(
    gateway: Gateway, token: str, client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    engine_id = fresh_bridge.engine_id
    assert (await client.get(f"/engines/{engine_id}")).status_code == 200
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        welcome = await recv_json(ws)
        assert welcome["engines"]["sim"] == "up"
        assert welcome["engines"][engine_id] == "up"
        await asyncio.to_thread(fresh_bridge.kill)

        def notice(status: str) -> Callable[[Any], bool]:
            return lambda f: (
                f["type"] == "engine" and f["engine_id"] == engine_id and (f["status"] == status)
            )

        down = await recv_until(ws, notice("down"))
        assert down["reason"]
        await asyncio.to_thread(fresh_bridge.start_bridge)
        up = await recv_until(ws, notice("up"))
        assert set(up) == {"type", "engine_id", "status", "reason"}


async def test_consumers_are_released_on_unsubscribe_and_disconnect(
    gateway: Gateway, token: str, client: httpx.AsyncClient, engine: str
) -> None:
    async def consumers() -> int:
        return int((await client.get("/stream/stats")).json()["consumers"])

    before = await consumers()
    async with stream(gateway, token) as ws:
        await subscribe(ws, "1", engine=engine, topic="order.>")
        await subscribe(ws, "2", engine=engine, topic="*.>")  # durable part + core part
        assert await consumers() == before + 2
        await send_op(ws, op="unsubscribe", id="3", sub="s1")
        assert (await reply_to(ws, "3"))["type"] == "ack"
        assert await consumers() == before + 1
    async with asyncio.timeout(WAIT):
        while await consumers() != before:
            await asyncio.sleep(0.05)


async def test_stream_survives_a_nats_restart_and_misses_no_event(
    broker: NatsServer, engine_id: str
) -> None:
    bridge = Bridge(broker.url, engine_id)
    gw = Gateway(broker.url, engine_id, "--demo")
    try:
        await asyncio.to_thread(bridge.start_bridge)
        await asyncio.to_thread(gw.start_gateway)
        token = await login(gw)
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=gw.url, headers=headers, timeout=WAIT) as http,
            stream(gw, token) as ws,
        ):
            await subscribe(ws, "1", engine=engine_id, topic="order.>")
            await place(http, engine_id, RESTING)
            frames: list[Any] = [await recv_until(ws, lambda f: bool(events_of(f)))]
            await asyncio.to_thread(broker.stop)
            frames.append(await recv_until(ws, lambda f: f["type"] == "nats"))
            assert frames[-1] == {"type": "nats", "status": "disconnected"}
            await asyncio.to_thread(broker.start_server)
            frames.append(await recv_until(ws, lambda f: f["type"] == "nats", seen=frames))
            assert frames[-1] == {"type": "nats", "status": "reconnected"}
            async with asyncio.timeout(WAIT):  # the bridge is back on NATS too
                while (await http.get(f"/engines/{engine_id}/order")).status_code != 200:
                    await asyncio.sleep(0.1)
            for _ in range(3):
                await place(http, engine_id, RESTING)
            async with await nats.connect(broker.url) as nc:
                stored = await stored_events(nc, engine_id)
            orders = {s: m for s, m in stored.items() if ".order." in m[0]}
            await read_until_seqs(ws, orders, frames)
        assert_exactly(sequenced(frames), orders, after=min(orders) - 1)
    finally:
        await asyncio.to_thread(gw.stop)
        await asyncio.to_thread(bridge.stop)
