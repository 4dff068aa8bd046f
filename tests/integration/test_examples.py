"""The examples in ``examples/`` run as a user runs them, against the session's real system.

Each is a subprocess (``python examples/NAME.py``) with its settings in the environment; it
must exit 0 and print what it promises.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx

from tests.support.processes import REPO, Bridge, Gateway, ManagedProcess, NatsServer

EXAMPLES = REPO / "examples"
TIMEOUT = 60.0


def run_example(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python examples/NAME.py ARGS`` from the repository, settings in the environment."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def gateway_env(gateway: Gateway) -> dict[str, str]:
    return {
        "WEBTRADER_URL": gateway.url,
        "WEBTRADER_USERNAME": "vnpy",
        "WEBTRADER_PASSWORD": "vnpy",
    }


async def test_trade_script_buys_waits_for_the_fill_and_prints_the_position(
    gateway: Gateway, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    result = await asyncio.to_thread(
        run_example, "trade.py", "--engine", engine, env=gateway_env(gateway)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"logged in to {gateway.url} as vnpy" in out
    assert "tick rb2601.SHFE: last " in out
    assert "filled SIM." in out
    assert "position rb2601.SHFE LONG: 1.0 @ " in out, out


async def test_trade_script_without_a_password_says_how_to_give_one(gateway: Gateway) -> None:
    env = {**gateway_env(gateway), "WEBTRADER_PASSWORD": ""}
    result = await asyncio.to_thread(run_example, "trade.py", env=env)
    assert result.returncode == 2
    assert "WEBTRADER_PASSWORD" in result.stderr


async def test_walkthrough_runs_as_a_script(gateway: Gateway, fresh_bridge: Bridge) -> None:
    env = {**gateway_env(gateway), "WEBTRADER_ENGINE": fresh_bridge.engine_id}
    result = await asyncio.to_thread(run_example, "walkthrough.py", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in (
        f"engine {fresh_bridge.engine_id}: up",
        "rb2601.SHFE ",
        "stream open; 0 orders loaded over REST",
        "placed SIM.1: NOTTRADED, client_order_id py-",
        "cancelled SIM.1: CANCELLED",
        "the stream saw it too",
        "refused (422): ",
        "[field price]",
        "refused (409): ",
        "active orders: 0",
        "done",
    ):
        assert line in out, f"{line!r} not in:\n{out}"
    assert result.stderr == "", result.stderr


ORDER: dict[str, Any] = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "offset": "OPEN",
    "volume": 1,
    "price": 3745,
}


async def test_nats_observer_prints_the_events_of_an_order_as_the_observer_user(
    nats_server: NatsServer, fresh_bridge: Bridge, client: httpx.AsyncClient
) -> None:
    engine = fresh_bridge.engine_id
    observer = ManagedProcess(
        "nats-observer",
        [
            sys.executable,
            str(EXAMPLES / "nats_observer.py"),
            "--nats-url",
            nats_server.plain_url,
            "--engine",
            engine,
            "--topic",
            "order.>",
            "--topic",
            "trade.>",
        ],
        env={"PYTHONPATH": str(REPO), **nats_server.env_for("observer")},
    )
    violations_before = len(nats_server.lines)
    await asyncio.to_thread(observer.start, r"listening on ")
    try:
        r = await client.post(f"/engines/{engine}/order", json=ORDER)
        assert r.status_code == 201, r.text
        vt_orderid = r.json()["vt_orderid"]
        await asyncio.to_thread(observer.wait_for, rf"{engine} order {vt_orderid} .* ALLTRADED")
        await asyncio.to_thread(observer.wait_for, rf"{engine} trade SIM\.\d+ of {vt_orderid}")
    finally:
        code = await asyncio.to_thread(observer.stop)
    assert code == 0, observer.output
    assert f"listening on wt.{engine}.evt.order.> wt.{engine}.evt.trade.>" in observer.output
    assert nats_server.violations(violations_before) == []


async def test_nats_observer_with_a_wrong_password_exits_with_a_message(
    nats_server: NatsServer,
) -> None:
    env = {"WEBTRADER_NATS_USER": "observer", "WEBTRADER_NATS_PASSWORD": "wrong-password-1"}
    result = await asyncio.to_thread(
        run_example, "nats_observer.py", "--nats-url", nats_server.plain_url, env=env
    )
    assert result.returncode == 1
    assert "NATS refused the credentials (user observer)" in result.stderr
    assert "wrong-password-1" not in result.stderr
