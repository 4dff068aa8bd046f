"""Checks an order must pass against its contract before it reaches an engine.

These are the judgements anyone holding the contract can make (shape of the order); what
only the engine can judge (funds, position to close) becomes a REJECTED order instead.
"""

from __future__ import annotations

import math
from datetime import datetime

from schemas.enums import Interval, OrderType
from schemas.errors import UnprocessableError
from schemas.objects import ContractData
from schemas.requests import HistoryRequest, OrderRequest

DEFAULT_MAX_VOLUME = 1_000_000.0
"""Cap on one order's volume where the contract states none."""

_GRID_TOLERANCE = 1e-6


def on_grid(value: float, step: float) -> bool:
    """True if ``value`` is a whole multiple of ``step`` (within float noise)."""
    if step <= 0:
        return True
    ratio = value / step
    return abs(ratio - round(ratio)) <= _GRID_TOLERANCE * max(1.0, abs(ratio))


def validate_order(req: OrderRequest, contract: ContractData) -> None:
    """Raise :class:`UnprocessableError` naming the field if ``contract`` cannot take ``req``.

    Checks: volume finite, > 0, within min/max volume and a whole multiple of min_volume;
    price finite, >= 0, on the price grid and inside limit_up/limit_down (priced orders).
    """
    volume, price = req.volume, req.price
    if not math.isfinite(volume) or volume <= 0:
        raise UnprocessableError(f"volume must be a finite number > 0, got {volume}", "volume")
    if volume < contract.min_volume:
        raise UnprocessableError(
            f"volume {volume} is below the contract's min_volume {contract.min_volume}", "volume"
        )
    max_volume = contract.max_volume or DEFAULT_MAX_VOLUME
    if volume > max_volume:
        raise UnprocessableError(f"volume {volume} exceeds the maximum {max_volume}", "volume")
    if not on_grid(volume, contract.min_volume):
        raise UnprocessableError(
            f"volume {volume} is not a multiple of min_volume {contract.min_volume}", "volume"
        )
    if not math.isfinite(price) or price < 0:
        raise UnprocessableError(f"price must be a finite number >= 0, got {price}", "price")
    if req.type is OrderType.MARKET:
        return
    if price <= 0:
        raise UnprocessableError(f"a {req.type.value} order needs a price > 0", "price")
    if not on_grid(price, contract.pricetick):
        raise UnprocessableError(
            f"price {price} is not on the price grid (pricetick {contract.pricetick})", "price"
        )
    if contract.limit_up is not None and price > contract.limit_up:
        raise UnprocessableError(f"price {price} is above limit_up {contract.limit_up}", "price")
    if contract.limit_down is not None and price < contract.limit_down:
        raise UnprocessableError(
            f"price {price} is below limit_down {contract.limit_down}", "price"
        )


MAX_BARS = 5000
"""Most bars one ``bars`` reply holds: the newest ones when the window has more."""


HISTORY_YEARS = (1900, 2200)
"""Years a bars request may name (far dates overflow date arithmetic)."""


def history_window(req: HistoryRequest, now: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` of a bars request, ``end`` defaulting to ``now``.

    Raises:
        UnprocessableError: a ``TICK`` interval (bars only), ``end`` not after ``start``, or
            a date outside the years 1900-2200 (whose arithmetic could overflow).
    """
    for name, value in (("start", req.start), ("end", req.end)):
        if value is not None and not HISTORY_YEARS[0] <= value.year <= HISTORY_YEARS[1]:
            raise UnprocessableError(f"{name} must fall in the years 1900 to 2200", name)
    if req.interval is Interval.TICK:
        raise UnprocessableError("bars need MINUTE, HOUR, DAILY or WEEKLY", "interval")
    end = req.end or now
    if end <= req.start:
        raise UnprocessableError("end must be after start", "end" if req.end else "start")
    return req.start, end
