"""Workload 5: ``idle_clients`` idle, authenticated WebSockets - the gateway's RSS.

On a fresh gateway: RSS before, with every connection open (after a short settle), per
connection; first on ``/stream`` (welcome received, no subscription; heartbeats answered so
the idle timeout never fires), then, after those closed, on vnpy's ``/ws/`` (each session
attaches the default engine's five event patterns, shared in the hub).  Connections are
spread over several client processes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.harness import Stack, rss_mb
from benchmarks.load import WsFleet, login, with_token
from benchmarks.scale import Scale

SETTLE = 1.0
CLIENT_PROCS = 4


async def run(st: Stack, scale: Scale) -> dict[str, Any]:
    assert st.gateway is not None
    token = await login(st.http)
    out: dict[str, Any] = {"clients": scale.idle_clients, "rss_start_mb": rss_mb(st.gateway.pid)}
    for endpoint, path, mode in (("stream", "/stream", "stream"), ("ws", "/ws/", "plain")):
        print(f"  {scale.idle_clients} idle {path} connections", flush=True)
        before = rss_mb(st.gateway.pid)
        url = with_token(st.ws + path, token)
        fleet = WsFleet(url, scale.idle_clients, mode=mode, procs=CLIENT_PROCS, idle=True, topic="")
        async with fleet:
            await asyncio.sleep(SETTLE)
            status = await fleet.status()
            during = rss_mb(st.gateway.pid)
        out[endpoint] = {
            "open": status["open"],
            "failed": fleet.failed,
            "rss_before_mb": before,
            "rss_mb": during,
            "per_connection_kb": (during - before) * 1024 / max(1, status["open"]),
        }
        await asyncio.sleep(SETTLE)
    out["rss_max_mb"] = max(out["stream"]["rss_mb"], out["ws"]["rss_mb"])
    return out
