"""The bridge keeps nothing only in memory: events in JetStream, idempotent orders, restart.

A plain nats-py client talks to real ``python -m engine_bridge`` processes on the session's
real nats-server (JetStream on): it reads the engine's streams and KV bucket directly,
submits with ``client_order_id``, kills bridges with SIGKILL and restarts them.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import KeyNotFoundError, NotFoundError

from schemas.errors import ERROR_CODE_HEADER
from schemas.streams import (
    MSG_ID_HEADER,
    STREAM_SEQ_HEADER,
    client_order_key,
    client_orders_bucket,
    events_stream,
    ticks_stream,
)
from schemas.subjects import Op, parse_event_subject, request_subject
from tests.support.processes import Bridge, ManagedProcess, NatsServer, python_module

Json = Any
RB_UP, RB_DOWN = 3745.0, 3255.0  # rb2601.SHFE limits: a buy at UP fills, at DOWN rests
AU_DOWN = 846.4  # au2606.SHFE limit_down
REPLAYED = "Wt-Replayed"


def rb(**kw: Any) -> Json:
    """An order body for rb2601.SHFE (one lot, LIMIT, open long) with overrides."""
    return {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": RB_DOWN,
        "offset": "OPEN",
        **kw,
    }


async def call(
    nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"", timeout: float = 10
) -> Msg:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await nc.request(request_subject(engine_id, op), data, timeout=timeout)


async def ok(
    nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"", timeout: float = 10
) -> Json:
    msg = await call(nc, engine_id, op, body, timeout)
    assert not (msg.headers or {}).get(ERROR_CODE_HEADER), msg.data
    return json.loads(msg.data)


async def stored(js: JetStreamContext, engine_id: str) -> list[Any]:
    """Every message of the engine's events stream, in order."""
    info = await js.stream_info(events_stream(engine_id))
    msgs = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msgs.append(await js.get_msg(events_stream(engine_id), seq=seq))
        except NotFoundError:
            continue
    return msgs


def kinds(msgs: list[Any]) -> list[str]:
    return [parse_event_subject(m.subject).kind.value for m in msgs]


async def until(check: Callable[[], Any], timeout: float = 10) -> Any:
    """Poll the async ``check`` until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.05)
    return result


async def mapping(js: JetStreamContext, engine_id: str, cid: str) -> bytes | None:
    kv = await js.key_value(client_orders_bucket(engine_id))
    try:
        return (await kv.get(client_order_key(cid))).value or b""
    except KeyNotFoundError:
        return None


@pytest.fixture
def js(nc: NatsClient) -> JetStreamContext:
    return nc.jetstream()


# --------------------------------------------------------------------- the events stream


async def test_every_durable_event_is_stored_once_in_order_with_its_msg_id(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    live: list[Msg] = []

    async def keep(msg: Msg) -> None:
        live.append(msg)

    async def all_six_live() -> bool:
        return len(live) >= 6

    await nc.subscribe(f"wt.{eid}.evt.*.>", cb=keep)
    await nc.flush()
    filled = await ok(nc, eid, Op.SUBMIT, rb(price=RB_UP))
    assert filled["status"] == "ALLTRADED"
    msgs = await stored(js, eid)
    # the reply came after its events were acknowledged: all of them are stored already
    assert kinds(msgs) == ["order", "account", "order", "trade", "position", "account"]
    assert json.loads(msgs[2].data) == filled
    ids = [m.headers[MSG_ID_HEADER] for m in msgs]
    runs = {i.split(":")[0] for i in ids}
    assert len(runs) == 1
    assert [int(i.split(":")[1]) for i in ids] == list(range(1, 7))
    # core subscribers get the very same bytes
    await until(all_six_live)
    assert [(m.subject, m.data) for m in live] == [(m.subject, m.data) for m in msgs]


async def test_the_streams_and_bucket_follow_the_options_and_are_updated_on_restart(
    bridge_factory: Callable[..., Bridge], engine_id: str, js: JetStreamContext
) -> None:
    first = bridge_factory(engine_id, "--event-retention", "3600", "--idempotency-ttl", "90000")
    events = await js.stream_info(events_stream(engine_id))
    assert (events.config.max_age, events.config.storage) == (3600, api.StorageType.FILE)
    assert events.config.subjects == [
        f"wt.{engine_id}.evt.{kind}.>"
        for kind in ("order", "trade", "position", "account", "quote")
    ]
    bucket = await js.stream_info(f"KV_{client_orders_bucket(engine_id)}")
    assert (bucket.config.max_age, bucket.config.max_msgs_per_subject) == (90000, 1)
    ticks = await js.stream_info(ticks_stream(engine_id))
    assert (ticks.config.storage, ticks.config.max_msgs_per_subject) == (
        api.StorageType.MEMORY,
        1,
    )
    first.stop()
    bridge_factory(engine_id, "--event-retention", "7200", "--no-tick-snapshots")
    assert (await js.stream_info(events_stream(engine_id))).config.max_age == 7200
    with pytest.raises(NotFoundError):
        await js.stream_info(ticks_stream(engine_id))


async def test_the_ticks_stream_keeps_the_latest_tick_of_each_subscribed_contract(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    for symbol, exchange in (("IF2512", "CFFEX"), ("BRK.B", "SMART")):
        await ok(nc, eid, Op.SUBSCRIBE, {"symbol": symbol, "exchange": exchange})

    async def two_subjects() -> bool:
        state = (await js.stream_info(ticks_stream(eid))).state
        return state.messages == 2 and state.last_seq > 4  # one per contract, replaced

    await until(two_subjects)
    last = await js.get_last_msg(ticks_stream(eid), f"wt.{eid}.evt.tick.SMART.BRK%2EB")
    assert json.loads(last.data)["vt_symbol"] == "BRK.B.SMART"


async def test_state_queries_carry_the_last_acknowledged_stream_seq(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    filled = await ok(nc, eid, Op.SUBMIT, rb(price=RB_UP))
    last_seq = (await js.stream_info(events_stream(eid))).state.last_seq
    assert last_seq == 6
    for op, body in (
        (Op.ORDERS, b""),
        (Op.POSITIONS, b""),
        (Op.ACCOUNTS, b""),
        (Op.TRADES, b""),
        (Op.TICKS, b""),
        (Op.ORDER, {"vt_orderid": filled["vt_orderid"]}),
    ):
        reply = await call(nc, eid, op, body)
        assert reply.headers == {STREAM_SEQ_HEADER: str(last_seq)}, op
    for op in (Op.INFO, Op.CONTRACTS):
        assert STREAM_SEQ_HEADER not in ((await call(nc, eid, op)).headers or {})


# ------------------------------------------------------------------------- idempotency


async def test_the_same_client_order_id_twice_is_one_order_and_the_retry_is_marked_replayed(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    first = await call(nc, eid, Op.SUBMIT, rb(client_order_id="A-1"))
    placed = json.loads(first.data)
    assert placed["client_order_id"] == "A-1"
    assert first.headers == {"Vt-Orderid": placed["vt_orderid"]}
    await ok(nc, eid, Op.CANCEL, {"vt_orderid": placed["vt_orderid"]})
    again = await call(nc, eid, Op.SUBMIT, rb(client_order_id="A-1", volume=5))
    assert again.headers == {"Vt-Orderid": placed["vt_orderid"], REPLAYED: "1"}
    replayed = json.loads(again.data)
    assert (replayed["vt_orderid"], replayed["volume"]) == (placed["vt_orderid"], 1)
    assert replayed["status"] == "CANCELLED"  # the order as it is now
    other = await ok(nc, eid, Op.SUBMIT, rb(client_order_id="A-2"))
    assert other["vt_orderid"] != placed["vt_orderid"]
    assert [o["client_order_id"] for o in await ok(nc, eid, Op.ORDERS)] == ["A-1", "A-2"]
    assert await until(lambda: mapping(js, eid, "A-1")) == placed["vt_orderid"].encode()


async def test_concurrent_retries_of_one_client_order_id_make_one_order(
    fresh_bridge: Bridge, nc: NatsClient
) -> None:
    eid = fresh_bridge.engine_id
    replies = await asyncio.gather(
        *(call(nc, eid, Op.SUBMIT, rb(client_order_id="burst")) for _ in range(30))
    )
    assert len({r.headers["Vt-Orderid"] for r in replies}) == 1
    assert sum(REPLAYED not in r.headers for r in replies) == 1
    assert len(await ok(nc, eid, Op.ORDERS)) == 1


async def test_a_rejected_order_is_replayed_rejected_and_a_422_reserves_nothing(
    fresh_bridge: Bridge, nc: NatsClient
) -> None:
    eid = fresh_bridge.engine_id
    broke = rb(client_order_id="broke", type="STOP")
    rejected = await ok(nc, eid, Op.SUBMIT, broke)
    assert rejected["status"] == "REJECTED"
    retry = await call(nc, eid, Op.SUBMIT, broke)
    assert retry.headers[REPLAYED] == "1"
    assert json.loads(retry.data) == rejected

    refused = await call(nc, eid, Op.SUBMIT, rb(client_order_id="fixme", price=3500.5))
    assert refused.headers[ERROR_CODE_HEADER] == "422"
    fixed = await call(nc, eid, Op.SUBMIT, rb(client_order_id="fixme"))
    assert REPLAYED not in fixed.headers
    assert json.loads(fixed.data)["status"] == "NOTTRADED"
    assert len(await ok(nc, eid, Op.ORDERS)) == 2


async def test_an_empty_reservation_is_settled_by_asking_the_engine(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    kv = await js.key_value(client_orders_bucket(eid))
    # reserved by an attempt that died before reaching the engine: this one places the order
    await kv.put(client_order_key("early"), b"")
    early = await call(nc, eid, Op.SUBMIT, rb(client_order_id="early"))
    assert REPLAYED not in early.headers
    # placed by an attempt that died before writing its mapping: the engine knows the order
    late = await ok(nc, eid, Op.SUBMIT, rb(client_order_id="late"))
    await until(lambda: mapping(js, eid, "late"))
    await kv.put(client_order_key("late"), b"")
    retry = await call(nc, eid, Op.SUBMIT, rb(client_order_id="late"))
    assert (retry.headers["Vt-Orderid"], retry.headers[REPLAYED]) == (late["vt_orderid"], "1")
    assert len(await ok(nc, eid, Op.ORDERS)) == 2


async def test_an_id_mapped_to_an_order_the_engine_no_longer_knows_is_a_409(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    kv = await js.key_value(client_orders_bucket(eid))
    await kv.put(client_order_key("ghost"), b"SIM.999")  # e.g. older than the events kept
    refused = await call(nc, eid, Op.SUBMIT, rb(client_order_id="ghost"))
    assert refused.headers[ERROR_CODE_HEADER] == "409"
    assert json.loads(refused.data)["field"] == "client_order_id"
    assert await ok(nc, eid, Op.ORDERS) == []


async def test_a_client_order_id_means_the_same_order_after_the_bridge_is_killed(
    bridge_factory: Callable[..., Bridge], engine_id: str, nc: NatsClient, js: JetStreamContext
) -> None:
    first = bridge_factory(engine_id)
    mapped = await ok(nc, engine_id, Op.SUBMIT, rb(client_order_id="k-1"))
    unmapped = await ok(nc, engine_id, Op.SUBMIT, rb(client_order_id="k-2"))
    await until(lambda: mapping(js, engine_id, "k-2"))
    kv = await js.key_value(client_orders_bucket(engine_id))
    await kv.put(client_order_key("k-2"), b"")  # as if killed before the mapping was written
    first.kill()
    bridge_factory(engine_id)
    for cid, order in (("k-1", mapped), ("k-2", unmapped)):
        retry = await call(nc, engine_id, Op.SUBMIT, rb(client_order_id=cid))
        assert (retry.headers["Vt-Orderid"], retry.headers[REPLAYED]) == (order["vt_orderid"], "1")
    assert len(await ok(nc, engine_id, Op.ORDERS)) == 2


# ---------------------------------------------------------------------------- restart


async def test_a_killed_bridge_comes_back_with_its_orders_positions_account_and_trades(
    bridge_factory: Callable[..., Bridge], engine_id: str, nc: NatsClient
) -> None:
    first = bridge_factory(engine_id)
    await ok(nc, engine_id, Op.SUBSCRIBE, {"symbol": "BRK.B", "exchange": "SMART"})
    await ok(nc, engine_id, Op.SUBMIT, rb(price=RB_UP, volume=2))
    stock = {"symbol": "600036", "exchange": "SSE", "direction": "LONG", "type": "LIMIT"}
    await ok(nc, engine_id, Op.SUBMIT, {**stock, "volume": 100, "price": 46.2})
    au = {"symbol": "au2606", "exchange": "SHFE", "direction": "LONG", "type": "LIMIT"}
    resting = await ok(nc, engine_id, Op.SUBMIT, {**au, "volume": 1, "price": AU_DOWN})
    cancelled = await ok(nc, engine_id, Op.SUBMIT, rb())
    await ok(nc, engine_id, Op.CANCEL, {"vt_orderid": cancelled["vt_orderid"]})
    await ok(nc, engine_id, Op.SUBMIT, rb(direction="SHORT", offset="CLOSE", volume=9))  # rejected
    before = {op: await ok(nc, engine_id, op) for op in (Op.ORDERS, Op.TRADES, Op.POSITIONS)}
    [account] = await ok(nc, engine_id, Op.ACCOUNTS)

    first.kill()
    bridge_factory(engine_id)

    for op, answer in before.items():
        assert await ok(nc, engine_id, op) == answer, op
    assert await ok(nc, engine_id, Op.ACCOUNTS) == [account]
    assert [t["vt_symbol"] for t in await ok(nc, engine_id, Op.TICKS)] == ["BRK.B.SMART"]
    # the resting order rests again, with its funds frozen, and can be cancelled
    active = await ok(nc, engine_id, Op.ORDERS, {"active": True})
    assert [o["vt_orderid"] for o in active] == [resting["vt_orderid"]]
    done = await ok(nc, engine_id, Op.CANCEL, {"vt_orderid": resting["vt_orderid"]})
    assert done["status"] == "CANCELLED"
    [after] = await ok(nc, engine_id, Op.ACCOUNTS)
    assert after["frozen"] < account["frozen"]
    # and order ids go on where they stopped
    new = await ok(nc, engine_id, Op.SUBMIT, rb())
    assert new["orderid"] == str(len(before[Op.ORDERS]) + 1)


# ------------------------------------------------------------------- events, whatever happens


async def test_events_after_the_stream_was_deleted_go_to_a_recreated_stream(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    await ok(nc, eid, Op.SUBMIT, rb())
    await js.delete_stream(events_stream(eid))
    placed = await ok(nc, eid, Op.SUBMIT, rb(price=RB_UP))
    msgs = await stored(js, eid)
    assert kinds(msgs) == ["order", "account", "order", "trade", "position", "account"]
    assert json.loads(msgs[2].data) == placed
    assert fresh_bridge.alive()


async def test_a_foreign_message_in_the_events_stream_loses_and_reorders_nothing(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id
    await ok(nc, eid, Op.SUBMIT, rb())
    await nc.publish(f"wt.{eid}.evt.account.INTRUDER", b"{}")
    await nc.flush()
    placed = await ok(nc, eid, Op.SUBMIT, rb(price=RB_UP))
    msgs = await stored(js, eid)
    assert kinds(msgs) == ["order", "account", "account", *kinds(msgs[3:])]
    ours = [m for m in msgs if m.headers and MSG_ID_HEADER in m.headers]
    assert kinds(ours[2:]) == ["order", "account", "order", "trade", "position", "account"]
    assert len({m.headers[MSG_ID_HEADER] for m in ours}) == len(ours) == 8
    assert json.loads(ours[4].data) == placed


async def test_events_are_stored_once_and_in_order_across_a_nats_restart(
    tmp_path: Path, engine_id: str
) -> None:
    server = NatsServer(tmp_path)
    server.start_server()
    bridge = Bridge(server.url, engine_id, tick_rate=20)
    client = None
    try:
        bridge.start_bridge()
        client = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = client.jetstream()
        await ok(client, engine_id, Op.SUBSCRIBE, {"symbol": "m2605", "exchange": "DCE"})
        await ok(client, engine_id, Op.SUBMIT, rb(price=RB_UP))
        server.stop()
        server.start_server()  # same port, same store
        async with asyncio.timeout(20):
            while True:  # a request sent mid-reconnect may be lost: retry with the same id
                try:
                    after = rb(client_order_id="after")
                    placed = await ok(client, engine_id, Op.SUBMIT, after, timeout=1)
                    break
                except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                    await asyncio.sleep(0.2)
        msgs = await stored(js, engine_id)
        fill, rest = (
            ["order", "account", "order", "trade", "position", "account"],
            ["order", "account"],
        )
        assert kinds(msgs) == [*fill, *rest]
        assert json.loads(msgs[-2].data) == placed
        assert len({m.headers[MSG_ID_HEADER] for m in msgs}) == len(msgs)
        # the memory ticks stream, gone with the server, is back and filling again
        await until(lambda: _ticks_stored(js, engine_id))
    finally:
        if client is not None:
            await client.close()
        bridge.stop()
        server.stop()


async def _ticks_stored(js: JetStreamContext, engine_id: str) -> bool:
    try:
        return bool((await js.stream_info(ticks_stream(engine_id))).state.messages)
    except NotFoundError:
        return False


# --------------------------------------------------------------------------- shutdown


async def test_sigterm_answers_in_flight_submits_and_every_answered_order_is_stored(
    fresh_bridge: Bridge, nc: NatsClient, js: JetStreamContext
) -> None:
    eid = fresh_bridge.engine_id

    async def submit(i: int) -> Msg:
        return await call(nc, eid, Op.SUBMIT, rb(client_order_id=f"term-{i}"))

    first = await call(nc, eid, Op.SUBMIT, rb())
    burst = [asyncio.create_task(submit(i)) for i in range(40)]
    await asyncio.wait(burst, return_when=asyncio.FIRST_COMPLETED)  # the bridge is at it
    await nc.flush()  # every request of the burst reached the server before the signal
    assert fresh_bridge.proc is not None
    fresh_bridge.proc.send_signal(signal.SIGTERM)
    replies = [first, *await asyncio.gather(*burst)]  # every one is answered
    assert await asyncio.to_thread(fresh_bridge.proc.wait, 20) == 0
    answered = [json.loads(r.data) for r in replies if ERROR_CODE_HEADER not in (r.headers or {})]
    refused = [r for r in replies if (r.headers or {}).get(ERROR_CODE_HEADER)]
    assert len(answered) >= 2
    assert all(r.headers[ERROR_CODE_HEADER] == "503" for r in refused)
    msgs = await stored(js, eid)
    stored_orders = {json.loads(m.data)["vt_orderid"] for m in msgs if ".evt.order." in m.subject}
    assert {o["vt_orderid"] for o in answered} <= stored_orders


def test_more_replicas_than_the_server_has_is_refused_at_start(
    nats_server: NatsServer, engine_id: str
) -> None:
    argv = ["--engine-id", engine_id, "--nats-url", nats_server.url, "--js-replicas", "3"]
    proc = ManagedProcess("bridge", python_module("engine_bridge", *argv))
    with pytest.raises(RuntimeError, match="exited"):
        proc.start(r"bridge ready")
    assert proc.stop() == 1
    assert "cannot set up JetStream" in proc.output


# ------------------------------------------------------------------ the event log itself


async def test_the_event_log_stores_every_event_once_in_order_across_a_nats_restart(
    tmp_path: Path, engine_id: str
) -> None:
    from engine_bridge.eventlog import DurableLog  # noqa: PLC0415 - in-process, this test only
    from engine_bridge.jetstream import StreamOptions, ensure_layout  # noqa: PLC0415

    server = NatsServer(tmp_path)
    server.start_server()

    async def quiet(exc: Exception) -> None:
        pass  # refused connections while the server is down

    conn = await nats.connect(
        server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, error_cb=quiet
    )
    js = conn.jetstream()
    try:
        last_seq = await ensure_layout(js, engine_id, StreamOptions())
        log = DurableLog(conn, events_stream(engine_id), ack_timeout=0.2)
        await log.start(last_seq)
        subject = f"wt.{engine_id}.evt.account.SIM"
        for i in range(100):
            await log.publish(subject, json.dumps({"i": i}).encode())
        await log.settle()
        restart = asyncio.create_task(asyncio.to_thread(_restart, server))
        for i in range(100, 300):  # sent while the server goes away and comes back
            await log.publish(subject, json.dumps({"i": i}).encode())
            await asyncio.sleep(0.002)
        await restart
        assert await log.settle() == 300
        await log.close()
        msgs = await stored(js, engine_id)
        assert [json.loads(m.data)["i"] for m in msgs] == list(range(300))
        assert len({m.headers[MSG_ID_HEADER] for m in msgs}) == 300
        assert log.recoveries >= 1
    finally:
        await conn.close()
        server.stop()


def _restart(server: NatsServer) -> None:
    server.stop()
    time.sleep(0.5)  # longer than the log's ack timeout: it must recover
    server.start_server()
