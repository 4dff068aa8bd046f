"""PNG chart of the fan-out sweeps: latency (p50, p99) and delivered % against tick rate.

Needs matplotlib (the ``bench`` extra).  Two columns: batched (``/stream`` vs the batched
floor) and one event per frame (vnpy's ``/ws/`` vs the per-frame floor); one colour per
client count, solid lines for the gateway, dashed for the floor; latency above (p99 bold,
p50 thin), the share of ticks delivered below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

PANELS = (
    ("batched frames: /stream vs floor", "stream", "floor"),
    ("one event per frame: /ws/ vs floor", "ws", "floor_frame"),
)


def plot(ticks: dict[str, Any], path: Path, machine: dict[str, Any]) -> None:
    """Write the chart of ``ticks["sweeps"]`` to ``path``: latency above, delivered % below."""
    sweeps = ticks["sweeps"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9), sharex="col", height_ratios=(2, 1))
    counts = sorted({r["clients"] for rows in sweeps.values() for r in rows})
    colours = {c: plt.get_cmap("tab10")(i) for i, c in enumerate(counts)}
    for col, (title, gw, floor) in enumerate(PANELS):
        top, bottom = axes[0][col], axes[1][col]
        for endpoint, style in ((gw, "-"), (floor, "--")):
            for clients in counts:
                rows = [r for r in sweeps.get(endpoint, []) if r["clients"] == clients]
                if not rows:
                    continue
                x = [r["rate"] for r in rows]
                timed = [r for r in rows if r["p99_ms"] is not None]
                colour = colours[clients]
                top.plot(
                    [r["rate"] for r in timed],
                    [r["p99_ms"] for r in timed],
                    style,
                    color=colour,
                    lw=2,
                    marker="o",
                    label=f"{endpoint} {clients} clients p99",
                )
                top.plot(
                    [r["rate"] for r in timed],
                    [r["p50_ms"] for r in timed],
                    style,
                    color=colour,
                    lw=0.8,
                    marker=".",
                    alpha=0.7,
                )
                bottom.plot(
                    x,
                    [r["delivered_pct"] for r in rows],
                    style,
                    color=colour,
                    lw=1.5,
                    marker="o",
                    label=f"{endpoint} {clients}",
                )
        top.axhline(100, color="grey", lw=0.8, ls=":")
        top.set_yscale("log")
        top.set_title(title)
        top.legend(fontsize=7, loc="upper left")
        bottom.axhline(99, color="grey", lw=0.8, ls=":")
        bottom.set_ylim(0, 105)
        bottom.set_xlabel("ticks/s offered to each client")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.25)
    axes[0][0].set_ylabel("latency, engine timestamp -> receipt (ms)\nbold p99, thin p50")
    axes[1][0].set_ylabel("delivered %")
    fig.suptitle(
        f"nats-webtrader fan-out vs rate ({machine.get('cores')} cores, {machine.get('cpu', '')})"
        "; solid: gateway, dashed: floor; dotted: 100 ms / 99 %",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
