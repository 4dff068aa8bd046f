"""List-query filters applied by the bridge to whatever an engine returns."""

from __future__ import annotations

import pytest

from engine_bridge.query import apply_query
from schemas.enums import Direction, Exchange, Status
from schemas.errors import BadRequestError
from schemas.objects import AccountData, OrderData
from schemas.requests import Query


def make_order(n: int, symbol: str = "rb2601", status: Status = Status.NOTTRADED) -> OrderData:
    return OrderData(
        gateway_name="SIM",
        symbol=symbol,
        exchange=Exchange.SHFE,
        orderid=str(n),
        direction=Direction.LONG,
        status=status,
    )


ORDERS = [
    make_order(1),
    make_order(2, "au2606", Status.ALLTRADED),
    make_order(3, status=Status.CANCELLED),
    make_order(4, status=Status.PARTTRADED),
]


def ids(items: list[OrderData]) -> list[str]:
    return [o.orderid for o in items]


def test_no_filter_keeps_everything_in_order() -> None:
    assert apply_query(ORDERS, Query()) == ORDERS


def test_vt_symbol_active_and_limit_combine() -> None:
    assert ids(apply_query(ORDERS, Query(vt_symbol="rb2601.SHFE"))) == ["1", "3", "4"]
    assert ids(apply_query(ORDERS, Query(active=True))) == ["1", "4"]
    assert ids(apply_query(ORDERS, Query(limit=2))) == ["3", "4"]
    assert ids(apply_query(ORDERS, Query(vt_symbol="rb2601.SHFE", active=True, limit=1))) == ["4"]
    assert apply_query(ORDERS, Query(limit=0)) == []


def test_items_without_a_vt_symbol_are_kept_by_a_symbol_filter() -> None:
    account = AccountData(gateway_name="SIM", accountid="SIM", balance=1.0)
    assert apply_query([account], Query(vt_symbol="rb2601.SHFE", active=True)) == [account]


def test_negative_limit_is_a_bad_request_naming_the_field() -> None:
    with pytest.raises(BadRequestError) as exc:
        apply_query(ORDERS, Query(limit=-1))
    assert exc.value.field == "limit"
