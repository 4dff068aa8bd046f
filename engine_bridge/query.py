"""The filters of list queries (:class:`schemas.requests.Query`).

Applied by the bridge the same way to whatever an engine returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from schemas.errors import BadRequestError
from schemas.objects import OrderData
from schemas.requests import Query

T = TypeVar("T")


def apply_query(items: Sequence[T], query: Query) -> list[T]:
    """Keep the items ``query`` selects, in their order.

    ``vt_symbol`` keeps items of that contract (items without a ``vt_symbol``, such as
    accounts, are kept); ``active`` keeps active orders (other items are kept); ``limit``
    keeps the last (newest) N.

    Raises:
        BadRequestError: ``limit`` is negative (``field="limit"``).
    """
    if query.limit is not None and query.limit < 0:
        raise BadRequestError(f"limit must be >= 0, got {query.limit}", field="limit")
    kept = [
        item
        for item in items
        if (
            query.vt_symbol is None
            or getattr(item, "vt_symbol", query.vt_symbol) == query.vt_symbol
        )
        and (not query.active or not isinstance(item, OrderData) or item.is_active())
    ]
    if query.limit is not None:
        kept = kept[len(kept) - query.limit :] if query.limit else []
    return kept
