"""Several engines behind one gateway: ``/engines`` and ``/engines/{engine_id}/...``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.orders import RESTING
from tests.support.processes import Bridge


async def test_engines_lists_the_default_engine_up_with_its_info(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/engines")
    assert r.status_code == 200, r.text
    sim = {e["engine_id"]: e for e in r.json()}["sim"]
    assert sim["status"] == "up"
    assert sim["engine"] == "sim"
    assert sim["version"]
    assert sim["contracts"] >= 7
    assert {"SHFE", "CFFEX", "SSE"} <= set(sim["exchanges"])
    assert "last_heartbeat" in sim  # null until the first heartbeat after the gateway started


async def test_fresh_engine_is_served_under_its_path_and_nothing_crosses(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    reference = "fresh-" + uuid.uuid4().hex[:8]

    r = await client.post(f"{base}/order", json={**RESTING, "reference": reference})
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["reference"] == reference
    assert placed["status"] == "NOTTRADED"
    assert r.headers["location"] == f"order/{placed['vt_orderid']}"

    fresh_orders = (await client.get(f"{base}/order")).json()
    assert [o["reference"] for o in fresh_orders] == [reference]  # a clean engine: only ours
    sim_orders = (await client.get("/order")).json()
    assert reference not in {o["reference"] for o in sim_orders}

    got = await client.get(f"{base}/order/{placed['vt_orderid']}")
    assert got.status_code == 200, got.text
    assert got.json()["reference"] == reference
    cancelled = await client.delete(f"{base}/order/{placed['vt_orderid']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"


async def test_fresh_engine_routes_mirror_the_vnpy_ones(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    base = f"/engines/{fresh_bridge.engine_id}"
    contracts = (await client.get(f"{base}/contract")).json()
    assert "rb2601.SHFE" in {c["vt_symbol"] for c in contracts}
    assert (await client.post(f"{base}/tick/rb2601.SHFE")).json() == {"vt_symbol": "rb2601.SHFE"}
    for route in ("tick", "account", "position", "trade"):
        r = await client.get(f"{base}/{route}")
        assert r.status_code == 200, (route, r.text)
    assert (await client.get(f"{base}/trade")).json() == []
    assert (await client.get(f"{base}/position")).json() == []


async def test_fresh_engine_is_listed_up_with_its_info(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    r = await client.get(f"/engines/{fresh_bridge.engine_id}")
    assert r.status_code == 200, r.text
    info: dict[str, Any] = r.json()
    assert (info["engine_id"], info["status"], info["engine"]) == (
        fresh_bridge.engine_id,
        "up",
        "sim",
    )
    listed = (await client.get("/engines")).json()
    assert fresh_bridge.engine_id in {e["engine_id"] for e in listed}


async def test_heartbeat_of_an_engine_started_after_the_gateway_is_recorded(
    client: httpx.AsyncClient, fresh_bridge: Bridge
) -> None:
    """The bridge's first heartbeat (at its start) reaches the gateway's directory."""
    for _ in range(50):
        listed = {e["engine_id"]: e for e in (await client.get("/engines")).json()}
        if (mine := listed.get(fresh_bridge.engine_id)) and mine["last_heartbeat"]:
            assert mine["status"] == "up"
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no heartbeat recorded for the fresh engine")


async def test_unknown_engine_is_404(client: httpx.AsyncClient) -> None:
    never = "never" + uuid.uuid4().hex[:8]
    for path in (f"/engines/{never}", f"/engines/{never}/contract", f"/engines/{never}/order"):
        r = await client.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["field"] == "engine_id"
    r = await client.post(f"/engines/{never}/order", json=RESTING)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize(
    "engine_id", ["a.b", "*", "%3E", "sim%2Eother", "x" * 65, "sp%20ace", "%2A"]
)
async def test_invalid_engine_id_is_404(client: httpx.AsyncClient, engine_id: str) -> None:
    r = await client.get(f"/engines/{engine_id}/contract")
    assert r.status_code == 404, r.text
    assert r.json()["field"] == "engine_id"


async def test_stopped_engine_answers_503_and_is_listed_down(
    client: httpx.AsyncClient, bridge_factory: Callable[..., Bridge], engine_id: str
) -> None:
    bridge = bridge_factory(engine_id)
    assert (await client.get(f"/engines/{engine_id}/account")).status_code == 200
    bridge.stop()

    r = await client.get(f"/engines/{engine_id}/account")
    assert r.status_code == 503, r.text  # no responders: not a 504 after the timeout
    assert "no responders" in r.json()["detail"]
    r = await client.post(f"/engines/{engine_id}/order", json=RESTING)
    assert r.status_code == 503, r.text

    status = (await client.get(f"/engines/{engine_id}")).json()
    assert status["status"] == "down"
