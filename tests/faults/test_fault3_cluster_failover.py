"""Fault 3: a 3-node NATS cluster (``deploy/cluster``), the engine's stream and KV bucket
at 3 replicas (``--js-replicas 3``); a node is killed (SIGKILL) while orders flow.

Killed, separately: the node the bridge is connected to, and the events stream's leader.
Orders keep flowing after the failover; every order the engine acknowledged is still
there — in the engine and in the stream — and none is duplicated: each
``client_order_id`` is one order, each ``Nats-Msg-Id`` one stream message. With two
nodes gone (no quorum) submits are refused as retryable and placed once a node returns.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig

from schemas.streams import client_orders_bucket, events_stream
from tests.faults.conftest import BridgeFactory, GatewayFactory
from tests.faults.support import (
    OrderFlow,
    poll,
    rest_client,
    status_of,
    stream_events,
    stream_msg_ids,
)
from tests.support.cluster import Cluster, ClusterNode
from tests.support.orders import RESTING

BEFORE = 10
"""Orders acknowledged before the kill."""
AFTER = 10
"""Orders acknowledged after it (proof the flow resumed)."""

PickVictim = Callable[[Cluster, NatsClient, str], Awaitable[ClusterNode]]


async def bridge_node(cluster: Cluster, nc: NatsClient, engine_id: str) -> ClusterNode:
    """The node the engine's bridge is connected to."""
    return await asyncio.to_thread(cluster.connected_node, f"engine-bridge {engine_id}")


async def stream_leader(cluster: Cluster, nc: NatsClient, engine_id: str) -> ClusterNode:
    """The node leading the engine's events stream."""
    info = await nc.jetstream().stream_info(events_stream(engine_id))
    assert info.cluster is not None
    assert info.cluster.leader, info.cluster
    return cluster.node(info.cluster.leader)


async def run_failover(
    cluster: Cluster,
    bridges: BridgeFactory,
    gateways: GatewayFactory,
    engine_id: str,
    pick_victim: PickVictim,
) -> None:
    """Orders flow, the victim node is killed, orders flow again; then check everything."""
    bridges(cluster.url, engine_id, "--js-replicas", "3")
    gw = gateways(cluster.url, engine_id, "--request-timeout", "2")
    nc = await nats.connect(
        servers=cluster.urls, **cluster.admin, name="fault-check", max_reconnect_attempts=-1
    )
    try:
        info = await nc.jetstream().stream_info(events_stream(engine_id))
        assert info.config.num_replicas == 3
        async with rest_client(gw) as http:
            async with OrderFlow(http, engine_id) as flow:
                await flow.wait_acked(BEFORE)
                victim = await pick_victim(cluster, nc, engine_id)
                await asyncio.to_thread(victim.kill)
                await flow.wait_acked(len(flow.acked) + AFTER)
            r = await poll(
                lambda: http.get(f"/engines/{engine_id}/order"),
                lambda r: r.status_code == 200,
                "the order list",
            )
        await check_nothing_lost_nothing_duplicated(nc, engine_id, flow, r.json())
    finally:
        await nc.close()


async def check_nothing_lost_nothing_duplicated(
    nc: NatsClient, engine_id: str, flow: OrderFlow, orders: list[dict[str, Any]]
) -> None:
    """Every acknowledged order is in the engine and the stream, each exactly once."""
    cids = Counter(str(o["client_order_id"]) for o in orders)
    assert cids == Counter(list(flow.acked)), "the engine's orders are not exactly the acked ones"
    assert {o["client_order_id"]: o["vt_orderid"] for o in orders} == flow.acked
    stored = await stream_events(nc, engine_id)
    in_stream = {
        json.loads(data)["vt_orderid"]
        for subject, data in stored.values()
        if ".evt.order." in subject
    }
    lost = set(flow.acked.values()) - in_stream
    assert not lost, f"acknowledged orders missing from the stream: {sorted(lost)[:10]}"
    ids = Counter(await stream_msg_ids(nc, engine_id))
    assert "" not in ids, "a stream message without Nats-Msg-Id"
    assert max(ids.values()) == 1, ids.most_common(3)


async def test_deploy_cluster_keeps_an_r3_stream_writable_and_complete_when_a_node_dies(
    cluster: Cluster,
) -> None:
    """The shipped configs alone (no bridge): JetStream replicates and survives a node."""
    nc = await nats.connect(
        servers=cluster.urls, **cluster.admin, name="r3-check", max_reconnect_attempts=-1
    )
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="R3", subjects=["r3.>"], num_replicas=3))
        for n in range(20):
            await js.publish(f"r3.{n}", b"x", headers={"Nats-Msg-Id": str(n)})
        info = await js.stream_info("R3")
        assert info.cluster is not None
        assert info.cluster.leader in ("n1", "n2", "n3")
        assert len(info.cluster.replicas or []) == 2
        await asyncio.to_thread(cluster.node(info.cluster.leader).kill)

        async def publish(n: int) -> int:
            try:
                return (await js.publish(f"r3.{n}", b"x", headers={"Nats-Msg-Id": str(n)})).seq
            except nats.errors.Error:
                return 0  # no leader yet / reconnecting: the caller retries

        for n in range(20, 40):  # ids 0..39, some re-sent: each is stored once
            await poll(functools.partial(publish, n), bool, f"message {n} acknowledged")
        await publish(5)  # a duplicate id inside the window is not stored again
        info = await js.stream_info("R3")
        assert info.state.messages == 40
    finally:
        await nc.close()


async def test_killing_the_bridges_node_while_orders_flow_loses_and_duplicates_nothing(
    cluster: Cluster, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    await run_failover(cluster, bridges, gateways, eid, bridge_node)


async def test_killing_the_stream_leader_while_orders_flow_loses_and_duplicates_nothing(
    cluster: Cluster, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    await run_failover(cluster, bridges, gateways, eid, stream_leader)


async def submit_status(http: httpx.AsyncClient, path: str, cid: str) -> int:
    """Status of one submit with ``client_order_id`` ``cid``."""
    return (await http.post(path, json={**RESTING, "client_order_id": cid})).status_code


async def test_without_quorum_submits_are_refused_and_each_is_placed_once_when_a_node_returns(
    cluster: Cluster, bridges: BridgeFactory, gateways: GatewayFactory, eid: str
) -> None:
    """Two of three nodes die — the ones not leading the client-order bucket — so the
    streams have no quorum: a submit is answered 503 (bucket unreachable) or 504 (outcome
    unknown), never anything else; once one node is back its retry places it, once."""
    bridges(cluster.url, eid, "--js-replicas", "3")
    gw = gateways(cluster.url, eid)
    path = f"/engines/{eid}/order"
    async with rest_client(gw) as http:
        assert await submit_status(http, path, "before") == 201
        nc = await nats.connect(servers=cluster.urls, **cluster.admin, name="quorum-check")
        try:
            survivor = await bucket_leader(nc, eid)
        finally:
            await nc.close()
        victims = [node for node in cluster.nodes if node.node != survivor]
        for node in victims:
            await asyncio.to_thread(node.kill)
        # gateway and bridge both reach the survivor (queries need no quorum) ...
        await poll(
            lambda: status_of(http, f"/engines/{eid}/account"),
            lambda s: s == 200,
            "gateway and bridge connected to the surviving node",
        )
        # ... but a submit needs the bucket and the stream, which cannot commit
        during = [await submit_status(http, path, "during") for _ in range(2)]
        assert set(during) <= {503, 504}, during

        await asyncio.to_thread(victims[0].start_node)
        statuses: list[int] = []

        async def retry() -> int:
            statuses.append(await submit_status(http, path, "during"))
            return statuses[-1]

        await poll(retry, lambda s: s in (200, 201), "the submit placed once quorum is back")
        assert set(statuses[:-1]) <= {503, 504}, statuses
        orders = (await http.get(path)).json()
    assert sorted(o["client_order_id"] for o in orders) == ["before", "during"]


async def bucket_leader(nc: NatsClient, engine_id: str) -> str:
    """The node leading the engine's client-order bucket."""
    info = await nc.jetstream().stream_info(f"KV_{client_orders_bucket(engine_id)}")
    assert info.cluster is not None
    assert info.cluster.leader
    return info.cluster.leader
