"""Workload 6: one client that stops reading, beside ``slow_healthy`` healthy ones.

The sim engine publishes ``slow_rate`` ticks/s (all seven contracts subscribed).  Per
endpoint (``/stream`` subscribed to ``tick.>``, and vnpy's ``/ws/``):

1. window A: the healthy clients alone - delivered rate, delivered %, p99;
2. one more client connects with a 4 KiB receive buffer, subscribes, and stops reading
   (its socket buffers fill, then the gateway's writes to it block);
3. after ``slow_hold - slow_window`` seconds, window B on the healthy clients while the
   slow one is still stalled; the gateway's RSS is sampled throughout (growth = peak
   minus the RSS just before the slow client connected).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from benchmarks.harness import Stack, rss_mb
from benchmarks.load import WsFleet, count_ticks, login, with_token
from benchmarks.scale import Scale
from benchmarks.ticks import SIM_CATCH_UP, SIM_CONTRACTS, subscribe_all

RSS_SAMPLE = 0.25


async def measured(st: Stack, fleet: WsFleet, scale: Scale, start_in: float) -> dict[str, Any]:
    t0 = time.time() + start_in
    t1 = t0 + scale.slow_window
    got, published = await asyncio.gather(
        fleet.window(t0, t1, scale.grace), count_ticks(st.nats_url, "sim", t0, t1)
    )
    expected = published * fleet.clients
    return {
        "source_rate": published / scale.slow_window,
        "per_client_eps": got["received"] / scale.slow_window / fleet.clients,
        "delivered_pct": 100.0 * got["received"] / expected if expected else 0.0,
        "p50_ms": got["latency_ms"].get("p50"),
        "p99_ms": got["latency_ms"].get("p99"),
    }


async def sample_rss(pid: int, peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(RSS_SAMPLE)


async def run(st: Stack, scale: Scale) -> dict[str, Any]:
    assert st.gateway is not None
    await asyncio.to_thread(st.start_bridge, scale.slow_rate / len(SIM_CONTRACTS) * SIM_CATCH_UP)
    token = await login(st.http)
    await subscribe_all(st, token)
    out: dict[str, Any] = {"rate": scale.slow_rate, "healthy": scale.slow_healthy}
    for endpoint, path, mode in (("stream", "/stream", "stream"), ("ws", "/ws/", "plain")):
        print(f"  {path}: {scale.slow_healthy} healthy + 1 stalled", flush=True)
        url = with_token(st.ws + path, token)
        async with WsFleet(url, scale.slow_healthy, mode=mode, procs=1) as healthy:
            alone = await measured(st, healthy, scale, scale.sweep_warmup)
            rss_before = rss_mb(st.gateway.pid)
            peak = [rss_before]
            sampler = asyncio.create_task(sample_rss(st.gateway.pid, peak))
            try:
                async with WsFleet(url, 1, mode=mode, procs=1, pause=True) as slow:
                    hold = max(0.0, scale.slow_hold - scale.slow_window)
                    beside = await measured(st, healthy, scale, hold)
                    slow_status = await slow.status()
                    rss_end = rss_mb(st.gateway.pid)
            finally:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            out[endpoint] = {
                "alone": alone,
                "with_slow": beside,
                "rate_ratio": beside["per_client_eps"] / alone["per_client_eps"]
                if alone["per_client_eps"]
                else 0.0,
                "p99_ratio": (beside["p99_ms"] or 0) / alone["p99_ms"] if alone["p99_ms"] else 0.0,
                "rss_before_mb": rss_before,
                "rss_peak_mb": peak[0],
                "rss_end_mb": rss_end,
                "rss_growth_mb": peak[0] - rss_before,
                "slow_client": slow_status,
                "healthy_closed": (await healthy.status())["closed"],
            }
        print(f"    {out[endpoint]}", flush=True)
    return out
