"""Workload 4: ticks fanned out to WebSocket clients, and the fan-out floor beside it.

**Sweeps** (rate until saturation).  For each endpoint and client count, connect the
clients (over ``ws_procs`` worker processes), then for each tick rate: start
:mod:`benchmarks.ticksource` at ``rate`` ticks/s, measure a window of engine time after a
warm-up, and record delivered events/s (overall and per client), delivered % (received /
(published x clients)), events lost, latency p50/p99 (engine timestamp to receipt) and the
server's CPU.  A step that delivers < 95 % or whose p99 passes 1 s is saturated: the sweep
of that client count stops there.  Endpoints:

* ``stream`` - the gateway's ``/stream`` (``tick.>``, batched frames);
* ``floor`` - the floor's ``/fanout?batch=1`` (same frame shape, same batching bound);
* ``ws`` - the gateway's vnpy-compatible ``/ws/`` (one event per frame);
* ``floor_frame`` - the floor's ``/fanout?batch=0`` (one event per frame).

The **ceiling** of an endpoint at N clients is the most events/s it delivered in the sweep.

**Fixed-rate targets** use the simulated engine itself as the source (``--tick-rate`` per
contract, all seven contracts subscribed), ticks counted on NATS as the reference.  An
endpoint suffixed ``+deflate`` has clients that offer permessage-deflate, as browsers do
(for information: the other workloads' clients offer no compression).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.harness import Proc, Stack, cpu_seconds, free_port, py
from benchmarks.load import WsFleet, count_ticks, login, with_token
from benchmarks.scale import Scale, Sweep

SIM_CONTRACTS = (
    "rb2601.SHFE",
    "au2606.SHFE",
    "IF2512.CFFEX",
    "m2605.DCE",
    "600036.SSE",
    "000001.SZSE",
    "BRK.B.SMART",
)
SIM_CATCH_UP = 1.1
"""The sim's market loop runs a little below its nominal rate at a few ms per step."""
SATURATED_PCT = 95.0
DEFLATE = "+deflate"
"""Suffix of a fixed-rate endpoint whose clients offer permessage-deflate (as browsers do)."""
SATURATED_P99_MS = 1000.0
SOURCE_LEAD = 0.8
"""Seconds the tick source takes to start publishing (interpreter start, NATS connect)."""


def start_floor(nats_url: str) -> tuple[Proc, int]:
    port = free_port()
    proc = Proc(
        "floor-fanout", py("benchmarks.floor", "fanout", "--nats-url", nats_url, "--port", port)
    )
    proc.start(r"floor ready")
    return proc, port


async def step(
    st: Stack, fleet: WsFleet, server_pid: int, rate: float, scale: Scale
) -> dict[str, Any]:
    """One rate of a sweep, synthetic source."""
    t0 = time.time() + SOURCE_LEAD + scale.sweep_warmup
    t1 = t0 + scale.sweep_window
    source = Proc(
        "ticksource",
        py(
            "benchmarks.ticksource",
            "--nats-url",
            st.nats_url,
            "--rate",
            rate,
            "--until",
            t1 + 0.2,
            "--window",
            t0,
            t1,
        ),
    )
    cpu0, wall0 = cpu_seconds(server_pid), time.monotonic()
    source.start(None)
    try:
        got = await fleet.window(t0, t1, scale.grace)
        line = await source.await_line(r"^\{", timeout=30)
    finally:
        await asyncio.to_thread(source.stop)
    cpu = (cpu_seconds(server_pid) - cpu0) / (time.monotonic() - wall0)
    return row(
        published=json.loads(line)["in_window"],
        got=got,
        clients=fleet.clients,
        rate=rate,
        window=scale.sweep_window,
        cpu=cpu,
    )


def row(
    *, published: int, got: dict[str, Any], clients: int, rate: float, window: float, cpu: float
) -> dict[str, Any]:
    expected = published * clients
    lat = got["latency_ms"]
    return {
        "clients": clients,
        "rate": rate,
        "source_rate": published / window,
        "delivered_eps": got["received"] / window,
        "per_client_eps": got["received"] / window / clients,
        "delivered_pct": 100.0 * got["received"] / expected if expected else 0.0,
        "lost": max(0, expected - got["received"]),
        "p50_ms": lat.get("p50"),
        "p99_ms": lat.get("p99"),
        "frames_per_s": got["frames"] / window,
        "server_cpu": cpu,
        "closed": got["closed"],
    }


def saturated(r: dict[str, Any]) -> bool:
    p99 = r["p99_ms"]
    return bool(r["delivered_pct"] < SATURATED_PCT or p99 is None or p99 > SATURATED_P99_MS)


@dataclass(frozen=True)
class Server:
    """What a sweep connects to: a WebSocket URL, its protocol, the serving process."""

    url: str
    mode: str
    pid: int


async def sweep(st: Stack, server: Server, plan: Sweep, scale: Scale) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for clients, rates in plan.items():
        async with WsFleet(server.url, clients, mode=server.mode, procs=scale.ws_procs) as fleet:
            if fleet.failed:
                raise RuntimeError(f"{fleet.failed} of {clients} connections failed")
            for rate in rates:
                r = await step(st, fleet, server.pid, rate, scale)
                rows.append(r)
                print(
                    f"    {clients:>4} clients x {rate:>7g}/s: {r['delivered_eps']:>9.0f} ev/s "
                    f"{r['delivered_pct']:6.2f} % p50 {r['p50_ms']} p99 {r['p99_ms']} ms "
                    f"cpu {r['server_cpu']:.0%}",
                    flush=True,
                )
                if saturated(r):
                    break
    return rows


def ceilings(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Most events/s delivered per client count."""
    out: dict[str, float] = {}
    for r in rows:
        key = str(r["clients"])
        out[key] = max(out.get(key, 0.0), r["delivered_eps"])
    return out


async def subscribe_all(st: Stack, token: str) -> None:
    async with httpx.AsyncClient(
        base_url=st.http, headers={"authorization": f"Bearer {token}"}
    ) as http:
        for vt in SIM_CONTRACTS:
            (await http.post(f"/tick/{vt}")).raise_for_status()


async def fixed(
    st: Stack, endpoint: str, clients: int, rate: float, scale: Scale
) -> dict[str, Any]:
    """``clients`` on ``endpoint`` at ``rate`` ticks/s from the sim engine itself."""
    await asyncio.to_thread(st.start_bridge, rate / len(SIM_CONTRACTS) * SIM_CATCH_UP)
    token = await login(st.http)
    await subscribe_all(st, token)
    path, mode = ("/stream", "stream") if endpoint.startswith("stream") else ("/ws/", "plain")
    assert st.gateway is not None
    async with WsFleet(
        with_token(st.ws + path, token),
        clients,
        mode=mode,
        procs=scale.ws_procs,
        deflate=endpoint.endswith(DEFLATE),
    ) as fleet:
        t0 = time.time() + scale.sweep_warmup
        t1 = t0 + scale.fixed_window
        cpu0, wall0 = cpu_seconds(st.gateway.pid), time.monotonic()
        got, published = await asyncio.gather(
            fleet.window(t0, t1, scale.grace), count_ticks(st.nats_url, "sim", t0, t1)
        )
        cpu = (cpu_seconds(st.gateway.pid) - cpu0) / (time.monotonic() - wall0)
    r = row(
        published=published,
        got=got,
        clients=clients,
        rate=rate,
        window=scale.fixed_window,
        cpu=cpu,
    )
    r["endpoint"] = endpoint
    return r


async def run(st: Stack, scale: Scale) -> dict[str, Any]:
    """Sweeps of the four endpoints, then the fixed-rate targets."""
    assert st.gateway is not None
    token = await login(st.http)
    out: dict[str, Any] = {"sweeps": {}, "ceilings": {}, "fixed": []}
    plans = [
        ("stream", scale.sweep_batched),
        ("floor", scale.sweep_batched),
        ("ws", scale.sweep_frames),
        ("floor_frame", scale.sweep_frames),
    ]
    for endpoint, plan in plans:
        if not plan:
            continue
        print(f"  sweep {endpoint}", flush=True)
        if endpoint.startswith("floor"):
            floor, port = await asyncio.to_thread(start_floor, st.nats_url)
            batch = 1 if endpoint == "floor" else 0
            try:
                server = Server(f"ws://127.0.0.1:{port}/fanout?batch={batch}", "plain", floor.pid)
                rows = await sweep(st, server, plan, scale)
            finally:
                await asyncio.to_thread(floor.stop)
        else:
            path, mode = ("/stream", "stream") if endpoint == "stream" else ("/ws/", "plain")
            server = Server(with_token(st.ws + path, token), mode, st.gateway.pid)
            rows = await sweep(st, server, plan, scale)
        out["sweeps"][endpoint] = rows
        out["ceilings"][endpoint] = ceilings(rows)
    for endpoint, clients, rate in scale.fixed:
        print(f"  fixed {endpoint} {clients} clients x {rate:g}/s (sim engine)", flush=True)
        out["fixed"].append(await fixed(st, endpoint, clients, rate, scale))
        print(f"    {out['fixed'][-1]}", flush=True)
    return out
