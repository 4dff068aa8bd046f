"""Fault 2: nats-server is stopped and started again (same port, same JetStream store).

Gateway and bridge reconnect by themselves (same PIDs, nothing restarted); REST answers 503
during the outage and never hangs; service comes back once NATS is back. /stream clients
stay connected, are told about the outage, and miss no order/trade/position/account event:
one that stayed connected sees every event exactly once, one that left resumes from its
last ``seq`` without gap or duplicate. Orders cut off by a crash of nats-server and retried
with their ``client_order_id`` are each placed once.
"""

from __future__ import annotations

import asyncio
import functools

import httpx
from nats.aio.client import Client as NatsClient

from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import (
    CUT_OFF,
    WAIT,
    assert_no_gap_no_dup,
    first_order_event,
    poll,
    post_order,
    rest_client,
    status_of,
    stream_client,
    stream_events,
)
from tests.support.orders import FILLING, RESTING
from tests.support.processes import NatsServer


async def outage_statuses(http: httpx.AsyncClient, path: str) -> list[int]:
    """Statuses of REST calls while NATS is down, until five 503s in a row."""
    statuses: list[int] = []

    async def probe() -> list[int]:
        statuses.append(await status_of(http, path))
        return statuses[-5:]

    await poll(probe, lambda last: last == [503] * 5, "five 503s in a row during the outage")
    return statuses


async def wait_served(http: httpx.AsyncClient, path: str) -> list[int]:
    """Statuses of REST calls after NATS is back, until one is 200."""
    statuses: list[int] = []

    async def probe() -> int:
        statuses.append(await status_of(http, path))
        return statuses[-1]

    await poll(probe, lambda s: s == 200, "service back after NATS returned")
    return statuses


async def test_nats_restart_rest_is_503_meanwhile_and_service_returns_without_restarts(
    broker: NatsServer, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    bridge = bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    pids = (bridge.pid, gw.pid)
    path = f"/engines/{eid}/account"
    async with rest_client(gw) as http:
        assert (await http.get(path)).status_code == 200

        await asyncio.to_thread(broker.stop)
        during = await outage_statuses(http, path)
        # a call racing the gateway's discovery of the closed socket may time out (504);
        # nothing else, and every call came back (a hang fails the HTTP client's timeout)
        assert set(during) <= {503, 504}, during
        r = await http.post(f"/engines/{eid}/order", json=RESTING)
        assert r.status_code == 503, r.text
        assert "NATS" in r.json()["detail"]

        await asyncio.to_thread(broker.start_server)
        after = await wait_served(http, path)
        assert set(after) <= {503, 200}, after
        r = await http.post(f"/engines/{eid}/order", json=RESTING)
        assert r.status_code == 201, r.text
        engine = await poll(
            lambda: http.get(f"/engines/{eid}"),
            lambda r: r.json()["status"] == "up",
            "the engine listed up",
        )
        assert engine.status_code == 200
    assert (bridge.pid, gw.pid) == pids
    assert bridge.alive()
    assert gw.alive()


async def test_stream_clients_stay_connected_are_told_and_miss_no_event(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    base = f"/engines/{eid}"
    async with rest_client(gw) as http, stream_client(gw) as stayer:
        await stayer.subscribe_durable(eid, resume_from=0)
        async with stream_client(gw) as leaver:
            await leaver.subscribe_durable(eid, resume_from=0)
            for order in (FILLING, RESTING):
                assert (await http.post(f"{base}/order", json=order)).status_code == 201
            before = await stream_events(nc, eid)
            for ws in (stayer, leaver):
                await ws.wait_seq(max(before), "events before the outage")
            left_at = leaver.last_seq()

        await asyncio.to_thread(broker.stop)
        await stayer.wait_for(
            lambda f: f.get("type") == "nats" and f["status"] == "disconnected",
            "a NATS disconnected notice",
        )
        await asyncio.to_thread(broker.start_server)
        await stayer.wait_for(
            lambda f: f.get("type") == "nats" and f["status"] == "reconnected",
            "a NATS reconnected notice",
        )
        await wait_served(http, f"{base}/account")
        for order in (FILLING, RESTING, FILLING):
            assert (await http.post(f"{base}/order", json=order)).status_code == 201

        stored = await poll(
            lambda: stream_events(nc, eid), lambda s: len(s) > len(before), "new events stored"
        )
        last = max(stored)
        await stayer.wait_seq(last, "events after the outage")
        assert not stayer.closed
        assert_no_gap_no_dup(stayer.seq_events(), stored)

        async with stream_client(gw) as returner:
            await returner.subscribe_durable(eid, resume_from=left_at)
            await returner.wait_seq(last, "the resumed events")
            assert_no_gap_no_dup(returner.seq_events(), stored, after=left_at)


async def test_orders_cut_off_by_a_nats_crash_and_retried_by_client_order_id_are_placed_once(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    """nats-server is SIGKILLed while a burst of orders is being placed; once it is back,
    every order is retried with its ``client_order_id``: each is placed exactly once, and
    one answered before the crash is answered again with the same order."""
    bridges(broker.url, eid)
    gw = gateways(broker.url, eid, "--request-timeout", "2")
    path = f"/engines/{eid}/order"
    cids = [f"nats-crash-{n}" for n in range(CUT_OFF)]
    async with rest_client(gw) as http:
        answered = await post_order(http, path, "answered-before-the-crash")
        assert answered is not None
        working = await first_order_event(nc, eid)
        posts = [asyncio.ensure_future(post_order(http, path, cid)) for cid in cids]
        await asyncio.wait_for(working, WAIT)
        await asyncio.to_thread(broker.kill)
        first = dict(zip(cids, await asyncio.gather(*posts), strict=True))
        first["answered-before-the-crash"] = answered
        cids.append("answered-before-the-crash")

        await asyncio.to_thread(broker.start_server)
        await wait_served(http, f"/engines/{eid}/account")
        retried = {}
        for cid in cids:
            retried[cid] = await poll(
                functools.partial(post_order, http, path, cid), bool, f"order {cid} answered"
            )
        for cid, vt_orderid in first.items():
            if vt_orderid is not None:
                assert retried[cid] == vt_orderid, cid
        orders = (await http.get(path)).json()
    assert sorted(o["client_order_id"] for o in orders) == sorted(cids)
    assert {o["vt_orderid"] for o in orders} == set(retried.values())
