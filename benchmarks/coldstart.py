"""Workload 7: ``webtrader demo`` cold start to the first tick on a WebSocket.

Each round starts ``python -m webtrader demo`` on free ports with an empty data directory
(a fresh JetStream store) and, from the moment of the spawn, a client that does what a
user would: ``POST /token`` until the gateway answers (polled every 10 ms), open vnpy's
``/ws/``, ``POST /tick/rb2601.SHFE``, and wait for the first ``eTick.`` frame.  Reported:
spawn to first successful login, and spawn to first tick; the median and worst of the
rounds.  The demo is then stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect

from benchmarks.harness import Proc, free_port, py
from benchmarks.load import DEMO_LOGIN, with_token

POLL = 0.01
TIMEOUT = 60.0


async def first_tick(port: int, spawned: float) -> tuple[float, float]:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        deadline = spawned + TIMEOUT
        while True:
            try:
                r = await http.post("/token", data=DEMO_LOGIN)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the demo's gateway never answered")
            await asyncio.sleep(POLL)
        token = r.json()["access_token"]
        logged_in = time.monotonic() - spawned
        url = with_token(f"ws://127.0.0.1:{port}/ws/", token)
        async with connect(url, max_size=None, compression=None) as ws:
            (
                await http.post("/tick/rb2601.SHFE", headers={"authorization": f"Bearer {token}"})
            ).raise_for_status()
            async with asyncio.timeout(TIMEOUT):
                while not str(await ws.recv()).startswith('{"topic":"eTick."'):
                    pass
        return logged_in, time.monotonic() - spawned


async def run(rounds: int) -> dict[str, Any]:
    logins: list[float] = []
    ticks: list[float] = []
    for i in range(rounds):
        print(f"  webtrader demo cold start, round {i + 1}", flush=True)
        port, nats_port = free_port(), free_port()
        with tempfile.TemporaryDirectory(prefix="wt-cold-") as tmp:
            demo = Proc(
                "demo",
                py(
                    "webtrader", "demo", "--port", port, "--nats-port", nats_port, "--data-dir", tmp
                ),
            )
            demo.start(None)
            try:
                logged_in, ticked = await first_tick(port, demo.started_at)
            finally:
                await asyncio.to_thread(demo.stop)
        logins.append(logged_in)
        ticks.append(ticked)
    return {
        "rounds": rounds,
        "to_login_s": {"median": statistics.median(logins), "max": max(logins)},
        "to_first_tick_s": {"median": statistics.median(ticks), "max": max(ticks)},
    }
