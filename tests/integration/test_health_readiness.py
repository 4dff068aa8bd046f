"""``/healthz`` and ``/readyz`` of a real gateway as its engine and its NATS come and go.

A nats-server, a gateway and a bridge of this module's own: readiness is watched with no
engine, with one, after the engine stops, and after NATS itself goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import Bridge, Gateway, NatsServer

ENGINE = "sim"
WAIT = 20.0


@pytest.fixture
def lone_gateway(broker: NatsServer) -> Iterator[Gateway]:
    """A gateway on the private server; no engine runs there yet."""
    gw = Gateway(broker.plain_url, ENGINE, "--demo", env=broker.env_for("gateway"))
    gw.start_gateway()
    yield gw
    gw.stop()


async def ready_state(client: httpx.AsyncClient, status: int) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers ``status``; its body."""
    deadline = time.monotonic() + WAIT
    while True:
        r = await client.get("/readyz")
        if r.status_code == status:
            assert r.headers["content-type"].startswith("application/json")
            return dict(r.json())
        assert time.monotonic() < deadline, f"/readyz stayed {r.status_code}: {r.text}"
        await asyncio.sleep(0.2)


async def test_healthz_is_200_without_a_token_and_readyz_follows_engine_and_nats(
    broker: NatsServer, lone_gateway: Gateway
) -> None:
    async with httpx.AsyncClient(base_url=lone_gateway.url, timeout=5) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}

        # no engine has ever answered: not ready, and the body says why
        r = await client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["ready"] is False
        assert body["nats"] == "connected"
        assert body["default_engine"] == ENGINE
        assert body["engines"] == {ENGINE: "down"}
        assert any("no engine is up" in m for m in body["missing"]), body

        bridge = Bridge(broker.url, ENGINE, tick_rate=2)
        try:
            bridge.start_bridge()
            body = await ready_state(client, 200)
            assert body == {
                "ready": True,
                "nats": "connected",
                "default_engine": ENGINE,
                "engines": {ENGINE: "up"},
                "missing": [],
            }
        finally:
            bridge.stop()
        body = await ready_state(client, 503)  # the probe finds the engine gone
        assert body["engines"] == {ENGINE: "down"}
        assert body["nats"] == "connected"

        bridge = Bridge(broker.url, ENGINE, tick_rate=2)
        try:
            bridge.start_bridge()
            await ready_state(client, 200)
            broker.stop()  # NATS goes away; the engine is unreachable too
            body = await ready_state(client, 503)
            assert body["nats"] == "disconnected"
            assert "NATS is not connected" in body["missing"]
            # still alive: liveness does not depend on NATS
            assert (await client.get("/healthz")).status_code == 200
        finally:
            bridge.stop()


async def test_probes_are_documented_in_openapi_without_security(
    lone_gateway: Gateway,
) -> None:
    spec = httpx.get(f"{lone_gateway.url}/schema/openapi.json").json()
    health = spec["paths"]["/healthz"]["get"]
    ready = spec["paths"]["/readyz"]["get"]
    assert set(health["responses"]) >= {"200"}
    assert set(ready["responses"]) >= {"200", "503"}
    for code in ("200", "503"):
        schema = ready["responses"][code]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/Readiness"), schema
    assert "security" not in health
    assert "security" not in ready
    assert "text/plain" in spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def test_metrics_are_served_on_the_http_port_without_a_token_by_default(
    lone_gateway: Gateway,
) -> None:
    r = httpx.get(f"{lone_gateway.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    up = families["webtrader_engine_up"]
    assert [(s.labels, s.value) for s in up.samples] == [({"engine": ENGINE}, 0)]
    assert families["webtrader_nats_connected"].samples[0].value == 1
    assert "webtrader_http_request_duration_seconds" in families
