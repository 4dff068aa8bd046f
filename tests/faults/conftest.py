"""Fixtures of the fault tests: every test owns its processes, so it may kill any of them.

Each test gets a private nats-server (or a 3-node cluster from ``deploy/cluster``), the
bridges and gateways it starts through the factories below, all real processes started as
a user would start them and stopped by PID at teardown.  Nothing here is shared with the
session's ``nats_server`` / ``sim_bridge`` / ``gateway``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient

from tests.support.cluster import Cluster
from tests.support.processes import Bridge, Gateway, NatsServer, ProcessGroup


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """The three nodes of ``deploy/cluster`` on free ports, JetStream meta leader elected."""
    c = Cluster(tmp_path / "cluster")
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def eid() -> str:
    """A fresh engine id."""
    return "f" + uuid.uuid4().hex[:10]


BridgeFactory = Callable[..., Bridge]
GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def bridges() -> Iterator[BridgeFactory]:
    """``bridges(nats_url, engine_id, *extra, tick_rate=..)``: started and ready; stopped at
    teardown (SIGTERM, then SIGKILL) whatever state the test left them in."""
    group = ProcessGroup()

    def start(nats_url: str, engine_id: str, *extra: str, tick_rate: float = 20) -> Bridge:
        return group.bridge(Bridge(nats_url, engine_id, *extra, tick_rate=tick_rate))

    yield start
    group.stop_all()


@pytest.fixture
def gateways() -> Iterator[GatewayFactory]:
    """``gateways(nats_url, default_engine, *extra)``: a demo gateway, started and ready."""
    group = ProcessGroup()

    def start(nats_url: str, default_engine: str, *extra: str) -> Gateway:
        return group.gateway(Gateway(nats_url, default_engine, "--demo", *extra))

    yield start
    group.stop_all()


@pytest.fixture
async def nc(broker: NatsServer) -> AsyncIterator[NatsClient]:
    """A plain NATS client of the private broker (reconnects forever)."""
    client = await nats.connect(broker.url, name="fault-test", max_reconnect_attempts=-1)
    yield client
    await client.close()
