"""Fairness: a client that stops reading never slows the others, and is cut off (1013) once
its non-tick backlog passes ``--ws-queue-limit``; ticks are conflated instead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

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
    small_buffer_socket,
    subscribe,
    ws_url,
)

QUEUE_LIMIT = 1000
AMPLIFY = 40
"""Overlapping subscriptions of the paused client (each event is delivered once per sub)."""
ORDERS = 600
TICKING = ("rb2601.SHFE", "au2606.SHFE", "IF2512.CFFEX")


@pytest.fixture(scope="module")
def tight_gateway(nats_server: NatsServer, sim_bridge: Bridge) -> Iterator[Gateway]:
    """A gateway that lets a client fall only QUEUE_LIMIT non-tick events behind."""
    gw = Gateway(nats_server.url, "sim", "--demo", "--ws-queue-limit", str(QUEUE_LIMIT))
    gw.start_gateway()
    yield gw
    gw.stop()


@pytest.fixture
async def tight_client(tight_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """REST client of the tight gateway."""
    token = await login(tight_gateway)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=tight_gateway.url, headers=headers, timeout=20) as c:
        yield c


async def count_events(ws: ClientConnection, at_least: int) -> int:
    """Read until ``at_least`` events arrived; return how many did."""
    n = 0
    while n < at_least:
        n += len(events_of(await recv_json(ws)))
    return n


async def submit_resting_orders(rest: httpx.AsyncClient, engine_id: str, count: int) -> None:
    """Submit ``count`` buy orders below the market (they rest), ten at a time."""
    order = {
        "symbol": "600036",
        "exchange": "SSE",
        "direction": "LONG",
        "type": "LIMIT",
        "offset": "OPEN",
        "volume": 100,
        "price": 40,
    }
    path = f"/engines/{engine_id}/order"
    for _ in range(count // 10):
        replies = await asyncio.gather(*(rest.post(path, json=order) for _ in range(10)))
        assert all(r.status_code == 201 for r in replies), replies[0].text


async def test_paused_reader_does_not_hold_back_healthy_clients(
    gateway: Gateway,
    token: str,
    client: httpx.AsyncClient,
    bridge_factory: Callable[..., Bridge],
    engine_id: str,
) -> None:
    await asyncio.to_thread(bridge_factory, engine_id, tick_rate=500)
    url = ws_url(gateway, "/stream", token)
    sock = small_buffer_socket(gateway)
    async with (
        open_ws(url, sock=sock, max_queue=1) as paused,
        open_ws(url) as healthy_a,
        open_ws(url) as healthy_b,
    ):
        # the paused client asks for every tick AMPLIFY times: its socket fills fast
        for n in range(AMPLIFY):
            await subscribe(paused, f"ticks-{n}", engine=engine_id, topic="tick.>")
        for ws in (healthy_a, healthy_b):
            await subscribe(ws, "ticks", engine=engine_id, topic="tick.>")
        for vt_symbol in TICKING:  # 3 contracts x 500 ticks/s
            r = await client.post(f"/engines/{engine_id}/tick/{vt_symbol}")
            assert r.status_code == 200
        # from here on `paused` is not read: its socket buffers fill, its writer blocks
        got = await asyncio.gather(count_events(healthy_a, 3000), count_events(healthy_b, 3000))
        assert min(got) >= 3000
        assert (await client.get(f"/engines/{engine_id}")).status_code == 200
        # the paused client was held back and its ticks conflated, yet it was never cut off
        await send_op(paused, op="ping", id="back")
        seen: list[Any] = []
        assert (await reply_to(paused, "back", seen=seen))["type"] == "pong"
        first_sub = sum(1 for f in seen for e in events_of(f) if e["sub"] == "s1")
        assert first_sub < min(got)
        for ws in (paused, healthy_a, healthy_b):
            await close_draining(ws)


async def test_order_backlog_past_the_limit_closes_the_client_with_1013(
    tight_gateway: Gateway,
    tight_client: httpx.AsyncClient,
    bridge_factory: Callable[..., Bridge],
    engine_id: str,
) -> None:
    await asyncio.to_thread(bridge_factory, engine_id)
    token = await login(tight_gateway)
    url = ws_url(tight_gateway, "/stream", token)
    sock = small_buffer_socket(tight_gateway)
    async with open_ws(url, sock=sock, max_queue=1) as paused, open_ws(url) as healthy:
        welcome = await recv_json(paused)
        assert welcome["queue_limit"] == QUEUE_LIMIT
        # every order event reaches each client AMPLIFY times (once per subscription), so
        # the few MB of socket buffers in front of the paused client fill within some
        # hundred orders; the healthy one proves such a load alone does not overflow
        for n in range(AMPLIFY):
            for ws in (paused, healthy):
                await subscribe(ws, f"orders-{n}", engine=engine_id, topic="order.>")
        # `paused` is no longer read; orders pile up in its bounded outbox, while `healthy`
        # is read throughout
        seen_orders: set[str] = set()

        def all_orders(frame: Any) -> bool:
            seen_orders.update(e["data"]["vt_orderid"] for e in events_of(frame))
            return len(seen_orders) >= ORDERS

        reader = asyncio.ensure_future(recv_until(healthy, all_orders, timeout=60))
        try:
            await submit_resting_orders(tight_client, engine_id, ORDERS)
            with pytest.raises(ConnectionClosed) as closed:
                await recv_until(paused, lambda f: False)
            # the healthy client saw every order
            await reader
        finally:
            reader.cancel()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
        assert closed.value.rcvd.reason == f"too slow: {QUEUE_LIMIT + 1} events backlog"
        # and the gateway still serves it
        await send_op(healthy, op="ping", id="after")
        assert (await reply_to(healthy, "after"))["type"] == "pong"
