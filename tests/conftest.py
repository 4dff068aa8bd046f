"""Shared fixtures: a real nats-server for the session, real bridge and gateway processes.

Tests that trade against the shared ``sim`` engine must not depend on its history; tests
that need a clean engine start their own bridge with ``bridge_factory`` (a fresh engine id)
and reach it through the shared gateway under ``/engines/{id}/...``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient

from tests.support.processes import Bridge, Gateway, NatsServer, ProcessGroup

DEFAULT_ENGINE = "sim"


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """The real nats-server from the wheel, with the repo's nats.conf, on a free port.

    Every user of nats-auth.conf gets a random password (``NatsServer``); at the end of the
    session its log must show no permissions violation.
    """
    server = NatsServer(tmp_path_factory.mktemp("jetstream"))
    server.start_server()
    yield server
    server.stop()
    # The session's bridge (bridge-sim) and gateway (gateway) did all the suite asked within
    # their NATS permissions; a new subject they use must be added to nats-auth.conf.
    assert server.violations() == [], "permissions violations on the session's nats-server"


@pytest.fixture(scope="session")
def sim_bridge(nats_server: NatsServer) -> Iterator[Bridge]:
    """The default engine (``sim``) for the session, as ``webtrader bridge`` runs it.

    It connects as NATS user ``bridge-sim`` (least privilege: only engine ``sim``'s subjects).
    """
    bridge = Bridge(
        nats_server.plain_url, DEFAULT_ENGINE, tick_rate=20, env=nats_server.env_for("bridge-sim")
    )
    bridge.start_bridge()
    yield bridge
    bridge.stop()


@pytest.fixture(scope="session")
def gateway(nats_server: NatsServer, sim_bridge: Bridge) -> Iterator[Gateway]:
    """The gateway in demo mode (login vnpy/vnpy), default engine ``sim``, as NATS ``gateway``."""
    gw = Gateway(
        nats_server.plain_url, DEFAULT_ENGINE, "--demo", env=nats_server.env_for("gateway")
    )
    gw.start_gateway()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server of one test module's own, for tests that need a broker to themselves."""
    server = NatsServer(tmp_path_factory.mktemp("module-js"))
    server.start_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def quick_gateway(module_nats: NatsServer) -> Iterator[Gateway]:
    """A demo gateway on ``module_nats`` giving engines 0.5 s to answer; no ``sim`` runs there."""
    gw = Gateway(
        module_nats.plain_url,
        DEFAULT_ENGINE,
        "--demo",
        "--request-timeout",
        "0.5",
        env=module_nats.env_for("gateway"),
    )
    gw.start_gateway()
    yield gw
    gw.stop()


@pytest.fixture
def engine_id() -> str:
    """A fresh engine id, so a test's subjects are its own."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def bridge_factory(nats_server: NatsServer) -> Iterator[Callable[..., Bridge]]:
    """Start extra bridges (stopped at teardown): ``bridge_factory(engine_id, tick_rate=...)``.

    They connect as NATS ``admin`` (their engine ids are random, so no bridge user has them).
    """
    group = ProcessGroup()

    def start(engine_id: str, *extra: str, tick_rate: float = 20) -> Bridge:
        return group.bridge(Bridge(nats_server.url, engine_id, *extra, tick_rate=tick_rate))

    yield start
    group.stop_all()


@pytest.fixture
def fresh_bridge(bridge_factory: Callable[..., Bridge], engine_id: str) -> Bridge:
    """A bridge with a fresh engine id and a clean simulated exchange."""
    return bridge_factory(engine_id)


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NatsClient]:
    """A plain nats-py client with ``admin``'s credentials (may do anything)."""
    client = await nats.connect(nats_server.url, name="test-client")
    yield client
    await client.drain()


@pytest.fixture(scope="session")
def token(gateway: Gateway) -> str:
    """A demo access token obtained through ``POST /token``."""
    r = httpx.post(f"{gateway.url}/token", data={"username": "vnpy", "password": "vnpy"})
    r.raise_for_status()
    return str(r.json()["access_token"])


@pytest.fixture
async def client(gateway: Gateway, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated HTTP client against the served gateway."""
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as c:
        yield c


@pytest.fixture
async def anon_client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with no token."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        yield c


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save artifacts (screenshots, logs) for CI to keep."""
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of one test's own (repo nats.conf, free port, own JetStream dir).

    The test may stop, freeze or restart it (same port, same store).
    """
    server = NatsServer(tmp_path / "jetstream")
    server.start_server()
    yield server
    server.stop()
