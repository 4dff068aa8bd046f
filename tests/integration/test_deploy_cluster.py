"""deploy/cluster/n1..n3.conf, as docs/deployment.md runs them, form one NATS cluster.

The example configurations use fixed loopback ports (clients 4241-4243, routes 6241-6243,
monitoring 8241-8243); the test is skipped when one of them is taken.  They include the
repository's ``nats-auth.conf``: each node gets the same random password per user in its
environment, and clients connect as ``admin``.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.support.processes import REPO, ManagedProcess, nats_server_binary
from webtrader.natsserver import config_users, new_password

NODES = ("n1", "n2", "n3")
USERS = config_users(REPO / "deploy" / "cluster" / "n1.conf")
PORTS = [p + i for i in range(1, 4) for p in (4240, 6240, 8240)]


def taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def monitor(node: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{8240 + node}{path}", timeout=5) as r:
        return json.load(r)


@pytest.fixture
def passwords() -> dict[str, str]:
    """A random password per NATS user of the example configuration."""
    return {user: new_password() for user in USERS}


@pytest.fixture
def cluster(tmp_path: Path, passwords: dict[str, str]) -> Iterator[list[ManagedProcess]]:
    if any(taken(p) for p in PORTS):
        pytest.skip("a port of the example cluster (424x/624x/824x) is in use")
    env = {var: passwords[user] for user, var in USERS.items()}
    nodes = [
        ManagedProcess(
            name,
            [
                nats_server_binary(),
                "-c",
                str(REPO / "deploy" / "cluster" / f"{name}.conf"),
                "-sd",
                str(tmp_path / name),
            ],
            env,
        )
        for name in NODES
    ]
    try:
        for node in nodes:
            node.start(r"Server is ready")
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_example_cluster_nodes_route_to_each_other(cluster: list[ManagedProcess]) -> None:
    deadline = time.monotonic() + 20
    while True:
        peers = [{r["remote_name"] for r in monitor(i, "/routez")["routes"]} for i in (1, 2, 3)]
        if peers == [{"n2", "n3"}, {"n1", "n3"}, {"n1", "n2"}]:
            break
        assert time.monotonic() < deadline, f"routes never formed: {peers}"
        time.sleep(0.2)
    assert {monitor(i, "/varz")["cluster"]["name"] for i in (1, 2, 3)} == {"webtrader"}


async def test_event_published_on_one_node_reaches_a_subscriber_on_another(
    cluster: list[ManagedProcess], passwords: dict[str, str]
) -> None:
    admin = f"admin:{passwords['admin']}"
    sub_nc = await nats.connect(f"nats://{admin}@127.0.0.1:4243")
    pub_nc = await nats.connect(f"nats://{admin}@127.0.0.1:4241")
    try:
        sub = await sub_nc.subscribe("wt.sim.evt.log")
        await sub_nc.flush()
        deadline = time.monotonic() + 10
        while True:  # interest reaches n1 over the route asynchronously
            await pub_nc.publish("wt.sim.evt.log", b'{"msg":"hello"}')
            try:
                msg = await sub.next_msg(timeout=0.2)
                break
            except nats.errors.TimeoutError:
                assert time.monotonic() < deadline, "no message crossed the cluster"
        assert msg.data == b'{"msg":"hello"}'
    finally:
        await pub_nc.close()
        await sub_nc.close()
