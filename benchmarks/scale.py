"""How big each workload is: the full suite, and ``--quick`` (every workload, tiny)."""

from __future__ import annotations

from dataclasses import dataclass, field

Sweep = dict[int, list[float]]
"""Clients -> tick rates (ticks/s each client should receive), increasing."""


@dataclass(frozen=True, kw_only=True)
class Scale:
    """Sizes of every workload (see docs/performance.md)."""

    name: str
    # 1. POST /order
    order_sequential: int
    order_clients: int = 16
    order_client_requests: int
    load_procs: int = 2
    # 2. GET /order
    orders_held: int
    list_requests: int
    # 3. POST /token
    login_requests: int
    # 4. fan-out sweeps (synthetic source) and fixed-rate targets (sim engine source)
    sweep_batched: Sweep = field(default_factory=dict)
    sweep_frames: Sweep = field(default_factory=dict)
    sweep_window: float
    sweep_warmup: float
    grace: float
    fixed: tuple[tuple[str, int, float], ...]
    """``(endpoint, clients, ticks/s)`` measured with the sim engine as the source."""
    fixed_window: float
    ws_procs: int = 2
    # 5. idle WebSockets
    idle_clients: int
    # 6. slow client
    slow_healthy: int
    slow_rate: float
    slow_window: float
    slow_hold: float
    # 7. cold start
    coldstart_rounds: int


FULL = Scale(
    name="full",
    order_sequential=2000,
    order_client_requests=150,
    orders_held=5000,
    list_requests=100,
    login_requests=100,
    sweep_batched={
        1: [2_000, 10_000, 30_000, 60_000],
        10: [1_000, 5_000, 15_000, 30_000],
        100: [300, 1_000, 2_500, 5_000],
        500: [100, 300, 700, 1_200],
    },
    sweep_frames={
        1: [2_000, 5_000, 10_000, 20_000],
        10: [1_000, 3_000, 6_000, 10_000],
        100: [100, 300, 700, 1_500],
        500: [50, 100, 250, 500],
    },
    sweep_window=1.5,
    sweep_warmup=0.7,
    grace=0.7,
    fixed=(
        ("stream", 100, 1000),
        ("ws", 10, 3000),
        ("ws", 100, 300),
        ("stream+deflate", 100, 1000),
    ),
    fixed_window=4.0,
    idle_clients=1000,
    slow_healthy=10,
    slow_rate=1000,
    slow_window=4.0,
    slow_hold=10.0,
    coldstart_rounds=3,
)

QUICK = Scale(
    name="quick",
    order_sequential=30,
    order_client_requests=3,
    orders_held=120,
    list_requests=5,
    login_requests=5,
    sweep_batched={1: [300], 4: [200]},
    sweep_frames={1: [300], 4: [200]},
    sweep_window=0.5,
    sweep_warmup=0.5,
    grace=0.5,
    fixed=(("stream", 4, 100), ("ws", 2, 150), ("ws", 4, 50), ("stream+deflate", 2, 50)),
    fixed_window=0.5,
    idle_clients=20,
    slow_healthy=3,
    slow_rate=150,
    slow_window=0.5,
    slow_hold=1.0,
    coldstart_rounds=1,
)
