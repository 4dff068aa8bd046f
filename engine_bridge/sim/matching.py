"""Crossing an order with the book: which levels it takes and how much of each.

Pure functions on :class:`~engine_bridge.sim.market.Level` lists; planning and taking are
separate so a fill-or-kill order can look before it leaps.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine_bridge.sim.market import Level, Market
from schemas.enums import Direction, OrderType

UNSUPPORTED_TYPES = frozenset({OrderType.STOP, OrderType.RFQ, OrderType.ETF})
"""Order types the simulator rejects."""

_EPS = 1e-9


@dataclass(frozen=True)
class Fill:
    """A planned or done fill: ``volume`` at ``ticks``."""

    ticks: int
    volume: float


def crosses(is_buy: bool, limit: int | None, level: Level) -> bool:
    """True if an order at ``limit`` (None: any price) trades with ``level`` of the other side."""
    if limit is None:
        return True
    return level.ticks <= limit if is_buy else level.ticks >= limit


def plan(levels: list[Level], is_buy: bool, limit: int | None, volume: float) -> list[Fill]:
    """Fills of ``volume`` against ``levels`` (the other side, best first) up to ``limit``.

    Takes each crossing level's volume in turn until ``volume`` is filled or no level
    crosses; the total may be less than ``volume`` when the book is thin.
    """
    fills: list[Fill] = []
    left = volume
    for level in levels:
        if left <= _EPS or not crosses(is_buy, limit, level):
            break
        take = min(level.volume, left)
        if take > _EPS:
            fills.append(Fill(level.ticks, take))
            left -= take
    return fills


def take(levels: list[Level], fills: list[Fill]) -> None:
    """Remove the volume of ``fills`` (made by :func:`plan` on ``levels``) from the book."""
    for fill in fills:
        for level in levels:
            if level.ticks == fill.ticks:
                level.volume -= fill.volume
                break
    levels[:] = [level for level in levels if level.volume > _EPS]


def opposite_side(market: Market, direction: Direction) -> list[Level]:
    """The levels an order of ``direction`` trades against: asks for a buy, bids for a sell."""
    return market.asks if direction is Direction.LONG else market.bids


def total(fills: list[Fill]) -> float:
    """Volume of ``fills``."""
    return sum(f.volume for f in fills)
