"""Idempotent ``POST /order``: a ``client_order_id`` (or ``Idempotency-Key``) is one order.

A retry with the same id on the same engine answers the order placed the first time and
creates nothing; a submit the engine never answered is a 504 naming the id to retry with.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from schemas.codec import encode
from schemas.messages import EngineInfo
from tests.support.orders import RESTING
from tests.support.processes import Bridge, Gateway, NatsServer


def new_id() -> str:
    """A fresh client order id."""
    return "co-" + uuid.uuid4().hex


async def orders_of(client: httpx.AsyncClient, base: str, client_order_id: str) -> list[Any]:
    """The engine's orders carrying ``client_order_id``."""
    r = await client.get(f"{base}/order")
    assert r.status_code == 200, r.text
    return [o for o in r.json() if o["client_order_id"] == client_order_id]


async def test_same_client_order_id_twice_is_one_order(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    cid = new_id()
    first = await client.post(f"{base}/order", json={**RESTING, "client_order_id": cid})
    assert first.status_code == 201, first.text
    assert "wt-replayed" not in first.headers
    retry = await client.post(f"{base}/order", json={**RESTING, "client_order_id": cid})
    assert retry.status_code == 200, retry.text  # nothing created
    assert retry.headers["wt-replayed"] == "1"
    assert retry.json()["vt_orderid"] == first.json()["vt_orderid"]
    assert retry.headers["location"] == first.headers["location"]
    assert first.json()["client_order_id"] == cid
    assert len(await orders_of(client, base, cid)) == 1
    other = await client.post(f"{base}/order", json={**RESTING, "client_order_id": new_id()})
    assert other.status_code == 201, other.text
    assert other.json()["vt_orderid"] != first.json()["vt_orderid"]


async def test_idempotency_key_header_is_an_alias_on_the_vnpy_route(
    client: httpx.AsyncClient,
) -> None:
    cid = new_id()
    headers = {"Idempotency-Key": cid}
    first = await client.post("/order", json=RESTING, headers=headers)
    assert first.status_code == 200, first.text
    retry = await client.post("/order", json={**RESTING, "client_order_id": cid})
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()  # the same vt_orderid string
    assert retry.headers["wt-replayed"] == "1"
    again = await client.post("/order", json={**RESTING, "client_order_id": cid}, headers=headers)
    assert again.json() == first.json()
    assert len(await orders_of(client, "", cid)) == 1


async def test_concurrent_retries_of_one_client_order_id_are_one_order(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    cid = new_id()
    replies = await asyncio.gather(
        *(client.post(f"{base}/order", json={**RESTING, "client_order_id": cid}) for _ in range(20))
    )
    assert sorted(r.status_code for r in replies) == [200] * 19 + [201]
    assert len({r.json()["vt_orderid"] for r in replies}) == 1
    assert len(await orders_of(client, base, cid)) == 1


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"client_order_id": "a"}, {"Idempotency-Key": "b"}, "client_order_id"),
        ({"client_order_id": "has space"}, {}, "client_order_id"),
        ({"client_order_id": "x" * 65}, {}, "client_order_id"),
        ({}, {"Idempotency-Key": "x" * 65}, "Idempotency-Key"),
        ({}, {"Idempotency-Key": "has space"}, "Idempotency-Key"),
    ],
)
async def test_bad_or_conflicting_ids_are_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str], field: str
) -> None:
    for path in ("/order", "/engines/sim/order"):
        r = await client.post(path, json={**RESTING, **body}, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["field"].lower() == field.lower(), r.json()


async def test_same_id_as_body_and_header_is_accepted(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    cid = new_id()
    r = await client.post(
        f"/engines/{fresh_bridge.engine_id}/order",
        json={**RESTING, "client_order_id": cid},
        headers={"Idempotency-Key": cid},
    )
    assert r.status_code == 201, r.text
    assert r.json()["client_order_id"] == cid


# --- timeouts: an engine that receives the submit and never answers ---------------------


@pytest.fixture
async def silent_engine(module_nats: NatsServer) -> AsyncIterator[Client]:
    """Engine ``silent``: answers ``info``, receives ``submit`` and never replies."""
    nc = await nats.connect(module_nats.url, name="silent-engine")
    info = encode(EngineInfo(engine_id="silent", engine="fake", version="0", gateway_name="F"))

    async def on_info(msg: Msg) -> None:
        await msg.respond(info)

    async def swallow(msg: Msg) -> None:
        """Receive and never answer."""

    await nc.subscribe("wt.silent.req.info", cb=on_info)
    await nc.subscribe("wt.silent.req.submit", cb=swallow)
    await nc.flush()
    yield nc
    if not nc.is_closed:
        await nc.drain()


@pytest.fixture
async def quick_client(quick_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated client of the quick gateway."""
    async with httpx.AsyncClient(base_url=quick_gateway.url, timeout=10) as c:
        r = await c.post("/token", data={"username": "vnpy", "password": "vnpy"})
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


async def test_unanswered_submit_is_504_naming_the_id_to_retry_with(
    quick_client: httpx.AsyncClient, silent_engine: Client
) -> None:
    cid = new_id()
    r = await quick_client.post("/engines/silent/order", json={**RESTING, "client_order_id": cid})
    assert r.status_code == 504, r.text
    body = r.json()
    assert body["client_order_id"] == cid
    assert "unknown" in body["detail"]
    assert "retry with the same client_order_id" in body["detail"]
    r = await quick_client.post("/engines/silent/order", json=RESTING)
    assert r.status_code == 504, r.text
    assert r.json()["client_order_id"] is None
    assert "list the orders" in r.json()["detail"]


async def test_submit_to_an_engine_that_is_gone_is_503_at_once(
    quick_client: httpx.AsyncClient, silent_engine: Client
) -> None:
    assert (await quick_client.get("/engines/silent")).status_code == 200  # known
    await silent_engine.drain()  # the engine leaves: nobody listens any more
    r = await quick_client.post("/engines/silent/order", json={**RESTING, "client_order_id": "x"})
    assert r.status_code == 503, r.text
