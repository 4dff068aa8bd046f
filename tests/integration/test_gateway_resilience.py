"""The gateway process under failure: hung or broken engines, a NATS outage, start and stop.

These tests own a nats-server and gateway (``--request-timeout 0.5``) so they can stop
NATS without disturbing the session's processes.  "Engines" here are plain NATS clients
that answer (or do not answer) like a broken bridge would.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from schemas.codec import encode
from schemas.messages import EngineInfo
from tests.support.processes import Gateway, ManagedProcess, NatsServer, python_module


@pytest.fixture
async def http(quick_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=quick_gateway.url, timeout=10) as c:
        r = await c.post("/token", data={"username": "vnpy", "password": "vnpy"})
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


@pytest.fixture
async def fake_engine(module_nats: NatsServer) -> AsyncIterator[Client]:
    """A NATS client that plays engine ``fake``: it answers ``info`` and whatever a test adds."""
    nc = await nats.connect(module_nats.url, name="fake-engine", max_reconnect_attempts=-1)
    info = encode(EngineInfo(engine_id="fake", engine="fake", version="0", gateway_name="F"))

    async def on_info(msg: Msg) -> None:
        await msg.respond(info)

    await nc.subscribe("wt.fake.req.info", cb=on_info)
    await nc.flush()
    yield nc
    await nc.drain()


async def test_engine_that_never_answers_is_504_outcome_unknown(
    http: httpx.AsyncClient, fake_engine: Client
) -> None:
    async def swallow(msg: Msg) -> None:
        """Receive the request and never reply."""

    await fake_engine.subscribe("wt.fake.req.submit", cb=swallow)
    await fake_engine.flush()
    order = {"symbol": "rb2601", "exchange": "SHFE", "direction": "LONG", "type": "LIMIT",
             "volume": 1, "price": 3500}  # fmt: skip
    r = await http.post("/engines/fake/order", json=order)
    assert r.status_code == 504, r.text
    assert "unknown" in r.json()["detail"]


async def test_engine_error_reply_passes_through_status_and_body(
    http: httpx.AsyncClient, fake_engine: Client
) -> None:
    body = b'{"detail":"order SIM.1 is CANCELLED, no longer active","field":"vt_orderid"}'

    async def on_cancel(msg: Msg) -> None:
        headers = {"Nats-Service-Error-Code": "409", "Nats-Service-Error": "no longer active"}
        await fake_engine.publish(msg.reply, body, headers=headers)

    await fake_engine.subscribe("wt.fake.req.cancel", cb=on_cancel)
    await fake_engine.flush()
    r = await http.delete("/engines/fake/order/SIM.1")
    assert r.status_code == 409
    assert r.content == body


async def test_engine_error_reply_with_a_bad_code_is_502(
    http: httpx.AsyncClient, fake_engine: Client
) -> None:
    async def on_orders(msg: Msg) -> None:
        headers = {"Nats-Service-Error-Code": "teapot", "Nats-Service-Error": "?"}
        await fake_engine.publish(msg.reply, b"", headers=headers)

    await fake_engine.subscribe("wt.fake.req.orders", cb=on_orders)
    await fake_engine.flush()
    r = await http.get("/engines/fake/order")
    assert r.status_code == 502, r.text
    assert r.json()["detail"]


async def test_default_engine_not_running_is_503_and_listed_down(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/contract")
    assert r.status_code == 503, r.text
    engines = {e["engine_id"]: e for e in (await http.get("/engines")).json()}
    assert engines["sim"]["status"] == "down"


async def test_nats_outage_answers_503_then_recovers(
    http: httpx.AsyncClient, module_nats: NatsServer, fake_engine: Client
) -> None:
    async def on_accounts(msg: Msg) -> None:
        await msg.respond(b"[]")

    await fake_engine.subscribe("wt.fake.req.accounts", cb=on_accounts)
    await fake_engine.flush()
    assert (await http.get("/engines/fake/account")).status_code == 200

    module_nats.stop()
    for _ in range(20):  # until the gateway has noticed the closed socket (a request sent
        r = await http.get("/engines/fake/account")  # just before that times out: 504)
        if r.status_code != 504:
            break
    assert r.status_code == 503, r.text
    assert "NATS" in r.json()["detail"]

    module_nats.start_server()  # same port: both clients reconnect by themselves
    for _ in range(100):
        r = await http.get("/engines/fake/account")
        if r.status_code == 200:
            break
        assert r.status_code == 503, r.text
        await asyncio.sleep(0.1)
    assert r.status_code == 200, r.text
    assert r.content == b"[]"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_shuts_down_gracefully_with_exit_0(module_nats: NatsServer, sig: int) -> None:
    gw = Gateway(module_nats.url, "sim", "--demo")
    gw.start_gateway()
    assert gw.stop(sig) == 0, gw.output


def test_port_0_announces_the_real_port(module_nats: NatsServer) -> None:
    proc = ManagedProcess(
        "gateway-port0",
        python_module("gateway", "--nats-url", module_nats.url, "--port", "0", "--demo"),
    )
    m = proc.start(r"gateway ready http://127\.0\.0\.1:(\d+)$")
    try:
        port = int(m.group(1))
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/schema/openapi.json").status_code == 200
        assert sum(line.startswith("gateway ready") for line in proc.lines) == 1
    finally:
        proc.stop()


def test_start_without_nats_fails_with_a_clear_message(module_nats: NatsServer) -> None:
    dead = "nats://127.0.0.1:9"  # discard port: nothing listens
    proc = ManagedProcess(
        "gateway-no-nats",
        python_module("gateway", "--nats-url", dead, "--demo", "--nats-connect-timeout", "1"),
    )
    proc.start(r"cannot reach NATS at nats://127\.0\.0\.1:9")
    assert proc.proc is not None
    assert proc.proc.wait(15) != 0
    assert not any(line.startswith("gateway ready") for line in proc.lines)
    proc.stop()


def test_missing_settings_exit_2_naming_them(module_nats: NatsServer) -> None:
    proc = ManagedProcess(
        "gateway-no-secret",
        [sys.executable, "-m", "gateway", "--nats-url", module_nats.url],
        env={"WEBTRADER_JWT_SECRET": "", "WEBTRADER_DEMO": ""},
    )
    proc.start(r"--jwt-secret")
    assert proc.proc is not None
    assert proc.proc.wait(15) == 2
    proc.stop()
