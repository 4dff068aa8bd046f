"""Recovery times of nats-webtrader under the faults of issue 3, with real processes.

Run from the repository root: ``python -m benchmarks.recovery`` (``--rounds N``,
``--only bridge,nats,cluster,gateway,slow``). Every scenario starts its own nats-server (or
the 3-node cluster of ``deploy/cluster`` on free ports), bridges and gateway — exactly as
``tests/faults`` does — breaks something, and times how long until clients are served
again. Times are wall-clock from the moment the fault is injected (the signal sent) as seen
by an HTTP/WebSocket client polling every few milliseconds; each figure is printed as the
median and the worst of the rounds. The figures go into ``docs/reliability.md``.

Scenarios:

* ``bridge`` — SIGKILL the bridge: time to the first REST 503; start it again: time from
  the start to the first REST 200 (process start and JetStream restore included).
* ``nats`` — stop nats-server (SIGTERM): time to the first REST 503 and how long each 503
  takes to come back; start it again: time until REST is served (both gateway and bridge
  reconnected).
* ``cluster`` — 3 nodes, R3 streams, orders flowing one after another through the
  gateway (``--request-timeout 2``, a 504 retried at once with the same
  ``client_order_id``): SIGKILL the bridge's node while another node leads the stream
  (then, on a fresh cluster, the stream leader): time from the kill to the next
  acknowledged order, and the longest gap between two acks. For reference, the same
  leader kill under a bare JetStream client publishing to an R3 stream.
* ``gateway`` — SIGKILL the gateway and start it again at once (as a supervisor would):
  time to ready, time until a /stream client is reconnected, and until it has resumed
  (received the events placed while the gateway was down).
* ``slow`` — latency (tick time to receipt) and rate of ticks at a healthy /stream client,
  without and then with a client that stopped reading.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig
from websockets.exceptions import WebSocketException

from schemas.subjects import Op, request_subject
from tests.faults.support import RESTING, OrderFlow, rest_client, stream_client, stream_events
from tests.support.cluster import Cluster
from tests.support.processes import Bridge, Gateway, ManagedProcess, NatsServer
from tests.support.ws import close_draining, login, open_ws, small_buffer_socket, ws_url

POLL = 0.005
"""Seconds between two probes of a poller."""
SCENARIOS = ("bridge", "nats", "cluster", "gateway", "slow")


@dataclass
class Figures:
    """Measured durations (seconds) by name, plus notes."""

    values: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.values.setdefault(name, []).append(seconds)

    def print(self) -> None:
        width = max((len(n) for n in self.values), default=10)
        for name, vals in self.values.items():
            med, worst = statistics.median(vals), max(vals)
            print(
                f"  {name:<{width}}  median {fmt(med):>9}  worst {fmt(worst):>9}  (n={len(vals)})"
            )
        for note in self.notes:
            print(f"  note: {note}")


def fmt(seconds: float) -> str:
    """Seconds as ms below 10 s."""
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


class Prober:
    """Fires ``GET path`` every POLL seconds without waiting for earlier ones; records
    ``(sent, done, status)`` of each (status 0: transport error)."""

    def __init__(self, http: httpx.AsyncClient, path: str) -> None:
        self.http, self.path = http, path
        self.results: list[tuple[float, float, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Prober:
        self._loop = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._loop
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            task = asyncio.ensure_future(self._probe())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(POLL)

    async def _probe(self) -> None:
        sent = time.monotonic()
        try:
            status = (await self.http.get(self.path)).status_code
        except httpx.TransportError:
            status = 0
        self.results.append((sent, time.monotonic(), status))

    async def first(self, status: int, after: float, timeout: float = 30) -> float:
        """Monotonic time of the first answer ``status`` to a probe sent after ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            done = [d for s, d, st in self.results if st == status and s >= after]
            if done:
                return min(done)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {status} within {timeout} s")
            await asyncio.sleep(POLL)

    def between(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """Probes sent in ``[start, end)``."""
        return [r for r in self.results if start <= r[0] < end]


def signal_now(process: ManagedProcess, sig: int) -> float:
    """Send ``sig``; the monotonic time it was sent."""
    t = time.monotonic()
    os.kill(process.pid, sig)
    return t


async def reaped(process: ManagedProcess) -> None:
    """Wait until a signalled child has exited (and close its pipe)."""
    assert process.proc is not None
    await asyncio.to_thread(process.proc.wait, 30)
    await asyncio.to_thread(process.stop)


# --- scenarios ---------------------------------------------------------------------------


async def bench_bridge(workdir: Path, rounds: int) -> Figures:
    fig = Figures()
    broker = NatsServer(workdir / "bridge-js")
    broker.start_server()
    bridge = Bridge(broker.url, "bench")
    gw = Gateway(broker.url, "bench", "--demo")
    try:
        bridge.start_bridge()
        gw.start_gateway()
        async with rest_client(gw) as http, Prober(http, "/engines/bench/account") as probe:
            for _ in range(rounds):
                await http.post("/engines/bench/order", json=RESTING)
                killed = signal_now(bridge, signal.SIGKILL)
                fig.add("bridge SIGKILL -> first REST 503", await probe.first(503, killed) - killed)
                await reaped(bridge)
                started = time.monotonic()
                starting = asyncio.ensure_future(asyncio.to_thread(bridge.start_bridge))
                fig.add("bridge start -> first REST 200", await probe.first(200, started) - started)
                await starting
            others = {st for _, _, st in probe.results} - {200, 503}
            if others:
                fig.notes.append(f"bridge: other statuses seen while polling: {sorted(others)}")
    finally:
        for p in (gw, bridge, broker):
            p.stop()
    return fig


async def bench_nats(workdir: Path, rounds: int) -> Figures:
    fig = Figures()
    broker = NatsServer(workdir / "nats-js")
    broker.start_server()
    bridge = Bridge(broker.url, "bench")
    gw = Gateway(broker.url, "bench", "--demo")
    try:
        bridge.start_bridge()
        gw.start_gateway()
        async with rest_client(gw) as http, Prober(http, "/engines/bench/account") as probe:
            for _ in range(rounds):
                await probe.first(200, time.monotonic())
                stopped = signal_now(broker, signal.SIGTERM)
                first_503 = await probe.first(503, stopped)
                fig.add("nats stop -> first REST 503", first_503 - stopped)
                await reaped(broker)
                await asyncio.sleep(1.0)  # an outage of about a second
                outage_end = time.monotonic()
                for sent, done, status in probe.between(first_503, outage_end):
                    if status == 503 and done <= outage_end:
                        fig.add("REST 503 response time during the outage", done - sent)
                started = time.monotonic()
                restarting = asyncio.ensure_future(asyncio.to_thread(broker.start_server))
                fig.add("nats start -> first REST 200", await probe.first(200, started) - started)
                await restarting
            others = {st for _, _, st in probe.results} - {200, 503}
            if others:
                fig.notes.append(f"nats: other statuses seen while polling: {sorted(others)}")
            hung = [r for r in probe.results if r[1] - r[0] > 1.0]
            fig.notes.append(f"nats: REST calls slower than 1 s while polling: {len(hung)}")
    finally:
        for p in (gw, bridge, broker):
            p.stop()
    return fig


async def bench_cluster(workdir: Path, rounds: int) -> Figures:
    fig = Figures()
    for n in range(rounds):
        for victim in ("bridge's node (a follower)", "stream leader"):
            cluster = Cluster(workdir / f"cluster-{n}-{victim.split()[0]}")
            bridge = Bridge(cluster.url, "bench", "--js-replicas", "3")
            gw = Gateway(cluster.url, "bench", "--demo", "--request-timeout", "2")
            try:
                cluster.start()
                bridge.start_bridge()
                gw.start_gateway()
                await failover_once(cluster, gw, victim, fig)
            finally:
                for p in (gw, bridge):
                    p.stop()
                cluster.stop()
        cluster = Cluster(workdir / f"cluster-{n}-bare")
        try:
            cluster.start()
            await bare_leader_failover(cluster, fig)
        finally:
            cluster.stop()
    return fig


async def quiet(exc: Exception) -> None:
    """nats-py error callback that keeps the benchmark's output readable."""


async def cluster_client(cluster: Cluster) -> NatsClient:
    return await nats.connect(
        servers=cluster.urls,
        **cluster.admin,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.1,
        error_cb=quiet,
    )


async def stream_leader(nc: NatsClient, stream: str) -> str:
    info = await nc.jetstream().stream_info(stream)
    assert info.cluster is not None
    return str(info.cluster.leader)


KV_STREAM = "KV_wt_bench_client_orders"
EVENTS_STREAM = "WT_bench_EVENTS"


async def led_by(cluster: Cluster, nc: NatsClient, node: str) -> list[str]:
    """What ``node`` leads: the events stream, the client-order bucket, the JetStream meta."""
    roles = []
    if await stream_leader(nc, EVENTS_STREAM) == node:
        roles.append("events stream")
    if await stream_leader(nc, KV_STREAM) == node:
        roles.append("KV bucket")
    if await asyncio.to_thread(cluster.wait_meta_leader) == node:
        roles.append("meta")
    return roles


async def failover_once(cluster: Cluster, gw: Gateway, victim: str, fig: Figures) -> None:
    async with await cluster_client(cluster) as nc, rest_client(gw) as http:
        if victim == "stream leader":
            node = cluster.node(await stream_leader(nc, EVENTS_STREAM))
        else:  # move the streams' leaders away: only the bridge's connection fails over
            node = await asyncio.to_thread(cluster.connected_node, "engine-bridge bench")
            for stream in (EVENTS_STREAM, KV_STREAM):
                while await stream_leader(nc, stream) == node.node:
                    await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", b"", timeout=5)
                    await asyncio.sleep(0.5)
        roles = await led_by(cluster, nc, node.node)
        gw_node = await asyncio.to_thread(cluster.connected_node, "webtrader-gateway")
        async with OrderFlow(http, "bench") as flow:
            await flow.wait_acked(20)
            acked = len(flow.acked)
            killed = signal_now(node, signal.SIGKILL)
            await flow.wait_acked(acked + 20, timeout=60)
        after = [t for t, _ in flow.answers if t > killed]
        resumed = after[0] - killed
        fig.add(f"kill {victim} -> next order acknowledged", resumed)
        times = [t for t, _ in flow.answers]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        fig.add("order round trip through the cluster, steady state", statistics.median(gaps[:15]))
        fig.notes.append(
            f"killed {node.node} ({victim}; it led: {', '.join(roles) or 'nothing'}; "
            f"gateway {'on it' if gw_node is node else 'elsewhere'}): {fmt(resumed)}"
        )
    await reaped(node)


async def bare_leader_failover(cluster: Cluster, fig: Figures) -> None:
    """Reference: JetStream alone, a client publishing to an R3 stream, its leader killed."""
    async with await cluster_client(cluster) as nc:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="BARE", subjects=["bare.>"], num_replicas=3))
        for n in range(10):
            await js.publish("bare.x", b"x", headers={"Nats-Msg-Id": str(n)})
        node = cluster.node(await stream_leader(nc, "BARE"))
        killed = signal_now(node, signal.SIGKILL)
        while True:
            try:
                await js.publish("bare.x", b"x", timeout=0.25, headers={"Nats-Msg-Id": "after"})
                break
            except nats.errors.Error:
                await asyncio.sleep(0.01)
        fig.add("reference, JetStream alone: kill R3 leader -> next ack", time.monotonic() - killed)
    await reaped(node)


async def bench_gateway(workdir: Path, rounds: int) -> Figures:
    fig = Figures()
    broker = NatsServer(workdir / "gw-js")
    broker.start_server()
    bridge = Bridge(broker.url, "bench")
    gw = Gateway(broker.url, "bench", "--demo")
    try:
        bridge.start_bridge()
        gw.start_gateway()
        async with await nats.connect(broker.url, error_cb=quiet) as nc:
            for _ in range(rounds):
                await gateway_restart_once(gw, nc, fig)
    finally:
        for p in (gw, bridge, broker):
            p.stop()
    return fig


async def gateway_restart_once(gw: Gateway, nc: NatsClient, fig: Figures) -> None:
    async with stream_client(gw) as ws:
        await ws.subscribe_durable("bench", resume_from=0)
        async with rest_client(gw) as http:
            await http.post("/engines/bench/order", json=RESTING)
        top = max(await stream_events(nc, "bench"))
        await ws.wait_seq(top, "events before the kill")
        last = ws.last_seq()
        killed = signal_now(gw, signal.SIGKILL)
        await ws.wait_closed()
    await reaped(gw)
    restart_at = time.monotonic()

    def restart() -> float:
        gw.start_gateway()
        return time.monotonic()

    restarting = asyncio.ensure_future(asyncio.to_thread(restart))
    for _ in range(3):  # orders placed while the gateway is down
        await nc.request(request_subject("bench", Op.SUBMIT), json.dumps(RESTING).encode(), 10)
    top = max(await stream_events(nc, "bench"))
    while True:  # the client reconnects as fast as it can
        try:
            async with stream_client(gw) as ws:
                fig.add("gateway SIGKILL -> client reconnected", time.monotonic() - killed)
                await ws.subscribe_durable("bench", resume_from=last)
                await ws.wait_seq(top, "resumed events")
                fig.add("gateway SIGKILL -> client resumed (caught up)", time.monotonic() - killed)
                break
        except (OSError, httpx.HTTPError, WebSocketException, TimeoutError):
            await asyncio.sleep(0.02)
    fig.add("gateway start -> ready", await restarting - restart_at)


async def bench_slow(workdir: Path, rounds: int) -> Figures:
    fig = Figures()
    broker = NatsServer(workdir / "slow-js")
    broker.start_server()
    bridge = Bridge(broker.url, "bench", tick_rate=100)
    gw = Gateway(broker.url, "bench", "--demo")
    try:
        bridge.start_bridge()
        gw.start_gateway()
        async with rest_client(gw) as http:
            for vt_symbol in ("rb2601.SHFE", "au2606.SHFE", "IF2512.CFFEX"):
                await http.post(f"/engines/bench/tick/{vt_symbol}")
            for _ in range(rounds):
                await tick_latency(gw, fig, "alone")
                async with stalled_client(gw):
                    await tick_latency(gw, fig, "beside a stalled client")
    finally:
        for p in (gw, bridge, broker):
            p.stop()
    return fig


@asynccontextmanager
async def stalled_client(gw: Gateway) -> AsyncIterator[None]:
    """A /stream client subscribed 40 times to every tick that never reads."""
    token = await login(gw)
    sock = small_buffer_socket(gw)
    async with open_ws(ws_url(gw, "/stream", token), sock=sock, max_queue=1) as ws:
        for n in range(40):
            op = {"op": "subscribe", "id": n, "engine": "bench", "topic": "tick.>"}
            await ws.send(json.dumps(op))
        await asyncio.sleep(1.0)  # its buffers fill
        yield
        await close_draining(ws)


async def tick_latency(gw: Gateway, fig: Figures, label: str, count: int = 1500) -> None:
    """Latency (engine tick time -> receipt) and rate of ticks at one healthy client."""
    lat: list[float] = []
    async with stream_client(gw) as ws:
        await ws.subscribe("t", engine="bench", topic="tick.>")
        seen = len(ws.frames)
        t0 = time.monotonic()
        while len(lat) < count:
            if len(ws.frames) == seen:
                await asyncio.sleep(0.002)
                continue
            now = datetime.now().astimezone()
            for frame in ws.frames[seen:]:
                for e in frame.get("events", []):
                    tick_time = datetime.fromisoformat(e["data"]["datetime"])
                    lat.append((now - tick_time).total_seconds())
            seen = len(ws.frames)
            assert time.monotonic() - t0 < 60, "ticks stopped"
        rate = len(lat) / (time.monotonic() - t0)
    lat.sort()
    fig.add(f"tick latency p50, {label}", lat[len(lat) // 2])
    fig.add(f"tick latency p99, {label}", lat[int(len(lat) * 0.99)])
    fig.notes.append(f"tick rate received {label}: {rate:.0f}/s")


# --- main --------------------------------------------------------------------------------

BENCHES: dict[str, Callable[[Path, int], Awaitable[Figures]]] = {
    "bridge": bench_bridge,
    "nats": bench_nats,
    "cluster": bench_cluster,
    "gateway": bench_gateway,
    "slow": bench_slow,
}


def machine() -> str:
    """One line about where this ran."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from tests.support.processes import nats_server_binary  # noqa: PLC0415

    version = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {version}, all on loopback"
    )


async def run(only: list[str], rounds: int) -> int:
    print(f"machine: {machine()}")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="wt-recovery-") as tmp:
        for name in only:
            print(f"\n[{name}]")
            t = time.monotonic()
            try:
                fig = await BENCHES[name](Path(tmp), rounds)
            except Exception as exc:  # noqa: BLE001 - report and go on with the next one
                failed += 1
                print(f"  FAILED: {type(exc).__name__}: {exc}".splitlines()[0][:300])
                continue
            fig.print()
            print(f"  ({time.monotonic() - t:.0f} s)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="repetitions per scenario (default 3)")
    p.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return asyncio.run(run(only, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
