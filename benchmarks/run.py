"""The benchmark suite of issue 5: every workload, the floor in the same run, the targets.

Run from the repository root (see docs/performance.md)::

    python -m benchmarks.run                       # full suite, ~8 minutes on 2 cores
    python -m benchmarks.run --quick               # every workload, tiny (CI smoke run)
    python -m benchmarks.run --only ticks,login --json out.json --chart fanout.png

Workloads: ``floor`` (request-reply floor; the fan-out floor is measured inside ``ticks``),
``orders``, ``order_list``, ``login``, ``ticks``, ``idle_ws``, ``slow_client``,
``coldstart``.  ``orders`` brings ``floor`` with it (its targets are ratios to it).
Servers and clients are separate processes on loopback; each group of workloads gets a
fresh nats-server, sim engine bridge and gateway.  Prints Markdown tables (and writes them
with ``--markdown``), writes the JSON with ``--json``, a PNG chart with ``--chart``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import coldstart, idle_ws, login, orders, profile, slow_client, ticks
from benchmarks.harness import REPO, machine, stack
from benchmarks.load import login as get_token
from benchmarks.report import render, targets
from benchmarks.scale import FULL, QUICK, Scale

WORKLOADS = (
    "floor",
    "orders",
    "order_list",
    "login",
    "ticks",
    "idle_ws",
    "slow_client",
    "coldstart",
)
REST = {"floor", "orders", "order_list", "login"}


def selected(only: str | None) -> list[str]:
    """The workloads to run, in suite order (``orders`` implies ``floor``)."""
    if not only:
        return list(WORKLOADS)
    names = {n.strip() for n in only.split(",") if n.strip()}
    unknown = names - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(sorted(unknown))}; one of {WORKLOADS}")
    if "orders" in names:
        names.add("floor")
    return [w for w in WORKLOADS if w in names]


async def run_rest(names: list[str], scale: Scale, results: dict[str, Any]) -> None:
    async with stack(tick_rate=2) as st:
        token = await get_token(st.http)
        if "floor" in names or "orders" in names:
            got = await orders.run_floor_and_orders(st, scale, token)
            results["floor"] = got["floor"]
            if "orders" in names:
                results["orders"] = got["orders"]
        if "order_list" in names:
            results["order_list"] = await orders.run_order_list(st, scale, token)
        if "login" in names:
            results["login"] = await login.run(st, scale)


async def run_suite(names: list[str], scale: Scale) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if REST & set(names):
        print("== HTTP: floor, orders, order list, login", flush=True)
        await run_rest(names, scale, results)
    if "ticks" in names:
        print("== ticks (fan-out)", flush=True)
        async with stack(tick_rate=2) as st:
            results["ticks"] = await ticks.run(st, scale)
    if "idle_ws" in names:
        print("== idle WebSockets", flush=True)
        async with stack(tick_rate=2) as st:
            results["idle_ws"] = await idle_ws.run(st, scale)
    if "slow_client" in names:
        print("== slow client", flush=True)
        async with stack(tick_rate=2) as st:
            results["slow_client"] = await slow_client.run(st, scale)
    if "coldstart" in names:
        print("== cold start", flush=True)
        results["coldstart"] = await coldstart.run(scale.coldstart_rounds)
    return results


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return ""
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every workload, tiny (CI smoke run)")
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--markdown", type=Path, help="write the tables here")
    parser.add_argument("--chart", type=Path, help="write the fan-out latency chart (PNG) here")
    parser.add_argument(
        "--profile", type=Path, help="py-spy every server into this directory (see profile.py)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        os.environ[profile.ENV] = str(args.profile.resolve())
    scale = QUICK if args.quick else FULL
    names = selected(args.only)
    started = time.time()
    info = machine()
    print(f"nats-webtrader benchmarks ({scale.name}): {', '.join(names)}", flush=True)
    results = asyncio.run(run_suite(names, scale))
    doc: dict[str, Any] = {
        "suite": "nats-webtrader benchmarks (issue 5)",
        "mode": scale.name,
        "workloads": names,
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "commit": git_commit(),
        "machine": info,
        "results": results,
    }
    doc["targets"] = targets(results)
    text = render(doc)
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    if args.chart and "ticks" in results:
        from benchmarks.chart import plot  # noqa: PLC0415 - needs the bench extra (matplotlib)

        plot(results["ticks"], args.chart, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
