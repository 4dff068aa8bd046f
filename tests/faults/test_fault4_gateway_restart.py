"""Fault 4: the gateway is killed (SIGKILL) and started again; bridge and NATS stay up.

/stream clients reconnect to the new gateway and resume from the last ``seq`` they saw:
every event after it — including the events of orders placed while no gateway ran — then
live, without gap or duplicate. Orders whose POST was cut off by the kill are retried with
their ``client_order_id`` and each is placed exactly once.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client as NatsClient

from schemas.subjects import Op, request_subject
from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import (
    CUT_OFF,
    WAIT,
    assert_no_gap_no_dup,
    first_order_event,
    poll,
    post_order,
    rest_client,
    stream_client,
    stream_events,
)
from tests.support.orders import FILLING, RESTING
from tests.support.processes import Gateway, NatsServer


async def test_stream_clients_resume_after_a_gateway_restart_without_gap_or_duplicate(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridges(broker.url, eid)
    gw = gateways(broker.url, eid)
    async with rest_client(gw) as http, stream_client(gw) as ws:
        await ws.subscribe_durable(eid, resume_from=0)
        for order in (FILLING, RESTING):
            assert (await http.post(f"/engines/{eid}/order", json=order)).status_code == 201
        before = await stream_events(nc, eid)
        await ws.wait_seq(max(before), "the events before the kill")
        await asyncio.to_thread(gw.kill)
        await ws.wait_closed()
        last = ws.last_seq()
        assert_no_gap_no_dup(ws.seq_events(), before)

    # orders placed while no gateway runs, by another NATS service
    for order in (FILLING, RESTING, RESTING):
        reply = await nc.request(request_subject(eid, Op.SUBMIT), json.dumps(order).encode(), 10)
        assert "vt_orderid" in json.loads(reply.data)

    await asyncio.to_thread(gw.start_gateway)  # same port; demo tokens die with the process
    stored = await stream_events(nc, eid)
    async with rest_client(gw) as http, stream_client(gw) as ws:
        await ws.subscribe_durable(eid, resume_from=last)
        await ws.wait_seq(max(stored), "the events placed while the gateway was down")
        assert (await http.post(f"/engines/{eid}/order", json=RESTING)).status_code == 201
        stored = await poll(
            lambda: stream_events(nc, eid), lambda s: max(s) > max(stored), "a live event"
        )
        await ws.wait_seq(max(stored), "live events after the resume")
        assert_no_gap_no_dup(ws.seq_events(), stored, after=last)


async def test_orders_cut_off_by_a_gateway_kill_and_retried_by_client_order_id_are_placed_once(
    broker: NatsServer,
    nc: NatsClient,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    eid: str,
) -> None:
    bridges(broker.url, eid)
    gw: Gateway = gateways(broker.url, eid)
    path = f"/engines/{eid}/order"
    cids = [f"gw-kill-{n}" for n in range(CUT_OFF)]
    async with rest_client(gw) as http:
        answered = await post_order(http, path, "answered-before-the-kill")
        assert answered is not None
        started = await first_order_event(nc, eid)
        posts = [asyncio.ensure_future(post_order(http, path, cid)) for cid in cids]
        await asyncio.wait_for(started, WAIT)  # the engine is placing them: kill now
        await asyncio.to_thread(gw.kill)
        first = dict(zip(cids, await asyncio.gather(*posts), strict=True))
    first["answered-before-the-kill"] = answered
    cids.append("answered-before-the-kill")

    await asyncio.to_thread(gw.start_gateway)
    async with rest_client(gw) as http:
        retried = {cid: await post_order(http, path, cid) for cid in cids}
        assert all(retried.values()), retried
        for cid, vt_orderid in first.items():
            if vt_orderid is not None:  # answered before the kill: the retry is a replay
                assert retried[cid] == vt_orderid, cid
        orders = (await http.get(path)).json()
    assert sorted(o["client_order_id"] for o in orders) == sorted(cids)
    assert {o["vt_orderid"] for o in orders} == set(retried.values())
