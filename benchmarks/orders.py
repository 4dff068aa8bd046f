"""Workloads 1-2 and the request-reply floor: ``POST /order``, ``GET /order``, ``POST /rr``.

* **floor** - the bare Litestar app of :mod:`benchmarks.floor` (``POST /rr``: one NATS
  request-reply to a trivial responder), sequential and with 16 concurrent clients, with
  the very bodies the order workload sends.
* **orders** - vnpy_webtrader's ``POST /order`` on the sim engine: passive limit buys at
  the contract's ``limit_down`` (they always rest), alternating ``000001.SZSE`` and
  ``m2605.DCE``; sequential (one keep-alive client), then 16 concurrent clients spread over
  ``load_procs`` processes.
* **breakdown** - the same bodies as NATS requests straight from the suite's process (no
  HTTP): to the floor's trivial responder, and to the bridge's ``submit`` endpoint.
* **order_list** - with ``orders_held`` orders on the engine (topped up straight on NATS),
  ``GET /order`` (all) and ``GET /order?vt_symbol=m2605.DCE``, sequential; then
  ``POST /order`` again, sequential, to show what the orders held cost a submit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import nats

from benchmarks.harness import Proc, Stack, free_port, py
from benchmarks.load import http_load, nats_sequential
from benchmarks.scale import Scale
from schemas.subjects import Op, request_subject

PASSIVE_ORDERS = [
    {
        "symbol": "000001",
        "exchange": "SZSE",
        "direction": "LONG",
        "type": "LIMIT",
        "offset": "NONE",
        "volume": 100,
        "price": 10.35,
    },
    {
        "symbol": "m2605",
        "exchange": "DCE",
        "direction": "LONG",
        "type": "LIMIT",
        "offset": "OPEN",
        "volume": 1,
        "price": 2726,
    },
]
"""Buys at limit_down: they rest (funds for ~6,000 of them on the sim's account)."""
FILTER_SYMBOL = "m2605.DCE"
WARMUP = 20
RR_SUBJECT = "bench.floor.rr"
"""The floor responder's subject (benchmarks.floor.RR_SUBJECT, not imported: that module
pulls in the servers' dependencies)."""


class Floor:
    """The request-reply floor: trivial responder + bare Litestar app (two processes)."""

    def __init__(self, nats_url: str) -> None:
        self.port = free_port()
        self.responder = Proc(
            "floor-responder", py("benchmarks.floor", "responder", "--nats-url", nats_url)
        )
        self.app = Proc(
            "floor-rr", py("benchmarks.floor", "rr", "--nats-url", nats_url, "--port", self.port)
        )

    def start(self) -> None:
        self.responder.start(r"responder ready")
        self.app.start(r"floor ready")

    def stop(self) -> None:
        self.app.stop()
        self.responder.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def sequential(
    base: str, path: str, scale: Scale, token: str | None, servers: dict[str, int]
) -> dict[str, Any]:
    return await http_load(
        base,
        path,
        method="POST",
        bodies=PASSIVE_ORDERS,
        token=token,
        requests=scale.order_sequential,
        warmup=WARMUP,
        servers=servers,
    )


async def concurrent(
    base: str, path: str, scale: Scale, token: str | None, servers: dict[str, int]
) -> dict[str, Any]:
    return await http_load(
        base,
        path,
        method="POST",
        bodies=PASSIVE_ORDERS,
        token=token,
        clients=scale.order_clients,
        requests=scale.order_client_requests,
        procs=scale.load_procs,
        warmup=2,
        servers=servers,
    )


async def run_floor_and_orders(st: Stack, scale: Scale, token: str) -> dict[str, Any]:
    """Floor and gateway alternately: sequential, then concurrent."""
    floor = Floor(st.nats_url)
    await asyncio.to_thread(floor.start)
    assert st.gateway is not None
    assert st.bridge is not None
    ours = {"gateway": st.gateway.pid, "bridge": st.bridge.pid, "nats-server": st.nats.pid}
    theirs = {"app": floor.app.pid, "responder": floor.responder.pid, "nats-server": st.nats.pid}
    try:
        out: dict[str, Any] = {"floor": {}, "orders": {}}
        print("  floor POST /rr sequential", flush=True)
        out["floor"]["rr_sequential"] = await sequential(floor.url, "/rr", scale, None, theirs)
        print("  POST /order sequential", flush=True)
        out["orders"]["sequential"] = await sequential(st.http, "/order", scale, token, ours)
        print("  NATS request-reply without HTTP: trivial responder, bridge submit", flush=True)
        n = scale.order_sequential // 2
        out["floor"]["nats_rr"] = await nats_sequential(st.nats_url, RR_SUBJECT, PASSIVE_ORDERS, n)
        submit = request_subject("sim", Op.SUBMIT)
        out["orders"]["nats_submit"] = await nats_sequential(st.nats_url, submit, PASSIVE_ORDERS, n)
        print(f"  floor POST /rr x {scale.order_clients} clients", flush=True)
        out["floor"]["rr_concurrent"] = await concurrent(floor.url, "/rr", scale, None, theirs)
        print(f"  POST /order x {scale.order_clients} clients", flush=True)
        out["orders"]["concurrent"] = await concurrent(st.http, "/order", scale, token, ours)
    finally:
        await asyncio.to_thread(floor.stop)
    return out


async def top_up(nats_url: str, target: int) -> dict[str, int]:
    """Submit passive orders straight to the engine until it holds ``target``; statuses."""
    nc = await nats.connect(nats_url)
    try:
        orders = msgspec.json.decode(
            (await nc.request(request_subject("sim", Op.ORDERS), b"", timeout=30)).data
        )
        missing = target - len(orders)
        sem = asyncio.Semaphore(32)

        async def submit(i: int) -> None:
            async with sem:
                body = msgspec.json.encode(PASSIVE_ORDERS[i % len(PASSIVE_ORDERS)])
                await nc.request(request_subject("sim", Op.SUBMIT), body, timeout=30)

        await asyncio.gather(*(submit(i) for i in range(max(0, missing))))
        orders = msgspec.json.decode(
            (await nc.request(request_subject("sim", Op.ORDERS), b"", timeout=30)).data
        )
    finally:
        await nc.close()
    statuses: dict[str, int] = {}
    for o in orders:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    return {"held": len(orders), **statuses}


async def run_order_list(st: Stack, scale: Scale, token: str) -> dict[str, Any]:
    print(f"  GET /order with {scale.orders_held} orders held", flush=True)
    held = await top_up(st.nats_url, scale.orders_held)
    out: dict[str, Any] = {"orders": held}
    for name, path in (("all", "/order"), ("filtered", f"/order?vt_symbol={FILTER_SYMBOL}")):
        out[name] = await http_load(
            st.http, path, token=token, requests=scale.list_requests, warmup=2
        )
    print(f"  POST /order sequential with {held['held']} orders held", flush=True)
    out["submit_when_held"] = await http_load(
        st.http,
        "/order",
        method="POST",
        bodies=PASSIVE_ORDERS,
        token=token,
        requests=scale.list_requests,
        warmup=2,
    )
    return out
