"""Bar history of the simulator: a random walk that ends at a market's last price.

The simulator keeps no past, so ``bars`` draws one: walking back from the market's last
price, each bar's close moves a few steps from the next bar's open, pulled towards the
contract's start price and kept inside ``limit_down .. limit_up``.  The walk is seeded by
the contract, the interval and the newest bar's time, so the same request at the same
market price gives the same bars.  Bars open on whole intervals counted from Monday
1970-01-05 00:00 UTC (weeks start on Mondays).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from engine_bridge.sim.market import Market
from schemas.enums import Interval
from schemas.objects import BarData
from schemas.validation import MAX_BARS

ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)
"""A Monday: bars open on whole intervals after it."""

STEP_SECONDS = {
    Interval.MINUTE: 60,
    Interval.HOUR: 3600,
    Interval.DAILY: 86_400,
    Interval.WEEKLY: 7 * 86_400,
}
"""Length of each interval bars can have."""

_SCALE = {Interval.MINUTE: 3, Interval.HOUR: 10, Interval.DAILY: 30, Interval.WEEKLY: 60}
"""How many of the contract's walk steps one bar may move, per interval."""


def bar_times(start: datetime, end: datetime, interval: Interval) -> list[datetime]:
    """Opening times of the bars in ``[start, end)``: the newest :data:`MAX_BARS` of them."""
    step = STEP_SECONDS[interval]
    first = math.ceil((start - ORIGIN).total_seconds() / step)
    last = math.ceil((end - ORIGIN).total_seconds() / step) - 1
    first = max(first, last - MAX_BARS + 1)
    return [ORIGIN + timedelta(seconds=k * step) for k in range(first, last + 1)]


def history_bars(market: Market, interval: Interval, times: list[datetime]) -> list[BarData]:
    """One bar per time in ``times`` (oldest first), the newest closing at the last price."""
    if not times:
        return []
    c = market.spec.contract
    rng = random.Random(f"{c.vt_symbol}|{interval.value}|{times[-1].isoformat()}")  # noqa: S311
    reach = max(1, market.spec.step * _SCALE[interval])
    lots = math.sqrt(STEP_SECONDS[interval] / 60)
    low_bound, high_bound = market.limit_down, market.limit_up
    close = market.last
    bars: list[BarData] = []
    for opened in reversed(times):
        pull = (market.start - close) / market.band
        move = rng.randint(-reach, reach) - round(pull * reach / 2)
        open_ = max(low_bound, min(high_bound, close - move))
        high = min(high_bound, max(open_, close) + rng.randint(0, reach // 2))
        low = max(low_bound, min(open_, close) - rng.randint(0, reach // 2))
        volume = c.min_volume * max(1, round(rng.randint(5, 50) * lots))
        bars.append(
            BarData(
                gateway_name=c.gateway_name,
                symbol=c.symbol,
                exchange=c.exchange,
                datetime=opened,
                interval=interval,
                volume=volume,
                turnover=round(market.price((open_ + close) // 2) * volume * c.size, 2),
                open_interest=market.open_interest,
                open_price=market.price(open_),
                high_price=market.price(high),
                low_price=market.price(low),
                close_price=market.price(close),
            )
        )
        close = open_
    bars.reverse()
    return bars
