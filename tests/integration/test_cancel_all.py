"""``DELETE /order``: cancel every active order of an engine, optionally of one contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support.orders import FILLING, RESTING
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import login

RESTING_DCE = {**RESTING, "symbol": "m2605", "exchange": "DCE", "price": 2726}
"""Rests at m2605's ``limit_down``."""


async def place(client: httpx.AsyncClient, base: str, order: dict[str, Any]) -> Any:
    """Submit through the engine route; the order as accepted."""
    r = await client.post(f"{base}/order", json=order)
    assert r.status_code == 201, r.text
    return r.json()


async def test_cancel_all_cancels_every_active_order_and_returns_them(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    resting = [await place(client, base, o) for o in (RESTING, RESTING, RESTING_DCE)]
    filled = await place(client, base, FILLING)
    assert filled["status"] == "ALLTRADED"
    r = await client.delete(f"{base}/order")
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert sorted(o["vt_orderid"] for o in cancelled) == sorted(o["vt_orderid"] for o in resting)
    assert {o["status"] for o in cancelled} == {"CANCELLED"}
    assert (await client.get(f"{base}/order", params={"active": "true"})).json() == []
    orders = {o["vt_orderid"]: o for o in (await client.get(f"{base}/order")).json()}
    assert orders[filled["vt_orderid"]]["status"] == "ALLTRADED"  # untouched
    again = await client.delete(f"{base}/order")
    assert (again.status_code, again.json()) == (200, [])  # nothing active: nothing to do


async def test_cancel_all_of_one_contract_leaves_the_others(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    shfe = await place(client, base, RESTING)
    dce = await place(client, base, RESTING_DCE)
    r = await client.delete(f"{base}/order", params={"vt_symbol": "rb2601.SHFE"})
    assert r.status_code == 200, r.text
    assert [o["vt_orderid"] for o in r.json()] == [shfe["vt_orderid"]]
    active = (await client.get(f"{base}/order", params={"active": "true"})).json()
    assert [o["vt_orderid"] for o in active] == [dce["vt_orderid"]]


async def test_cancel_all_of_an_unknown_or_stopped_engine(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    assert (await client.delete("/engines/no-such-engine/order")).status_code == 404
    base = f"/engines/{fresh_bridge.engine_id}"
    assert (await client.delete(f"{base}/order")).status_code == 200
    await asyncio.to_thread(fresh_bridge.stop)
    r = await client.delete(f"{base}/order")
    assert r.status_code == 503, r.text


@pytest.fixture(scope="module")
def own_default_gateway(nats_server: NatsServer) -> Iterator[tuple[Gateway, Bridge]]:
    """A gateway whose default engine is a bridge of its own (the vnpy routes address it)."""
    engine_id = "c" + uuid.uuid4().hex[:10]
    bridge = Bridge(nats_server.url, engine_id)
    bridge.start_bridge()
    gw = Gateway(nats_server.url, engine_id, "--demo")
    gw.start_gateway()
    yield gw, bridge
    gw.stop()
    bridge.stop()


@pytest.fixture
async def vnpy_client(
    own_default_gateway: tuple[Gateway, Bridge],
) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated client of that gateway."""
    gw, _ = own_default_gateway
    headers = {"Authorization": f"Bearer {await login(gw)}"}
    async with httpx.AsyncClient(base_url=gw.url, headers=headers, timeout=10) as c:
        yield c


async def test_vnpy_route_cancels_all_on_the_default_engine(
    vnpy_client: httpx.AsyncClient, own_default_gateway: tuple[Gateway, Bridge]
) -> None:
    ids = []
    for _ in range(2):
        r = await vnpy_client.post("/order", json=RESTING)
        assert r.status_code == 200, r.text
        ids.append(r.json())
    r = await vnpy_client.delete("/order")
    assert r.status_code == 200, r.text
    assert sorted(o["vt_orderid"] for o in r.json()) == sorted(ids)
    _, bridge = own_default_gateway
    same = await vnpy_client.get(f"/engines/{bridge.engine_id}/order", params={"active": "true"})
    assert same.json() == []
