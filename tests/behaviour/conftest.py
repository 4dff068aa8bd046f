"""One behavioural suite, two engines: every test here runs against the simulator and VeighNa.

``engine`` is parametrized over :data:`ENGINE_KINDS`.  Each kind gets, for the session, a
real bridge process with a fresh engine id —

* ``sim``: ``python -m engine_bridge --engine sim``;
* ``vnpy``: ``python -m engine_bridge --engine vnpy --gateway
  tests.vnpy_gateway:ExchangeGateway --gateway-setting FILE``: a real VeighNa ``MainEngine``
  and ``EventEngine`` (the ``vnpy`` package, installed by CI) with the test exchange gateway,
  ``HOME`` pointed at a temporary directory for VeighNa's ``.vntrader``;

— and a real gateway process in demo mode whose *default* engine is that bridge, so the
tests speak vnpy_webtrader's own routes (``/order``, ``/tick/...``, ``/ws/``) and
``/stream`` to it, and a plain NATS client speaks to the bridge directly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Gateway, ManagedProcess, NatsServer, python_module

ENGINE_KINDS = ("sim", "vnpy")
VNPY_GATEWAY = "tests.vnpy_gateway:ExchangeGateway"
TICK_RATE = 20


@dataclass(frozen=True)
class EngineUnderTest:
    """One engine of the suite, its bridge and the gateway in front of it."""

    kind: str
    engine_id: str
    gateway_name: str
    """Prefix of its ``vt_orderid``s (``SIM``, ``EXCH``)."""
    bridge: ManagedProcess
    web: Gateway
    token: str


def vnpy_home(tmp: Path) -> dict[str, str]:
    """Environment of a VeighNa process whose ``.vntrader`` lives under ``tmp``."""
    (tmp / ".vntrader").mkdir(parents=True, exist_ok=True)
    return {"HOME": str(tmp)}


def bridge_process(
    kind: str, nats_url: str, engine_id: str, tmp: Path, *extra: str, connect: bool = True
) -> ManagedProcess:
    """A bridge process of ``kind`` (not started)."""
    argv = ["--engine", kind, "--engine-id", engine_id, "--nats-url", nats_url]
    env: dict[str, str] = {}
    if kind == "sim":
        argv += ["--tick-rate", str(TICK_RATE)]
    else:
        argv += ["--gateway", VNPY_GATEWAY]
        if connect:
            setting = tmp / "exchange.json"
            setting.write_text(json.dumps({"tick_rate": TICK_RATE, "seed": 7}))
            argv += ["--gateway-setting", str(setting)]
        env = vnpy_home(tmp)
    return ManagedProcess(
        f"bridge[{engine_id}]", python_module("engine_bridge", *argv, *extra), env=env
    )


def login(web: Gateway) -> str:
    """A token from vnpy_webtrader's form login (demo user)."""
    r = httpx.post(f"{web.url}/token", data={"username": "vnpy", "password": "vnpy"})
    r.raise_for_status()
    return str(r.json()["access_token"])


@pytest.fixture(scope="session", params=ENGINE_KINDS)
def engine(
    request: pytest.FixtureRequest,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EngineUnderTest]:
    """A bridge of each kind with a fresh engine id, and a gateway defaulting to it."""
    kind = str(request.param)
    engine_id = f"{kind}-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp(f"engine-{kind}")
    bridge = bridge_process(kind, nats_server.url, engine_id, tmp)
    bridge.start(r"bridge ready", timeout=40)
    web = Gateway(nats_server.url, engine_id, "--demo")
    try:
        web.start_gateway()
        yield EngineUnderTest(
            kind=kind,
            engine_id=engine_id,
            gateway_name="SIM" if kind == "sim" else "EXCH",
            bridge=bridge,
            web=web,
            token=login(web),
        )
    finally:
        web.stop()
        assert bridge.stop() == 0, bridge.output


@pytest.fixture
async def rest(engine: EngineUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated HTTP client of the engine's gateway."""
    async with httpx.AsyncClient(
        base_url=engine.web.url, headers={"Authorization": f"Bearer {engine.token}"}, timeout=10
    ) as client:
        yield client
