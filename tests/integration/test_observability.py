"""Metrics, JSON logs and request ids of a real gateway and bridge; the bridge's ``$SRV`` STATS.

Both processes run with ``--log-format json`` and ``--metrics-port`` on this module's own
nats-server; their captured output is read back line by line.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.orders import RESTING
from tests.support.processes import Bridge, Gateway, ManagedProcess, NatsServer, free_port
from tests.support.ws import open_ws, recv_until, ws_url

ENGINE = "obs"
WAIT = 15.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Stack:
    bridge: Bridge
    gateway: Gateway
    bridge_metrics: str
    gateway_metrics: str


@pytest.fixture(scope="module")
def stack(module_nats: NatsServer) -> Iterator[Stack]:
    """Bridge ``obs`` (DEBUG, JSON, metrics port) and a demo gateway (JSON, metrics port)."""
    bridge_port, gateway_port = free_port(), free_port()
    bridge = Bridge(
        module_nats.url,
        ENGINE,
        "--log-format",
        "json",
        "--log-level",
        "DEBUG",
        "--metrics-port",
        str(bridge_port),
    )
    gateway = Gateway(
        module_nats.plain_url,
        ENGINE,
        "--demo",
        "--log-format",
        "json",
        "--metrics-port",
        str(gateway_port),
        env=module_nats.env_for("gateway"),
    )
    try:
        bridge.start_bridge()
        gateway.start_gateway()
        yield Stack(
            bridge,
            gateway,
            f"http://127.0.0.1:{bridge_port}/metrics",
            f"http://127.0.0.1:{gateway_port}/metrics",
        )
    finally:
        gateway.stop()
        bridge.stop()


@pytest.fixture
async def rest(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    token = httpx.post(f"{stack.gateway.url}/token", data={"username": "vnpy", "password": "vnpy"})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=10) as c:
        yield c


def scrape(url: str) -> Samples:
    """Every sample of a Prometheus endpoint, parsed by the client library's parser."""
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    have = [dict(ls) for n, ls in samples if n == name]
    assert key in samples, f"no sample {name}{labels}; {name} has {have}"
    return samples[key]


def log_objects(process: ManagedProcess) -> list[dict[str, Any]]:
    """Every output line but the ready line, each parsed as one JSON object."""
    objects = []
    for line in list(process.lines):
        if re.match(r"(gateway|bridge) ready ", line):
            continue
        obj = json.loads(line)  # fails the test: a line that is not JSON
        assert isinstance(obj, dict), line
        objects.append(obj)
    return objects


async def wait_log(
    process: ManagedProcess, match: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first JSON log line of ``process`` that satisfies ``match`` (written by a thread)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [o for o in log_objects(process) if match(o)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no such log line in:\n{process.output}"
        await asyncio.sleep(0.05)


async def test_request_id_returns_in_the_response_and_in_both_processes_json_logs(
    stack: Stack, rest: httpx.AsyncClient
) -> None:
    rid = "it-" + uuid.uuid4().hex
    r = await rest.post("/order", json=RESTING, headers={"X-Request-Id": rid})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == rid
    vt_orderid = r.json()

    access = await wait_log(
        stack.gateway, lambda o: o.get("request_id") == rid and o["logger"] == "gateway.access"
    )
    assert access["level"] == "INFO"
    assert (access["method"], access["route"], access["status"]) == ("POST", "/order", 200)
    assert access["user"] == "vnpy"
    assert access["message"].startswith("POST /order 200 ")
    served = await wait_log(
        stack.bridge, lambda o: o.get("request_id") == rid and o.get("op") == "submit"
    )
    assert served["logger"] == "engine_bridge.requests"
    assert (served["level"], served["status"], served["engine_id"]) == ("INFO", 200, ENGINE)
    assert served["duration_ms"] > 0
    for obj in (access, served):
        assert {"time", "level", "logger", "message", "request_id"} <= set(obj)
        assert obj["time"].endswith("Z")

    # an error answered by the engine carries the id too, and the bridge logs the query
    rid = "it-" + uuid.uuid4().hex
    r = await rest.get(f"/order/{vt_orderid}x", headers={"X-Request-Id": rid})
    assert r.status_code == 404, r.text
    assert r.headers["x-request-id"] == rid
    served = await wait_log(stack.bridge, lambda o: o.get("request_id") == rid)
    assert (served["op"], served["status"], served["level"]) == ("order", 404, "DEBUG")


async def test_a_missing_or_invalid_request_id_is_replaced_by_a_new_one(
    stack: Stack, rest: httpx.AsyncClient
) -> None:
    sent = ["has space", "x" * 65, "caf\u00e9"]
    got = set()
    for bad in sent:
        r = await rest.get("/engines", headers={"X-Request-Id": bad.encode()})
        assert r.status_code == 200
        got.add(r.headers["x-request-id"])
    r = await rest.get("/nowhere")  # Litestar's own 404, no id sent
    assert r.status_code == 404
    got.add(r.headers["x-request-id"])
    assert len(got) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in got), got


async def test_every_output_line_of_both_processes_is_a_json_object(stack: Stack) -> None:
    for process in (stack.gateway, stack.bridge):
        objects = log_objects(process)
        assert objects, process.output
        for obj in objects:
            assert {"time", "level", "logger", "message"} <= set(obj), obj


async def test_gateway_metrics_after_requests_and_a_websocket_session(
    stack: Stack, rest: httpx.AsyncClient
) -> None:
    assert (await rest.get("/contract")).status_code == 200
    assert (await rest.post("/tick/rb2601.SHFE")).status_code == 200
    assert (await rest.get("/order/NOPE.1")).status_code == 404
    assert (await rest.get("/metrics")).status_code == 404  # served on --metrics-port only
    token = rest.headers["Authorization"].removeprefix("Bearer ")
    async with open_ws(ws_url(stack.gateway, "/ws/", token)) as ws:
        await recv_until(ws, lambda f: f["topic"] == "eTick.")
        live = scrape(stack.gateway_metrics)
    after = scrape(stack.gateway_metrics)

    http = "webtrader_http_request_duration_seconds"
    assert value(live, f"{http}_count", method="GET", route="/contract", status="200") >= 1
    assert value(live, f"{http}_sum", method="GET", route="/contract", status="200") > 0
    assert value(live, f"{http}_count", method="POST", route="/tick/{vt_symbol}", status="200")
    lookup = {"method": "GET", "route": "/order/{vt_orderid}", "status": "404"}
    assert value(live, f"{http}_count", **lookup) >= 1
    assert value(live, f"{http}_count", method="GET", route="<unmatched>", status="404") >= 1
    engine = "webtrader_engine_request_duration_seconds"
    assert value(live, f"{engine}_count", engine=ENGINE, op="contracts", status="200") >= 1
    assert value(live, f"{engine}_count", engine=ENGINE, op="order", status="404") >= 1
    assert value(live, f"{engine}_bucket", engine=ENGINE, op="subscribe", status="200", le="+Inf")
    assert value(live, "webtrader_engine_up", engine=ENGINE) == 1
    assert value(live, "webtrader_nats_connected") == 1
    assert value(live, "webtrader_nats_reconnects_total") == 0
    assert value(live, "webtrader_nats_messages_received_total") > 0

    # the open session, its outbox, and the fan-out that fed it
    assert value(live, "webtrader_websocket_connections", endpoint="ws") == 1
    assert value(live, "webtrader_websocket_connections", endpoint="stream") == 0
    assert value(live, "webtrader_websocket_queue_depth_count") == 1
    assert value(live, "webtrader_websocket_queue_depth_bucket", le="+Inf") == 1
    assert value(live, "webtrader_websocket_queue_depth_max") >= 0
    assert value(live, "webtrader_fanout_messages_total") > 0
    assert value(live, "webtrader_fanout_subscriptions") >= 1
    assert value(live, "webtrader_websocket_ticks_conflated_total") >= 0
    assert value(live, "webtrader_fanout_dropped_total") == 0
    assert value(live, "process_cpu_seconds_total") > 0

    # after the client left: no session, counted once
    deadline = time.monotonic() + WAIT
    while value(after, "webtrader_websocket_connections", endpoint="ws") != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
        after = scrape(stack.gateway_metrics)
    assert value(after, "webtrader_websocket_sessions_total", endpoint="ws") >= 1
    assert value(after, "webtrader_websocket_queue_depth_count") == 0


async def test_bridge_metrics_count_requests_events_and_acknowledgements(
    stack: Stack, rest: httpx.AsyncClient
) -> None:
    r = await rest.post("/order", json=RESTING)
    assert r.status_code == 200, r.text
    assert (await rest.get("/order/NOPE.1")).status_code == 404
    samples = scrape(stack.bridge_metrics)

    duration = "webtrader_bridge_request_duration_seconds"
    assert value(samples, f"{duration}_count", op="submit", status="200") >= 1
    assert value(samples, f"{duration}_sum", op="submit", status="200") > 0
    assert value(samples, f"{duration}_count", op="order", status="404") >= 1
    assert value(samples, "webtrader_bridge_events_published_total", kind="order") >= 1
    assert value(samples, "webtrader_bridge_events_published_total", kind="heartbeat") >= 1
    assert value(samples, "webtrader_bridge_events_published_total", kind="contract") > 0
    # the order's events were acknowledged before its reply; a fill may add more meanwhile
    deadline = time.monotonic() + WAIT
    while value(samples, "webtrader_bridge_jetstream_pending") != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
        samples = scrape(stack.bridge_metrics)
    published = value(samples, "webtrader_bridge_jetstream_published_total")
    assert published >= 1
    assert value(samples, "webtrader_bridge_jetstream_acked_total") == published
    assert value(samples, "webtrader_bridge_jetstream_resends_total") == 0
    assert value(samples, "webtrader_bridge_events_stream_last_seq") >= published
    assert value(samples, "webtrader_bridge_ticks_dropped_total") == 0
    assert value(samples, "webtrader_bridge_engine_up") == 1
    assert value(samples, "webtrader_bridge_info", engine_id=ENGINE, engine="sim") == 1
    assert value(samples, "webtrader_bridge_nats_connected") == 1

    health = httpx.get(stack.bridge_metrics.replace("/metrics", "/healthz"))
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert httpx.get(stack.bridge_metrics.replace("/metrics", "/other")).status_code == 404


async def test_srv_stats_report_the_real_work_of_each_endpoint(
    stack: Stack, module_nats: NatsServer, rest: httpx.AsyncClient
) -> None:
    assert (await rest.post("/order", json=RESTING)).status_code == 200
    assert (await rest.get("/order/NOPE.1")).status_code == 404
    nc = await nats.connect(module_nats.url)
    try:
        inbox = nc.new_inbox()
        replies: list[dict[str, Any]] = []
        sub = await nc.subscribe(inbox)
        await nc.publish("$SRV.STATS.webtrader-engine", b"", reply=inbox)
        deadline = time.monotonic() + WAIT
        while not any(r["metadata"].get("engine_id") == ENGINE for r in replies):
            assert time.monotonic() < deadline
            msg = await sub.next_msg(timeout=WAIT)
            replies.append(json.loads(msg.data))
        await sub.unsubscribe()
    finally:
        await nc.close()
    (stats,) = [r for r in replies if r["metadata"].get("engine_id") == ENGINE]
    endpoints = {e["name"]: e for e in stats["endpoints"]}
    submit, order = endpoints["submit"], endpoints["order"]
    assert submit["num_requests"] >= 1
    assert submit["processing_time"] > 0
    assert submit["average_processing_time"] == submit["processing_time"] // submit["num_requests"]
    assert order["num_errors"] >= 1
    assert order["last_error"].startswith("404:")
    # the metrics and the STATS count the same requests
    samples = scrape(stack.bridge_metrics)
    count = "webtrader_bridge_request_duration_seconds_count"
    assert value(samples, count, op="submit", status="200") >= submit["num_requests"]
