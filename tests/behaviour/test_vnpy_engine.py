"""What only the VeighNa engine has: connecting on request, start errors, the app mode.

All with the real ``vnpy`` package: a ``MainEngine`` with the test exchange gateway, run
headless by ``python -m engine_bridge --engine vnpy`` or inside a VeighNa Trader script
(``tests/support/vnpy_trader.py``) through ``main_engine.add_app(NatsWebTraderApp)``.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import DeliverPolicy

from schemas.streams import events_stream
from schemas.subjects import Op, events_pattern
from tests.behaviour.conftest import VNPY_GATEWAY, bridge_process, vnpy_home
from tests.behaviour.helpers import eventually
from tests.support.nats_requests import fails, listen, ok
from tests.support.processes import ManagedProcess, NatsServer, python_module

RB_ORDER = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "volume": 1,
    "offset": "OPEN",
}


def fresh_id() -> str:
    return "v" + uuid.uuid4().hex[:10]


async def test_gateway_without_setting_connects_on_request(
    nats_server: NatsServer, nc: NatsClient, tmp_path: Path
) -> None:
    engine_id = fresh_id()
    bridge = bridge_process("vnpy", nats_server.url, engine_id, tmp_path, connect=False)
    bridge.start(r"bridge ready", timeout=40)
    try:
        (gateway,) = await ok(nc, engine_id, Op.GATEWAYS)
        assert (gateway["name"], gateway["state"], gateway["contracts"]) == (
            "EXCH",
            "DISCONNECTED",
            0,
        )
        assert gateway["default_setting"]["tick_rate"] == 20.0
        assert await ok(nc, engine_id, Op.CONTRACTS) == []
        code, error = await fails(nc, engine_id, Op.SUBMIT, {**RB_ORDER, "price": 3500})
        assert (code, error["field"]) == (422, "symbol")

        contracts = await listen(nc, events_pattern(engine_id, "contract.>"))
        body = {"gateway_name": "EXCH", "setting": {"tick_rate": 5, "capital": 1_000_000.0}}
        connected = await ok(nc, engine_id, Op.CONNECT, body)
        assert connected["state"] in ("CONNECTING", "CONNECTED")

        async def is_connected() -> bool:
            (now,) = await ok(nc, engine_id, Op.GATEWAYS)
            return bool(now["state"] == "CONNECTED" and now["contracts"] == 3)

        await eventually(is_connected, "EXCH connected with its 3 contracts")
        await contracts.wait_json(lambda c: c["vt_symbol"] == "BRK.B.SMART")
        (account,) = await ok(nc, engine_id, Op.ACCOUNTS)
        assert account["balance"] == 1_000_000.0  # the setting reached the gateway
        order = await ok(nc, engine_id, Op.SUBMIT, {**RB_ORDER, "price": 3300})
        assert order["status"] == "NOTTRADED"
    finally:
        assert bridge.stop() == 0, bridge.output


@pytest.mark.parametrize(
    ("options", "status", "message"),
    [
        (["--gateway", "no_such_module:Gw"], 1, "cannot import no_such_module"),
        (["--gateway", "tests.vnpy_gateway:Market"], 1, "not a VeighNa BaseGateway"),
        (["--gateway", "not-a-class-path"], 2, "--gateway: module:GatewayClass"),
        ([], 1, "--engine vnpy needs --gateway"),
        (["--gateway", VNPY_GATEWAY, "--gateway-setting", "/nonexistent.json"], 1, "nonexistent"),
    ],
)
def test_bridge_says_why_it_cannot_start(
    nats_server: NatsServer, tmp_path: Path, options: list[str], status: int, message: str
) -> None:
    argv = ["--engine", "vnpy", "--engine-id", fresh_id(), "--nats-url", nats_server.url]
    bridge = ManagedProcess(
        "bridge", python_module("engine_bridge", *argv, *options), env=vnpy_home(tmp_path)
    )
    with pytest.raises(RuntimeError, match="exited"):
        bridge.start(r"bridge ready", timeout=40)
    assert bridge.stop() == status
    assert message in bridge.output


async def test_app_bridges_a_running_veighna_trader(
    nats_server: NatsServer, nc: NatsClient, tmp_path: Path
) -> None:
    engine_id = fresh_id()
    env = vnpy_home(tmp_path)
    setting = {"nats_url": nats_server.url, "engine_id": engine_id, "idempotency_ttl": 3600}
    (tmp_path / ".vntrader" / "nats_webtrader_setting.json").write_text(json.dumps(setting))
    quotes = await listen(nc, events_pattern(engine_id, "quote.>"))
    trader = ManagedProcess("trader", python_module("tests.support.vnpy_trader", "--ui"), env=env)
    trader.start(r"trader ready", timeout=40)
    try:
        assert "trader ready serving" in trader.output
        assert f"window: state: serving | engine_id: {engine_id}" in trader.output

        info = await ok(nc, engine_id, Op.INFO)
        assert (info["engine"], info["gateway_name"], info["contracts"]) == ("vnpy", "EXCH", 3)
        order = await ok(nc, engine_id, Op.SUBMIT, {**RB_ORDER, "price": 3745})  # crosses
        assert order["status"] == "ALLTRADED"
        (position,) = await ok(nc, engine_id, Op.POSITIONS)
        assert (position["vt_symbol"], position["volume"]) == ("rb2601.SHFE", 1.0)

        # the quote the trader sent (as a strategy would): published, and stored
        quote = await quotes.wait_json(lambda q: q["status"] == "NOTTRADED")
        assert (quote["vt_symbol"], quote["bid_price"], quote["reference"]) == (
            "rb2601.SHFE",
            3400.0,
            "mm",
        )
        assert quote["vt_quoteid"].startswith("EXCH.")
        js = nc.jetstream()
        sub = await js.subscribe(
            events_pattern(engine_id, "quote.>"),
            stream=events_stream(engine_id),
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )
        stored = json.loads((await sub.next_msg(timeout=10)).data)
        await sub.unsubscribe()
        assert (stored["vt_quoteid"], stored["status"]) == (quote["vt_quoteid"], "NOTTRADED")
    finally:
        status = trader.stop(signal.SIGTERM, timeout=30)
    assert status == 0, trader.output
    assert "trader closed stopped" in trader.output  # VeighNa's close stopped the bridge


async def test_app_refuses_an_engine_id_another_bridge_serves(
    nats_server: NatsServer, bridge_factory: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    engine_id = fresh_id()
    bridge_factory(engine_id)  # a simulator already serves this id
    env = vnpy_home(tmp_path)
    setting = {"nats_url": nats_server.url, "engine_id": engine_id}
    (tmp_path / ".vntrader" / "nats_webtrader_setting.json").write_text(json.dumps(setting))
    trader = ManagedProcess("trader", python_module("tests.support.vnpy_trader"), env=env)
    trader.start(r"trader ready", timeout=40)
    try:
        assert "trader ready failed:" in trader.output, trader.output
        assert f"engine id '{engine_id}' is already served" in trader.output, trader.output
    finally:
        assert trader.stop(signal.SIGTERM, timeout=30) == 0, trader.output
