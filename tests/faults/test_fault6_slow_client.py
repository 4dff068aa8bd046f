"""Fault 6: a /stream client that stops reading.

Its socket buffers fill and its own writer blocks; its ticks are conflated in a bounded
outbox. Meanwhile the other clients keep receiving: every order event reaches them, ticks
keep flowing, the gateway's NATS subscriptions never overflow (``dropped`` stays 0), and
the gateway's memory stops growing however long the stalled client stays. (The delivery
latency with and without a stalled client is measured by ``benchmarks/recovery.py``.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import (
    WAIT,
    StreamClient,
    assert_no_gap_no_dup,
    rest_client,
    rss_kib,
    stream_client,
    stream_events,
)
from tests.support.orders import RESTING
from tests.support.processes import NatsServer
from tests.support.ws import close_draining, login, open_ws, small_buffer_socket, ws_url

AMPLIFY = 40
"""Overlapping tick subscriptions of the stalled client (each tick delivered once per sub)."""
CONTRACTS = ("rb2601.SHFE", "au2606.SHFE", "IF2512.CFFEX")
ORDERS = 100
PHASE_TICKS = 2000
"""Ticks a healthy client receives per measured phase."""
QUEUE_LIMIT = 1000
"""--ws-queue-limit of the gateway in the 1013 test."""
STALL_ORDERS = 600
"""Orders placed while the client is stalled: 600 x AMPLIFY order events, far past the bound."""
GROWTH_LIMIT_KIB = 16 * 1024
"""Most the gateway's RSS may grow while the stalled client stays (measured: < 1 MiB)."""


def tick_count(client: StreamClient) -> int:
    """Ticks a client received so far."""
    return sum(1 for e in client.events() if ".evt.tick." in e["subject"])


async def wait_ticks(clients: list[StreamClient], more: int) -> None:
    """Until each client received ``more`` ticks beyond what it has now."""
    targets = [tick_count(c) + more for c in clients]
    for client, target in zip(clients, targets, strict=True):
        await client.wait_for(has_ticks(client, target), f"{more} ticks")


def has_ticks(client: StreamClient, count: int) -> Callable[[dict[str, Any]], bool]:
    """A ``wait_for`` predicate: the client has received ``count`` ticks."""
    return lambda _: tick_count(client) >= count


def has_orders(client: StreamClient, ids: set[str]) -> Callable[[dict[str, Any]], bool]:
    """A ``wait_for`` predicate: the client has received an event of each order."""
    return lambda _: order_ids_seen(client) >= ids


def order_ids_seen(client: StreamClient) -> set[str]:
    """``vt_orderid`` of every order event a client received."""
    return {e["data"]["vt_orderid"] for e in client.events() if ".evt.order." in e["subject"]}


async def test_stalled_reader_leaves_others_served_and_gateway_memory_bounded(
    broker: NatsServer, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    bridges(broker.url, eid, tick_rate=200)
    gw = gateways(broker.url, eid)
    token = await login(gw)
    sock = small_buffer_socket(gw)
    async with (
        open_ws(ws_url(gw, "/stream", token), sock=sock, max_queue=1) as stalled,
        stream_client(gw) as healthy_a,
        stream_client(gw) as healthy_b,
        rest_client(gw) as http,
    ):
        acks: list[Any] = []
        topics = ["tick.>"] * AMPLIFY + ["order.>"]
        for n, topic in enumerate(topics):
            op = {"op": "subscribe", "id": n, "engine": eid, "topic": topic}
            await stalled.send(json.dumps(op))
        while len(acks) < len(topics):  # read the acks, then never read again
            frame = json.loads(await asyncio.wait_for(stalled.recv(), 20))
            if frame.get("type") in ("ack", "error"):
                assert frame["type"] == "ack", frame
                acks.append(frame)
        healthy = [healthy_a, healthy_b]
        for client in healthy:
            await client.subscribe("t", engine=eid, topic="tick.>")
            await client.subscribe("o", engine=eid, topic="order.>")
        for vt_symbol in CONTRACTS:
            assert (await http.post(f"/engines/{eid}/tick/{vt_symbol}")).status_code == 200

        await wait_ticks(healthy, PHASE_TICKS)  # the stalled socket is full long before this
        rss_start = rss_kib(gw.pid)

        placed: set[str] = set()
        for _ in range(ORDERS // 10):
            replies = await asyncio.gather(
                *(http.post(f"/engines/{eid}/order", json=RESTING) for _ in range(10))
            )
            assert all(r.status_code == 201 for r in replies), replies[0].text
            placed.update(r.json()["vt_orderid"] for r in replies)
        for client in healthy:
            await client.wait_for(has_orders(client, placed), "every order")
        await wait_ticks(healthy, PHASE_TICKS)
        rss_first = rss_kib(gw.pid)
        await wait_ticks(healthy, PHASE_TICKS)
        rss_second = rss_kib(gw.pid)

        assert rss_second - rss_start < GROWTH_LIMIT_KIB, (rss_start, rss_first, rss_second)
        stats = (await http.get("/stream/stats")).json()
        assert stats["dropped"] == 0, stats
        assert stats["sessions"] == 3, stats  # the stalled client was never cut off
        assert not any(c.closed for c in healthy)
        print(f"gateway RSS KiB: {rss_start} -> {rss_first} -> {rss_second}")
        await close_draining(stalled)


async def read_until_closed(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    """Read every event still buffered for ``ws`` into ``into``, until it closes."""
    async with asyncio.timeout(WAIT):
        while True:
            frame = json.loads(await ws.recv())
            into.extend(frame.get("events", []))


async def test_stalled_client_past_its_bound_is_closed_1013_and_resumes_without_gap(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridges(broker.url, eid)
    gw = gateways(broker.url, eid, "--ws-queue-limit", str(QUEUE_LIMIT))
    token = await login(gw)
    sock = small_buffer_socket(gw)
    async with (
        open_ws(ws_url(gw, "/stream", token), sock=sock, max_queue=1) as stalled,
        rest_client(gw) as http,
    ):
        first_sub = ""
        for n in range(AMPLIFY):
            op = {"op": "subscribe", "id": n, "engine": eid, "topic": "order.>"}
            await stalled.send(json.dumps(op))
            while True:
                frame = json.loads(await asyncio.wait_for(stalled.recv(), 20))
                if frame.get("id") == n:
                    assert frame["type"] == "ack", frame
                    first_sub = first_sub or frame["sub"]
                    break
        # no longer read: its backlog of order events (never conflated) passes the bound
        for _ in range(STALL_ORDERS // 10):
            replies = await asyncio.gather(
                *(http.post(f"/engines/{eid}/order", json=RESTING) for _ in range(10))
            )
            assert all(r.status_code == 201 for r in replies), replies[0].text
        received: list[dict[str, Any]] = []
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(stalled, received)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013, closed.value.rcvd
    # what it got of its first subscription, in order, then resume from the last seq
    seqs = [int(e["seq"]) for e in received if e["sub"] == first_sub]
    assert seqs == sorted(set(seqs))
    last = max(seqs, default=0)
    stored = await stream_events(nc, eid)
    top = max(seq for seq, (subject, _) in stored.items() if ".evt.order." in subject)
    async with stream_client(gw) as again:
        await again.subscribe("o", engine=eid, topic="order.>", resume_from=last)
        await again.wait_seq(top, "the resumed order events")
        assert_no_gap_no_dup(again.seq_events(), stored, after=last, kind="order")
