"""A simulated market per contract: a random walk on the price grid and a 5-level book.

Prices are held as integer numbers of ticks (``price / pricetick``) so they stay exactly on
the grid; :meth:`Market.price` turns ticks back into a rounded float.  The best bid moves
within ``limit_down .. limit_up - 1 tick`` and the best ask is one tick above it, so the ask
side always shows at least one level at or below ``limit_up`` and the bid side one at or
above ``limit_down`` (a buy at ``limit_up`` always crosses; a buy at ``limit_down`` never
does).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine_bridge.sim.contracts import SimSpec, price_digits
from schemas.objects import TickData

DEPTH = 5
"""Levels per side of the book."""


@dataclass
class Level:
    """One price level of the book: ``ticks`` (price / pricetick) and the volume shown."""

    ticks: int
    volume: float


class Market:
    """The market state of one contract: last price, session stats and the book.

    Every contract has one, subscribed or not, so orders can always trade against it.
    ``rng`` drives the walk; give each market its own seeded generator for reproducible paths.
    """

    def __init__(self, spec: SimSpec, rng: random.Random) -> None:
        c = spec.contract
        self.spec = spec
        self.rng = rng
        self.pricetick = c.pricetick
        self.digits = price_digits(c.pricetick)
        self.start = round(spec.start_price / c.pricetick)
        self.limit_down = round((c.limit_down or 0.0) / c.pricetick)
        self.limit_up = round((c.limit_up or 0.0) / c.pricetick) if c.limit_up else 2**62
        self.band = max(1, min(self.start - self.limit_down, self.limit_up - self.start))
        self.bid1 = self._clamp(self.start)
        self.last = self.start
        self.high = self.low = self.start
        self.last_volume = 0.0
        self.volume = 0.0
        self.turnover = 0.0
        self.open_interest = float(rng.randint(50_000, 200_000)) if not spec.is_stock else 0.0
        self.bids: list[Level] = []
        self.asks: list[Level] = []
        self._rebuild_book()

    # ------------------------------------------------------------------------ price grid

    def price(self, ticks: int) -> float:
        """The price of ``ticks``, rounded to the grid's decimals."""
        return round(ticks * self.pricetick, self.digits)

    def ticks_of(self, price: float) -> int:
        """The nearest grid point of ``price``, in ticks."""
        return round(price / self.pricetick)

    def _clamp(self, bid1: int) -> int:
        return max(self.limit_down, min(self.limit_up - 1, bid1))

    # ------------------------------------------------------------------------- evolution

    def step(self) -> None:
        """One step of the walk: move the best bid, rebuild the book, print a trade."""
        rng = self.rng
        delta = rng.randint(-self.spec.step, self.spec.step)
        pull = (self.start - self.bid1) / self.band
        if rng.random() < abs(pull) * 0.5:
            delta = 1 if pull > 0 else -1
        self.bid1 = self._clamp(self.bid1 + delta)
        self._rebuild_book()
        last = self.bid1 if rng.random() < 0.5 else self.bid1 + 1  # noqa: PLR2004
        self.record_trade(last, self.spec.contract.min_volume * rng.randint(1, 5))

    def record_trade(self, ticks: int, volume: float) -> None:
        """Account a trade at ``ticks`` in the session's last price, volume and turnover."""
        self.last = ticks
        self.high = max(self.high, ticks)
        self.low = min(self.low, ticks)
        self.last_volume = volume
        self.volume += volume
        self.turnover += self.price(ticks) * volume * self.spec.contract.size

    def _rebuild_book(self) -> None:
        unit = self.spec.contract.min_volume
        depth = self.spec.depth
        rng = self.rng
        self.bids = [
            Level(self.bid1 - i, unit * rng.randint(1, depth))
            for i in range(DEPTH)
            if self.bid1 - i >= self.limit_down
        ]
        self.asks = [
            Level(self.bid1 + 1 + i, unit * rng.randint(1, depth))
            for i in range(DEPTH)
            if self.bid1 + 1 + i <= self.limit_up
        ]

    def resume(self, tick: TickData | None = None, last_price: float | None = None) -> None:
        """Continue from an earlier run: its last ``tick`` (session stats, book) and/or price.

        ``last_price`` (the latest trade, when newer than ``tick``) wins over the tick's last
        price; the walk continues from the restored best bid (or from the last price).
        """
        if tick is not None:
            self.last = self.ticks_of(tick.last_price)
            self.high = self.ticks_of(tick.high_price) if tick.high_price else self.last
            self.low = self.ticks_of(tick.low_price) if tick.low_price else self.last
            self.last_volume = tick.last_volume
            self.volume = tick.volume
            self.turnover = tick.turnover
            self.open_interest = tick.open_interest
            bid1 = self.ticks_of(tick.bid_price_1) if tick.bid_price_1 else self.last
        else:
            bid1 = self.last
        if last_price is not None:
            self.last = self.ticks_of(last_price)
            self.high, self.low = max(self.high, self.last), min(self.low, self.last)
            bid1 = self.last
        self.bid1 = self._clamp(bid1)
        self._rebuild_book()

    def set_book(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        """Replace the book with ``(price, volume)`` levels, best first (for tests, replays)."""
        self.bids = [Level(self.ticks_of(p), v) for p, v in bids]
        self.asks = [Level(self.ticks_of(p), v) for p, v in asks]
        if self.bids:
            self.bid1 = self.bids[0].ticks

    # ---------------------------------------------------------------------------- ticks

    def tick(self, now: datetime) -> TickData:
        """A snapshot of the market as a :class:`TickData`."""
        c = self.spec.contract
        book: dict[str, Any] = {}  # the 20 book fields, typed by TickData itself
        for side, levels in (("bid", self.bids), ("ask", self.asks)):
            for i, level in enumerate(levels[:DEPTH], start=1):
                book[f"{side}_price_{i}"] = self.price(level.ticks)
                book[f"{side}_volume_{i}"] = level.volume
        return TickData(
            gateway_name=c.gateway_name,
            symbol=c.symbol,
            exchange=c.exchange,
            datetime=now,
            name=c.name,
            volume=self.volume,
            turnover=round(self.turnover, 2),
            open_interest=self.open_interest,
            last_price=self.price(self.last),
            last_volume=self.last_volume,
            limit_up=c.limit_up or 0.0,
            limit_down=c.limit_down or 0.0,
            open_price=self.price(self.start),
            high_price=self.price(self.high),
            low_price=self.price(self.low),
            pre_close=self.price(self.start),
            **book,
        )
