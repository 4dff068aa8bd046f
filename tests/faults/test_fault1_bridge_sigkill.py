"""Fault 1: the engine bridge is killed with SIGKILL (a crash) and started again.

REST to that engine answers 503 as soon as NATS knows the bridge is gone (never a hang, never
a 504); /stream clients are told the engine went down and came back; the restarted bridge
serves again without the gateway being restarted, with every order, trade, position and
the account exactly as before the kill (restored from its JetStream events stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import nats.errors
from nats.aio.client import Client as NatsClient

from schemas.subjects import Op, request_subject
from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import poll, rest_client, status_of, stream_client
from tests.support.orders import FILLING, RESTING
from tests.support.processes import Bridge, NatsServer

RESTING_DCE = {**RESTING, "symbol": "m2605", "exchange": "DCE", "price": 2726}
"""Rests at m2605's limit_down; keeps rb2601 (where the position is) from moving."""


async def wait_bridge_gone(nc: NatsClient, engine_id: str) -> None:
    """Until NATS itself answers "no responders" for the engine (it dropped the connection)."""

    async def probe() -> bool:
        try:
            await nc.request(request_subject(engine_id, Op.INFO), b"", timeout=1)
        except nats.errors.NoRespondersError:
            return True
        except nats.errors.TimeoutError:
            return False
        return False

    await poll(probe, bool, "NATS to drop the killed bridge")


async def kill_and_restart(bridge: Bridge, nc: NatsClient, http: httpx.AsyncClient) -> None:
    """SIGKILL, check REST is 503 while it is gone, restart, wait until REST serves it."""
    path = f"/engines/{bridge.engine_id}/account"
    await asyncio.to_thread(bridge.kill)
    await wait_bridge_gone(nc, bridge.engine_id)
    for _ in range(5):
        r = await http.get(path)
        assert r.status_code == 503, r.text
    await asyncio.to_thread(bridge.start_bridge)
    statuses: list[int] = []

    async def probe() -> int:
        statuses.append(await status_of(http, path))
        return statuses[-1]

    await poll(probe, lambda s: s == 200, "the restarted bridge to serve")
    assert set(statuses) <= {503, 200}, statuses


async def test_killed_bridge_answers_503_and_restarted_bridge_serves_without_gateway_restart(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    async with rest_client(gw) as http:
        assert (await http.get(f"/engines/{eid}/account")).status_code == 200
        await kill_and_restart(bridge, nc, http)
        # the vnpy routes (default engine) and the engine list agree
        assert (await http.get("/account")).status_code == 200
        status = await poll(
            lambda: http.get(f"/engines/{eid}"),
            lambda r: r.json()["status"] == "up",
            "the engine listed up again",
        )
        assert status.status_code == 200
    assert gw.alive()


async def test_restarted_bridge_has_its_orders_trades_positions_and_account_intact(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    base = f"/engines/{eid}"
    async with rest_client(gw) as http:
        filled = await http.post(f"{base}/order", json=FILLING)
        assert filled.status_code == 201, filled.text
        resting = (await http.post(f"{base}/order", json=RESTING_DCE)).json()
        cancelled = (await http.post(f"{base}/order", json=RESTING_DCE)).json()
        r = await http.delete(f"{base}/order/{cancelled['vt_orderid']}")
        assert r.status_code == 200, r.text
        before = {
            what: (await http.get(f"{base}/{what}")).json()
            for what in ("order", "trade", "position", "account")
        }
        assert len(before["order"]) == 3
        assert len(before["trade"]) >= 1
        assert any(p["volume"] == 1 for p in before["position"])

        await kill_and_restart(bridge, nc, http)

        for what, expected in before.items():
            r = await http.get(f"{base}/{what}")
            assert r.status_code == 200, r.text
            assert r.json() == expected, what
        # the order that was resting still rests in the book: it can be cancelled
        r = await http.delete(f"{base}/order/{resting['vt_orderid']}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "CANCELLED"
        # order ids continue after the restart, never reused
        after = (await http.post(f"{base}/order", json=RESTING_DCE)).json()
        known = {o["vt_orderid"] for o in before["order"]}
        assert after["vt_orderid"] not in known
        assert int(after["orderid"]) > max(int(o["orderid"]) for o in before["order"])


async def test_stream_clients_are_told_the_engine_went_down_and_came_back(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    async with stream_client(gw) as ws, rest_client(gw) as http:
        await ws.subscribe("orders", engine=eid, topic="order.>")

        def engine_is(status: str) -> Callable[[dict[str, Any]], bool]:
            return lambda f: (
                f.get("type") == "engine" and f.get("engine_id") == eid and f["status"] == status
            )

        await kill_and_restart(bridge, nc, http)
        down = await ws.wait_for(engine_is("down"), "an engine down event")
        up = await ws.wait_for(engine_is("up"), "an engine up event")
        assert ws.frames.index(down) < ws.frames.index(up)
        assert not ws.closed
        # the subscription made before the crash delivers the restarted engine's orders
        placed = (await http.post(f"/engines/{eid}/order", json=RESTING)).json()
        await ws.wait_for(
            lambda f: any(
                e["data"].get("vt_orderid") == placed["vt_orderid"] for e in f.get("events", [])
            ),
            "the new order's event",
        )
