"""Fault 5: 100 retries of one ``client_order_id``, concurrent and spread over a bridge
restart (SIGKILL, then start again), place exactly one order.

Each of the 100 clients POSTs the same order with the same ``client_order_id`` and retries
(same id) until it gets an answer: a third start before the kill, all at once; a third
while the bridge is being killed; a third while it starts again. Every answer names the
same order, and the engine holds that one order and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import WAIT, rest_client
from tests.support.orders import RESTING
from tests.support.processes import NatsServer

RETRIES = 100
CID = "one-order-many-retries"


async def place_until_answered(http: httpx.AsyncClient, path: str) -> str:
    """POST the order until the engine answers (503/504: retry with the same id)."""
    deadline = asyncio.get_running_loop().time() + 2 * WAIT
    while True:
        try:
            r = await http.post(path, json={**RESTING, "client_order_id": CID})
        except httpx.TransportError:
            r = None
        if r is not None and r.status_code in (200, 201):
            return str(r.json()["vt_orderid"])
        assert r is None or r.status_code in (503, 504), r.text
        assert asyncio.get_running_loop().time() < deadline, "never answered"
        await asyncio.sleep(0.1)


async def test_100_retries_of_one_client_order_id_over_a_bridge_restart_place_one_order(
    broker: NatsServer, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid, "--request-timeout", "2")
    path = f"/engines/{eid}/order"
    third = RETRIES // 3
    async with rest_client(gw) as http:

        def wave(n: int) -> list[asyncio.Future[str]]:
            return [asyncio.ensure_future(place_until_answered(http, path)) for _ in range(n)]

        async def during(action: Callable[[], None], n: int) -> list[asyncio.Future[str]]:
            started = wave(n)
            await asyncio.to_thread(action)
            return started

        answers = wave(third)
        answers += await during(bridge.kill, third)
        answers += await during(bridge.start_bridge, RETRIES - 2 * third)
        got = await asyncio.gather(*answers)

        assert len(got) == RETRIES
        assert len(set(got)) == 1, sorted(set(got))
        orders = (await http.get(path)).json()
    assert [o["vt_orderid"] for o in orders] == [got[0]]
    assert orders[0]["client_order_id"] == CID
