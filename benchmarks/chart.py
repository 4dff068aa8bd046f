"""PNG chart of the fan-out sweeps: latency (p50, p99) against the tick rate per client.

Needs matplotlib (the ``bench`` extra).  Two panels: batched (``/stream`` vs the batched
floor) and one event per frame (vnpy's ``/ws/`` vs the per-frame floor); one colour per
client count, solid lines for the gateway, dashed for the floor, p99 bold and p50 thin.
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
    """Write the chart of ``ticks["sweeps"]`` to ``path``."""
    sweeps = ticks["sweeps"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    counts = sorted({r["clients"] for rows in sweeps.values() for r in rows})
    colours = {c: plt.get_cmap("tab10")(i) for i, c in enumerate(counts)}
    for ax, (title, gw, floor) in zip(axes, PANELS, strict=True):
        for endpoint, style in ((gw, "-"), (floor, "--")):
            for clients in counts:
                rows = [r for r in sweeps.get(endpoint, []) if r["clients"] == clients]
                rows = [r for r in rows if r["p99_ms"] is not None]
                if not rows:
                    continue
                x = [r["rate"] for r in rows]
                ax.plot(
                    x,
                    [r["p99_ms"] for r in rows],
                    style,
                    color=colours[clients],
                    lw=2,
                    marker="o",
                    label=f"{endpoint} {clients} clients p99",
                )
                ax.plot(
                    x,
                    [r["p50_ms"] for r in rows],
                    style,
                    color=colours[clients],
                    lw=0.8,
                    marker=".",
                    alpha=0.7,
                )
        ax.axhline(100, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("ticks/s delivered to each client (offered)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("latency, engine timestamp -> client receipt (ms); bold p99, thin p50")
    fig.suptitle(
        f"nats-webtrader fan-out latency vs rate ({machine.get('cores')} cores, "
        f"{machine.get('cpu', '')}); dashed: floor; dotted: 100 ms",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
