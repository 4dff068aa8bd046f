"""A 3-node NATS cluster from ``deploy/cluster/n1..n3.conf``, on free ports, for tests and
benchmarks.

The example files listen on fixed loopback ports (clients 4241-4243, routes 6241-6243,
monitoring 8241-8243).  :class:`Cluster` rewrites those addresses to free ports and writes
the adapted files, with a copy of the ``nats-auth.conf`` they include, to a temporary
directory; everything else (server names, cluster name, routes to all three nodes, JetStream
limits, users and permissions) is exactly what the repository ships.  Each node has its own
``-sd`` store dir, kept across a restart of that node.  Every NATS user gets a random
password per cluster (the same on every node); :attr:`Cluster.url` carries ``admin``'s (for
``--nats-url``), :attr:`Cluster.admin` gives them as nats-py options: a client must pass
them so, for nats-py sends credentials found in a URL to that URL's server only, not to the
nodes the cluster advertises, to which it fails over.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.processes import REPO, ManagedProcess, free_port, nats_server_binary
from webtrader.natsserver import config_users, new_password

NODES = ("n1", "n2", "n3")
CLUSTER_DIR = REPO / "deploy" / "cluster"
AUTH_CONF = "nats-auth.conf"
AUTH_INCLUDE = f"include ../../{AUTH_CONF}"
READY = r"Server is ready"


class ClusterNode(ManagedProcess):
    """One node: its adapted config, its store dir, its ports."""

    def __init__(
        self,
        name: str,
        conf: Path,
        store_dir: Path,
        ports: dict[str, int],
        *,
        env: dict[str, str],
        admin: str,
    ) -> None:
        self.node = name
        self.conf = conf
        self.store_dir = store_dir
        self.client_port = ports["client"]
        self.http_port = ports["http"]
        self._admin = admin
        super().__init__(
            f"nats-{name}", [nats_server_binary(), "-c", str(conf), "-sd", str(store_dir)], env
        )

    @property
    def plain_url(self) -> str:
        """``nats://127.0.0.1:PORT`` of this node, without credentials."""
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def url(self) -> str:
        """``nats://admin:PASSWORD@127.0.0.1:PORT`` of this node."""
        return f"nats://{self._admin}@127.0.0.1:{self.client_port}"

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
        (workdir / AUTH_CONF).write_text((REPO / AUTH_CONF).read_text())
        self.users = config_users(CLUSTER_DIR / f"{NODES[0]}.conf")
        """``{user: password variable}`` of the cluster's configuration."""
        self.passwords = {user: new_password() for user in self.users}
        env = {var: self.passwords[user] for user, var in self.users.items()}
        admin = f"admin:{self.passwords['admin']}"
        ports = [{"client": free_port(), "route": free_port(), "http": free_port()} for _ in NODES]
        self.nodes: list[ClusterNode] = []
        for i, name in enumerate(NODES):
            text = (CLUSTER_DIR / f"{name}.conf").read_text()
            if AUTH_INCLUDE not in text:
                raise ValueError(f"{name}.conf no longer has {AUTH_INCLUDE!r}")
            text = text.replace(AUTH_INCLUDE, f"include ./{AUTH_CONF}")
            for j, p in enumerate(ports, start=1):
                text = text.replace(f"127.0.0.1:424{j}", f"127.0.0.1:{p['client']}")
                text = text.replace(f"127.0.0.1:624{j}", f"127.0.0.1:{p['route']}")
                text = text.replace(f"127.0.0.1:824{j}", f"127.0.0.1:{p['http']}")
            conf = workdir / f"{name}.conf"
            conf.write_text(text)
            self.nodes.append(
                ClusterNode(name, conf, workdir / f"store-{name}", ports[i], env=env, admin=admin)
            )

    @property
    def url(self) -> str:
        """Every node's URL with ``admin``'s credentials, comma-separated (for ``--nats-url``)."""
        return ",".join(node.url for node in self.nodes)

    @property
    def urls(self) -> list[str]:
        """Every node's URL without credentials: ``nats.connect(servers=..., **admin)``."""
        return [node.plain_url for node in self.nodes]

    @property
    def admin(self) -> dict[str, str]:
        """``user``/``password`` options of ``nats.connect`` for ``admin``."""
        return {"user": "admin", "password": self.passwords["admin"]}

    @property
    def plain_url(self) -> str:
        """Every node's URL without credentials, comma-separated (with :meth:`env_for`)."""
        return ",".join(node.plain_url for node in self.nodes)

    def env_for(self, user: str) -> dict[str, str]:
        """``WEBTRADER_NATS_USER``/``WEBTRADER_NATS_PASSWORD`` of ``user`` for a bridge/gateway."""
        return {"WEBTRADER_NATS_USER": user, "WEBTRADER_NATS_PASSWORD": self.passwords[user]}

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
