"""What vnpy_webtrader never exposed, the same on both engines: gateways, connect, bars.

These ops are NATS request-reply (``wt.{engine}.req.gateways|connect|bars``); the last test
speaks to them through the gateway's REST routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from schemas.subjects import Op
from tests.behaviour.conftest import EngineUnderTest
from tests.behaviour.helpers import RB
from tests.support.nats_requests import fails, ok


async def test_gateways_are_listed_with_their_state(
    engine: EngineUnderTest, nc: NatsClient
) -> None:
    (gateway,) = await ok(nc, engine.engine_id, Op.GATEWAYS)
    assert (gateway["name"], gateway["state"]) == (engine.gateway_name, "CONNECTED")
    assert {"SHFE", "SSE", "SMART"} <= set(gateway["exchanges"])
    assert gateway["contracts"] == len(await ok(nc, engine.engine_id, Op.CONTRACTS))


async def test_connecting_a_connected_gateway_changes_nothing(
    engine: EngineUnderTest, nc: NatsClient
) -> None:
    before = await ok(nc, engine.engine_id, Op.CONTRACTS)
    body = {"gateway_name": engine.gateway_name, "setting": {"tick_rate": 5}}
    reply = await ok(nc, engine.engine_id, Op.CONNECT, body)
    assert (reply["name"], reply["state"]) == (engine.gateway_name, "CONNECTED")
    assert await ok(nc, engine.engine_id, Op.CONTRACTS) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"gateway_name": "NOPE"}, 404, "gateway_name"),
        ({"setting": {}}, 400, "gateway_name"),
        ({"gateway_name": "X", "setting": {"a": [1]}}, 400, "setting[...]"),
    ],
)
async def test_bad_connect_is_refused_naming_the_field(
    engine: EngineUnderTest, nc: NatsClient, body: dict[str, Any], code: int, field: str
) -> None:
    got_code, error = await fails(nc, engine.engine_id, Op.CONNECT, body)
    assert (got_code, error["field"]) == (code, field)


async def test_bars_cover_the_window_oldest_first(engine: EngineUnderTest, nc: NatsClient) -> None:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(hours=2)
    body = {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "interval": "1m",  # VeighNa's value of Interval.MINUTE
    }
    bars = await ok(nc, engine.engine_id, Op.BARS, body)
    assert len(bars) == 120
    times = [datetime.fromisoformat(b["datetime"]) for b in bars]
    assert times == sorted(times)
    assert start <= times[0]
    assert times[-1] < end
    for bar in bars:
        assert bar["vt_symbol"] == "rb2601.SHFE"
        assert bar["interval"] == "MINUTE"
        assert bar["low_price"] <= min(bar["open_price"], bar["close_price"])
        assert bar["high_price"] >= max(bar["open_price"], bar["close_price"])
        assert bar["gateway_name"] == engine.gateway_name


async def test_hourly_bars_by_name(engine: EngineUnderTest, nc: NatsClient) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    body = {"symbol": "BRK.B", "exchange": "SMART", "start": start.isoformat(), "interval": "HOUR"}
    bars = await ok(nc, engine.engine_id, Op.BARS, body)
    assert len(bars) in (24, 25)
    assert {b["interval"] for b in bars} == {"HOUR"}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"symbol": "nope"}, 404, "symbol"),
        ({"end": "2020-01-01T00:00:00+00:00"}, 422, "end"),
        ({"interval": "TICK"}, 422, "interval"),
        ({"interval": "5m"}, 400, "interval"),
        ({"start": "2024-01-01T00:00:00"}, 400, "start"),  # no UTC offset
    ],
)
async def test_bad_bars_request_is_refused_naming_the_field(
    engine: EngineUnderTest, nc: NatsClient, change: dict[str, Any], code: int, field: str
) -> None:
    body = {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "start": "2024-01-01T00:00:00+08:00",
        **change,
    }
    got_code, error = await fails(nc, engine.engine_id, Op.BARS, body)
    assert (got_code, error["field"]) == (code, field)


async def test_rest_routes_list_connect_and_serve_bars(
    engine: EngineUnderTest, rest: httpx.AsyncClient
) -> None:
    """``GET /gateway``, ``POST /gateway/{name}/connect`` (the demo user is an admin) and
    ``GET /bars`` answer what the ops answer over NATS."""
    listed = await rest.get("/gateway")
    assert listed.status_code == 200, listed.text
    assert [(g["name"], g["state"]) for g in listed.json()] == [(engine.gateway_name, "CONNECTED")]
    connected = await rest.post(f"/gateway/{engine.gateway_name}/connect", json={"setting": {}})
    assert connected.status_code == 200, connected.text
    assert (connected.json()["name"], connected.json()["state"]) == (
        engine.gateway_name,
        "CONNECTED",
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(hours=1)
    query = {"vt_symbol": RB, "start": start.isoformat(), "end": end.isoformat(), "interval": "1m"}
    r = await rest.get("/bars", params=query)
    assert r.status_code == 200, r.text
    bars = r.json()
    assert len(bars) == 60
    times = [datetime.fromisoformat(b["datetime"]) for b in bars]
    assert times == sorted(times)
    assert {(b["vt_symbol"], b["gateway_name"]) for b in bars} == {(RB, engine.gateway_name)}
