"""Fault 7: SIGTERM to any process — in-flight requests finish, JetStream publishes are
flushed, the process exits 0.

* bridge: the submit in flight when SIGTERM arrives is finished (its events acknowledged
  by JetStream, then its reply); those queued behind it are refused with 503 and not placed;
  the events stream holds exactly the orders answered as placed;
* gateway: an HTTP request waiting on an engine when SIGTERM arrives gets its answer;
* nats-server: exits 0 and, started again on the same store, still holds every event the
  bridge had acknowledged (the bridge reconnects and goes on serving).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas.codec import encode
from schemas.errors import ERROR_CODE_HEADER
from schemas.messages import EngineInfo
from schemas.subjects import Op, request_subject
from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import WAIT, first_order_event, poll, rest_client, stream_events
from tests.support.orders import RESTING
from tests.support.processes import ManagedProcess, NatsServer

BURST = 500
"""Submits sent at once; the bridge handles them one after another."""


async def exit_code(process: ManagedProcess) -> int:
    """Wait (in a thread) for a process already signalled to exit; its exit code."""
    assert process.proc is not None
    return await asyncio.to_thread(process.proc.wait, WAIT)


async def submit_burst(nc: NatsClient, engine_id: str, count: int) -> asyncio.Queue[Msg]:
    """Publish ``count`` submits, all on the server before this returns; replies queue up."""
    replies: asyncio.Queue[Msg] = asyncio.Queue()
    inbox = nc.new_inbox()
    await nc.subscribe(f"{inbox}.*", cb=replies.put)
    payload = json.dumps(RESTING).encode()
    for n in range(count):
        await nc.publish(request_subject(engine_id, Op.SUBMIT), payload, reply=f"{inbox}.{n}")
    await nc.flush()  # the server has them: delivered to the bridge before it gets SIGTERM
    return replies


async def collect(replies: asyncio.Queue[Msg], count: int) -> list[Msg]:
    """``count`` replies (fails after WAIT seconds without one)."""
    return [await asyncio.wait_for(replies.get(), WAIT) for _ in range(count)]


def drained(replies: asyncio.Queue[Msg]) -> list[Msg]:
    """The replies already received."""
    got = []
    while not replies.empty():
        got.append(replies.get_nowait())
    return got


def placed(msg: Msg) -> bool:
    """A submit reply saying the order was placed (else it must be the stop refusal)."""
    code = (msg.headers or {}).get(ERROR_CODE_HEADER)
    if code is None:
        return True
    assert code == "503", (code, msg.data)
    assert b"stopping" in msg.data, msg.data
    return False


async def test_sigterm_bridge_finishes_the_request_in_flight_flushes_its_events_and_exits_0(
    broker: NatsServer, nc: NatsClient, bridges: BridgeFactory, eid: str
) -> None:
    """The broker is frozen (SIGSTOP) while the bridge works through a burst of submits, so
    one submit is in flight — placed, its events not yet acknowledged — when SIGTERM lands.
    That one finishes once the broker thaws; the requests queued behind it are refused
    with 503 (not placed); every order answered as placed is in the events stream, and no
    other order is."""
    bridge = bridges(broker.url, eid)
    working = await first_order_event(nc, eid)
    replies = await submit_burst(nc, eid, BURST)
    await asyncio.wait_for(working, WAIT)
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        before = drained(replies)
        assert len(before) < BURST, "the burst was over before the broker froze"
        assert bridge.proc is not None
        bridge.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(bridge.wait_for, r"engine_bridge: stopping", WAIT)
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    after = await collect(replies, BURST - len(before))
    assert all(placed(m) for m in before)
    assert placed(after[0]), "the request in flight at SIGTERM was not finished"
    assert await exit_code(bridge) == 0, bridge.output

    answered = {json.loads(m.data)["vt_orderid"] for m in before + after if placed(m)}
    stored = await stream_events(nc, eid)
    in_stream = {
        json.loads(data)["vt_orderid"]
        for subject, data in stored.values()
        if ".evt.order." in subject
    }
    assert in_stream == answered, (sorted(answered - in_stream), sorted(in_stream - answered))


async def test_sigterm_gateway_finishes_a_request_in_flight_and_exits_0(
    broker: NatsServer, gateways: GatewayFactory
) -> None:
    """The engine here is a plain NATS client that answers only once the test lets it."""
    gw = gateways(broker.url, "slow")
    received = asyncio.Event()
    release = asyncio.Event()
    engine = await nats.connect(broker.url, name="slow-engine")
    info = encode(EngineInfo(engine_id="slow", engine="fake", version="0", gateway_name="S"))

    async def on_info(msg: Msg) -> None:
        await msg.respond(info)

    async def on_accounts(msg: Msg) -> None:
        received.set()
        await release.wait()
        await msg.respond(b"[]")

    try:
        await engine.subscribe(request_subject("slow", Op.INFO), cb=on_info)
        await engine.subscribe(request_subject("slow", Op.ACCOUNTS), cb=on_accounts)
        await engine.flush()
        async with rest_client(gw) as http:
            pending = asyncio.ensure_future(http.get("/account"))
            await asyncio.wait_for(received.wait(), WAIT)
            assert gw.proc is not None
            gw.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(gw.wait_for, r"[Ss]hutting down|[Ww]aiting for", WAIT)
            release.set()
            r = await pending
            assert r.status_code == 200, r.text
            assert r.content == b"[]"
        assert await exit_code(gw) == 0, gw.output
    finally:
        await engine.close()


async def test_sigterm_nats_server_exits_0_and_keeps_every_acknowledged_event(
    broker: NatsServer,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    async with rest_client(gw) as http:
        placed = []
        for _ in range(10):
            r = await http.post(f"/engines/{eid}/order", json=RESTING)
            assert r.status_code == 201, r.text
            placed.append(r.json()["vt_orderid"])

        assert await asyncio.to_thread(broker.stop, signal.SIGTERM) == 0, broker.output
        await asyncio.to_thread(broker.start_server)

        async with await nats.connect(broker.url, name="fault-check") as nc:
            stored = await stream_events(nc, eid)
        ordered = {
            json.loads(data)["vt_orderid"]
            for subject, data in stored.values()
            if ".evt.order." in subject
        }
        assert set(placed) <= ordered
        # and the bridge, never restarted, serves again with the same orders
        r = await poll(
            lambda: http.get(f"/engines/{eid}/order"),
            lambda r: r.status_code == 200,
            "the bridge serving again",
        )
        assert [o["vt_orderid"] for o in r.json()] == placed
    assert bridge.alive()
