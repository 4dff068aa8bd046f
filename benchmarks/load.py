"""Driving the client workers from the suite: HTTP load runs and WebSocket fleets.

:func:`http_load` spreads keep-alive clients over several :mod:`benchmarks.loadgen`
processes, starts them together and merges what they measured.  :class:`WsFleet` spreads
WebSocket connections over several :mod:`benchmarks.wsload` processes and measures windows
of engine time on all of them at once.  :func:`count_ticks` counts, straight on NATS, the
ticks an engine published in a window (the reference for "delivered").
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import nats

from benchmarks.harness import Workers, cpu_seconds, py, split
from benchmarks.stats import hist_summary, merge, summary

DEMO_LOGIN = {"username": "vnpy", "password": "vnpy"}


async def login(base: str) -> str:
    """An access token from the gateway at ``base`` (demo login)."""
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/token", data=DEMO_LOGIN)
        r.raise_for_status()
        return str(r.json()["access_token"])


def with_token(url: str, token: str) -> str:
    """``url`` with ``?token=``."""
    return f"{url}?token={quote(token, safe='')}"


async def http_load(
    base: str,
    path: str,
    *,
    method: str = "GET",
    bodies: Sequence[Any] = (),
    token: str | None = None,
    clients: int = 1,
    requests: int = 100,
    procs: int = 1,
    warmup: int = 10,
    offset: int = 0,
    servers: dict[str, int] | None = None,
) -> dict[str, Any]:
    """``clients`` keep-alive clients each sending ``requests`` requests, over ``procs``
    processes started together; latency summary (ms), throughput (req/s), statuses, bytes,
    and the CPU time per request of each of ``servers`` (name -> PID) during the run.
    """
    with tempfile.TemporaryDirectory(prefix="wt-load-") as tmp:
        body_file = Path(tmp) / "bodies.json"
        body_file.write_text(json.dumps(list(bodies)))
        argvs = []
        for i, n in enumerate(split(clients, procs)):
            args: list[object] = ["--base", base, "--method", method, "--path", path]
            args += ["--concurrency", n, "--requests", requests, "--warmup", warmup]
            args += ["--offset", offset + i * 100_003]
            if bodies:
                args += ["--bodies", body_file]
            if token:
                args += ["--token", token]
            argvs.append(py("benchmarks.loadgen", *args))
        workers = Workers(argvs)
        try:
            await workers.start()
            cpu0 = {name: cpu_seconds(pid) for name, pid in (servers or {}).items()}
            replies = await workers.ask({"cmd": "go"}, timeout=600)
            cpu = {n: cpu_seconds(pid) - cpu0[n] for n, pid in (servers or {}).items()}
        finally:
            await asyncio.to_thread(workers.stop)
    latencies = [x for r in replies for x in r["latencies_ms"]]
    statuses: dict[str, int] = {}
    for r in replies:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(r["ended"] for r in replies) - min(r["started"] for r in replies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "latency_ms": summary(latencies),
        "throughput": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "statuses": statuses,
        "bytes_per_response": sum(r["bytes"] for r in replies) / max(1, len(latencies)),
        "cpu_ms_per_request": {n: 1000 * c / max(1, len(latencies)) for n, c in cpu.items()},
    }


class WsFleet:
    """``clients`` WebSocket connections to ``url`` over ``procs`` worker processes."""

    def __init__(
        self,
        url: str,
        clients: int,
        *,
        mode: str = "plain",
        procs: int = 2,
        pause: bool = False,
        idle: bool = False,
        topic: str = "tick.>",
        deflate: bool = False,
    ) -> None:
        self.clients = clients
        argvs = []
        for n in split(clients, procs):
            args: list[object] = ["--url", url, "--clients", n, "--mode", mode, "--topic", topic]
            if pause:
                args.append("--pause")
            if idle:
                args.append("--idle")
            if deflate:
                args.append("--deflate")
            argvs.append(py("benchmarks.wsload", *args))
        self.workers = Workers(argvs)
        self.ready = 0
        self.failed = 0

    async def __aenter__(self) -> WsFleet:
        try:
            replies = await self.workers.start(timeout=300)
        except BaseException:
            await asyncio.to_thread(self.workers.stop)
            raise
        self.ready = sum(r["ready"] for r in replies)
        self.failed = sum(r["failed"] for r in replies)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.workers.stop)

    async def window(self, start: float, end: float, grace: float) -> dict[str, Any]:
        """Events with an engine timestamp in ``[start, end)`` received by ``end + grace``."""
        cmd = {"cmd": "window", "start": start, "end": end, "grace": grace}
        replies = await self.workers.ask(cmd, timeout=end + grace - time.time() + 60)
        hist = merge(r["hist"] for r in replies)
        return {
            "received": sum(r["received"] for r in replies),
            "per_client_min": min(r["per_client_min"] for r in replies),
            "latency_ms": hist_summary(hist),
            "frames": sum(r["frames"] for r in replies),
            "bytes": sum(r["bytes"] for r in replies),
            "open": sum(r["open"] for r in replies),
            "closed": sum(r["closed"] for r in replies),
        }

    async def status(self) -> dict[str, Any]:
        """Connections open and closed (with close codes)."""
        replies = await self.workers.ask({"cmd": "status"})
        codes: dict[str, int] = {}
        for r in replies:
            for k, v in r["close_codes"].items():
                codes[k] = codes.get(k, 0) + v
        return {
            "open": sum(r["open"] for r in replies),
            "closed": sum(r["closed"] for r in replies),
            "close_codes": codes,
        }


async def nats_sequential(
    nats_url: str, subject: str, bodies: Sequence[Any], n: int, warmup: int = 20
) -> dict[str, Any]:
    """``n`` NATS requests on ``subject`` one after another (bodies in rotation), from this
    process: the latency without any HTTP in the way."""
    payloads = [json.dumps(b, separators=(",", ":")).encode() for b in bodies] or [b""]
    nc = await nats.connect(nats_url)
    latencies: list[float] = []
    try:
        for i in range(warmup + n):
            t = time.perf_counter()
            await nc.request(subject, payloads[i % len(payloads)], timeout=30)
            if i >= warmup:
                latencies.append((time.perf_counter() - t) * 1000)
    finally:
        await nc.close()
    return {"requests": n, "latency_ms": summary(latencies)}


async def count_ticks(nats_url: str, engine: str, start: float, end: float) -> int:
    """Ticks of ``engine`` on NATS with a timestamp in ``[start, end)`` (waits until end)."""
    nc = await nats.connect(nats_url)
    seen = 0
    marker = b'"datetime":"'

    async def on_tick(msg: Any) -> None:
        nonlocal seen
        data: bytes = msg.data
        i = data.find(marker) + len(marker)
        ts = datetime.fromisoformat(data[i : data.find(b'"', i)].decode()).timestamp()
        if start <= ts < end:
            seen += 1

    try:
        await nc.subscribe(f"wt.{engine}.evt.tick.>", cb=on_tick)
        await asyncio.sleep(max(0.0, end + 0.5 - time.time()))
    finally:
        await nc.close()
    return seen
