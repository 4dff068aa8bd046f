"""Fault 7: SIGTERM to any process — in-flight requests finish, JetStream publishes are
flushed, the process exits 0.

* bridge: every submit already delivered to it when SIGTERM arrives is answered, and every
  order it answered has its events in the engine's events stream;
* gateway: an HTTP request waiting on an engine when SIGTERM arrives gets its answer;
* nats-server: exits 0 and, started again on the same store, still holds every event the
  bridge had acknowledged (the bridge reconnects and goes on serving).
"""

from __future__ import annotations

import asyncio
import json
import signal

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas.codec import encode
from schemas.errors import ERROR_CODE_HEADER
from schemas.messages import EngineInfo
from schemas.subjects import Op, request_subject
from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import RESTING, WAIT, poll, rest_client, stream_events
from tests.support.processes import ManagedProcess, NatsServer

IN_FLIGHT = 50


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


async def test_sigterm_bridge_answers_every_delivered_request_and_exits_0(
    broker: NatsServer, nc: NatsClient, bridges: BridgeFactory, eid: str
) -> None:
    bridge = bridges(broker.url, eid)
    replies = await submit_burst(nc, eid, IN_FLIGHT)
    assert bridge.proc is not None
    bridge.proc.send_signal(signal.SIGTERM)
    got = await collect(replies, IN_FLIGHT)
    assert all(not (m.headers or {}).get(ERROR_CODE_HEADER) for m in got)
    assert len({json.loads(m.data)["vt_orderid"] for m in got}) == IN_FLIGHT
    assert await exit_code(bridge) == 0, bridge.output


async def test_sigterm_bridge_flushes_the_events_of_every_answered_order_to_its_stream(
    broker: NatsServer, nc: NatsClient, bridges: BridgeFactory, eid: str
) -> None:
    bridge = bridges(broker.url, eid)
    replies = await submit_burst(nc, eid, IN_FLIGHT)
    assert bridge.proc is not None
    bridge.proc.send_signal(signal.SIGTERM)
    answered = {json.loads(m.data)["vt_orderid"] for m in await collect(replies, IN_FLIGHT)}
    assert await exit_code(bridge) == 0, bridge.output
    stored = await stream_events(nc, eid)
    ordered = {
        json.loads(data)["vt_orderid"]
        for subject, data in stored.values()
        if ".evt.order." in subject
    }
    assert answered <= ordered, sorted(answered - ordered)[:10]


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
