"""A 3-node NATS cluster from ``deploy/cluster/n1..n3.conf``, on free ports, for tests and
benchmarks.

The example files listen on fixed loopback ports (clients 4241-4243, routes 6241-6243,
monitoring 8241-8243).  :class:`Cluster` rewrites those addresses to free ports and writes
the adapted files to a temporary directory; everything else (server names, cluster name,
routes to all three nodes, JetStream limits) is exactly what the repository ships.  Each
node has its own ``-sd`` store dir, kept across a restart of that node.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.processes import REPO, ManagedProcess, free_port, nats_server_binary

NODES = ("n1", "n2", "n3")
CLUSTER_DIR = REPO / "deploy" / "cluster"
READY = r"Server is ready"


class ClusterNode(ManagedProcess):
    """One node: its adapted config, its store dir, its ports."""

    def __init__(self, name: str, conf: Path, store_dir: Path, ports: dict[str, int]) -> None:
        self.node = name
        self.conf = conf
        self.store_dir = store_dir
        self.client_port = ports["client"]
        self.http_port = ports["http"]
        super().__init__(
            f"nats-{name}", [nats_server_binary(), "-c", str(conf), "-sd", str(store_dir)]
        )

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:PORT`` of this node."""
        return f"nats://127.0.0.1:{self.client_port}"

    def monitor(self, path: str) -> Any:
        """GET a monitoring endpoint (``/varz``, ``/connz``, ``/jsz`` ...) as JSON."""
        url = f"http://127.0.0.1:{self.http_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def start_node(self) -> None:
        """Start (or restart, same ports and store) and wait until it serves clients."""
        self.start(READY)


class Cluster:
    """Three nodes of ``deploy/cluster``, adapted to free ports under ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        ports = [{"client": free_port(), "route": free_port(), "http": free_port()} for _ in NODES]
        self.nodes: list[ClusterNode] = []
        for i, name in enumerate(NODES):
            text = (CLUSTER_DIR / f"{name}.conf").read_text()
            for j, p in enumerate(ports, start=1):
                text = text.replace(f"127.0.0.1:424{j}", f"127.0.0.1:{p['client']}")
                text = text.replace(f"127.0.0.1:624{j}", f"127.0.0.1:{p['route']}")
                text = text.replace(f"127.0.0.1:824{j}", f"127.0.0.1:{p['http']}")
            conf = workdir / f"{name}.conf"
            conf.write_text(text)
            self.nodes.append(ClusterNode(name, conf, workdir / f"store-{name}", ports[i]))

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated (what ``--nats-url`` takes)."""
        return ",".join(self.urls)

    @property
    def urls(self) -> list[str]:
        """Every node's URL (what ``nats.connect(servers=...)`` takes)."""
        return [node.url for node in self.nodes]

    def node(self, name: str) -> ClusterNode:
        """The node whose ``server_name`` is ``name``."""
        return next(n for n in self.nodes if n.node == name)

    def start(self, timeout: float = 30.0) -> None:
        """Start all three and wait until JetStream has a meta leader."""
        for node in self.nodes:
            node.start_node()
        self.wait_meta_leader(timeout)

    def stop(self) -> None:
        """Stop every node still running."""
        for node in self.nodes:
            node.stop()

    def wait_meta_leader(
        self, timeout: float = 30.0, among: list[ClusterNode] | None = None
    ) -> str:
        """Poll ``/jsz`` until the running nodes agree on a JetStream meta leader; return it."""
        deadline = time.monotonic() + timeout
        nodes = among or [n for n in self.nodes if n.alive()]
        while True:
            leaders = set()
            for node in nodes:
                try:
                    meta = node.monitor("/jsz").get("meta_cluster") or {}
                except OSError:
                    meta = {}
                leaders.add(meta.get("leader"))
            if len(leaders) == 1 and None not in leaders and "" not in leaders:
                return str(leaders.pop())
            if time.monotonic() > deadline:
                raise TimeoutError(f"no JetStream meta leader: {leaders}")
            time.sleep(0.2)

    def connected_node(self, client_name: str) -> ClusterNode:
        """The running node a client (by its NATS connection name) is connected to."""
        for node in self.nodes:
            if not node.alive():
                continue
            conns = node.monitor("/connz?limit=1024").get("connections") or []
            if any(c.get("name") == client_name for c in conns):
                return node
        raise LookupError(f"no node has a connection named {client_name!r}")
