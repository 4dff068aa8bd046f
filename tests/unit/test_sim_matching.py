"""Matching in the simulated exchange: resting, crossing, thin books, MARKET, FAK, FOK, cancel."""

from __future__ import annotations

import pytest

from schemas.enums import Direction, OrderType, Status
from schemas.errors import ConflictError, NotFoundError
from schemas.objects import OrderData, TradeData
from schemas.subjects import EventKind
from tests.unit._sim import RB, book, exchange, of_kind, request, submit

BIDS = [(3500.0, 5.0), (3499.0, 5.0)]


def trades_of(events: list, order: OrderData) -> list[TradeData]:
    return [t for t in of_kind(events, EventKind.TRADE) if t.vt_orderid == order.vt_orderid]  # type: ignore[union-attr]


def test_limit_buy_below_the_book_rests_untraded() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 5.0)])
    order, events = submit(ex, request(price=3500))
    assert order.status is Status.NOTTRADED
    assert order.traded == 0
    assert order.vt_orderid == "SIM.1"
    assert order.vt_orderid in ex.active
    assert not of_kind(events, EventKind.TRADE)


def test_buy_at_limit_down_rests_even_after_many_steps_of_the_market() -> None:
    ex = exchange()
    order, _ = submit(ex, request(price=3255))
    for _ in range(200):
        ex.step()
    assert ex.orders[order.vt_orderid].order.status is Status.NOTTRADED


def test_buy_at_limit_up_crosses_at_once_at_the_books_prices() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 1.0), (3502.0, 10.0)])
    order, events = submit(ex, request(volume=3, price=3745))
    assert order.status is Status.ALLTRADED
    assert order.traded == 3
    assert [(t.price, t.volume) for t in trades_of(events, order)] == [(3501.0, 1.0), (3502.0, 2.0)]
    assert order.vt_orderid not in ex.active


def test_sell_at_limit_down_crosses_at_once_against_the_bids() -> None:
    ex = exchange()
    book(ex, RB, [(3500.0, 2.0), (3499.0, 2.0)], [(3501.0, 5.0)])
    order, events = submit(ex, request(direction=Direction.SHORT, volume=3, price=3255))
    assert order.status is Status.ALLTRADED
    assert [(t.price, t.volume) for t in trades_of(events, order)] == [(3500.0, 2.0), (3499.0, 1.0)]


def test_thin_book_gives_a_partial_fill_and_the_rest_rests() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 2.0), (3502.0, 3.0), (3503.0, 50.0)])
    order, events = submit(ex, request(volume=10, price=3502))
    assert order.status is Status.PARTTRADED
    assert order.traded == 5
    assert sum(t.volume for t in trades_of(events, order)) == 5
    assert order.vt_orderid in ex.active
    assert [(lv.ticks, lv.volume) for lv in ex.markets[RB].asks] == [(3503, 50.0)]


def test_resting_order_fills_at_its_own_price_when_the_market_crosses_it_later() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 5.0)])
    order, _ = submit(ex, request(volume=4, price=3500))
    book(ex, RB, [(3497.0, 5.0)], [(3498.0, 2.0), (3499.0, 1.0)])
    events = ex.match_resting(RB)
    done = ex.orders[order.vt_orderid].order
    assert done.status is Status.PARTTRADED
    assert done.traded == 3
    assert [(t.price, t.volume) for t in trades_of(events, order)] == [(3500.0, 3.0)]
    book(ex, RB, [(3497.0, 5.0)], [(3500.0, 9.0)])
    events = ex.match_resting(RB)
    done = ex.orders[order.vt_orderid].order
    assert done.status is Status.ALLTRADED
    assert done.traded == 4
    assert [(t.price, t.volume) for t in trades_of(events, order)] == [(3500.0, 1.0)]
    assert order.vt_orderid not in ex.active


def test_resting_orders_fill_oldest_first_and_share_the_crossing_volume() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 5.0)])
    first, _ = submit(ex, request(volume=3, price=3500))
    second, _ = submit(ex, request(volume=3, price=3500))
    book(ex, RB, [(3498.0, 5.0)], [(3499.0, 4.0)])
    ex.match_resting(RB)
    assert ex.orders[first.vt_orderid].order.traded == 3
    assert ex.orders[second.vt_orderid].order.traded == 1


def test_market_order_fills_at_once_on_a_contract_nobody_subscribed() -> None:
    ex = exchange()
    assert not ex.subscribed
    order, events = submit(ex, request("au2606.SHFE", volume=2, type_=OrderType.MARKET))
    assert order.status is Status.ALLTRADED
    assert order.traded == 2
    assert sum(t.volume for t in trades_of(events, order)) == 2


def test_market_order_larger_than_the_book_fills_what_is_there_and_cancels_the_rest() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 2.0), (3510.0, 3.0)])
    order, events = submit(ex, request(volume=8, type_=OrderType.MARKET))
    assert order.status is Status.CANCELLED
    assert order.traded == 5
    assert "MARKET" in order.reason
    assert [(t.price, t.volume) for t in trades_of(events, order)] == [(3501.0, 2.0), (3510.0, 3.0)]
    assert order.vt_orderid not in ex.active


def test_fak_fills_what_it_can_at_its_price_and_cancels_the_rest() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 2.0), (3502.0, 3.0), (3503.0, 9.0)])
    order, events = submit(ex, request(volume=8, price=3502, type_=OrderType.FAK))
    assert order.status is Status.CANCELLED
    assert order.traded == 5
    assert "FAK" in order.reason
    assert max(t.price for t in trades_of(events, order)) == 3502


def test_fak_that_cannot_trade_at_all_is_cancelled_untraded() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 9.0)])
    order, events = submit(ex, request(volume=1, price=3500, type_=OrderType.FAK))
    assert order.status is Status.CANCELLED
    assert order.traded == 0
    assert not trades_of(events, order)


def test_fok_without_enough_volume_at_its_price_is_cancelled_untraded() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 2.0), (3502.0, 3.0), (3503.0, 9.0)])
    order, events = submit(ex, request(volume=8, price=3502, type_=OrderType.FOK))
    assert order.status is Status.CANCELLED
    assert order.traded == 0
    assert "FOK" in order.reason
    assert not trades_of(events, order)
    assert [lv.volume for lv in ex.markets[RB].asks] == [2.0, 3.0, 9.0]  # book untouched


def test_fok_with_enough_volume_fills_completely() -> None:
    ex = exchange()
    book(ex, RB, BIDS, [(3501.0, 2.0), (3502.0, 3.0), (3503.0, 9.0)])
    order, events = submit(ex, request(volume=5, price=3502, type_=OrderType.FOK))
    assert order.status is Status.ALLTRADED
    assert order.traded == 5
    assert sum(t.volume for t in trades_of(events, order)) == 5


@pytest.mark.parametrize("type_", [OrderType.STOP, OrderType.RFQ, OrderType.ETF])
def test_unsupported_order_types_are_rejected_with_a_reason(type_: OrderType) -> None:
    ex = exchange()
    order, events = submit(ex, request(price=3500, type_=type_))
    assert order.status is Status.REJECTED
    assert order.reason == f"unsupported order type {type_.value}"
    assert of_kind(events, EventKind.ORDER) == [order]
    assert of_kind(events, EventKind.LOG)
    assert ex.orders[order.vt_orderid].order is order


def test_cancel_of_an_active_order_cancels_it() -> None:
    ex = exchange()
    order, _ = submit(ex, request(price=3255))
    cancelled, events = ex.cancel(order.vt_orderid)
    assert cancelled.status is Status.CANCELLED
    assert of_kind(events, EventKind.ORDER) == [cancelled]
    assert order.vt_orderid not in ex.active


def test_cancel_of_an_inactive_order_is_a_conflict() -> None:
    ex = exchange()
    order, _ = submit(ex, request(price=3745))
    assert order.status is Status.ALLTRADED
    with pytest.raises(ConflictError) as exc:
        ex.cancel(order.vt_orderid)
    assert exc.value.code == 409


def test_cancel_of_an_unknown_order_is_not_found() -> None:
    with pytest.raises(NotFoundError) as exc:
        exchange().cancel("SIM.404")
    assert exc.value.code == 404


def test_cancel_all_cancels_only_active_orders_of_the_symbol_given() -> None:
    ex = exchange()
    rb1, _ = submit(ex, request(price=3255))
    rb2, _ = submit(ex, request(price=3256))
    submit(ex, request(price=3745))  # fills: not active
    au, _ = submit(ex, request("au2606.SHFE", price=846.4))
    cancelled, _ = ex.cancel_all(RB)
    assert [o.vt_orderid for o in cancelled] == [rb1.vt_orderid, rb2.vt_orderid]
    assert list(ex.active) == [au.vt_orderid]
    cancelled, _ = ex.cancel_all()
    assert [o.vt_orderid for o in cancelled] == [au.vt_orderid]
    assert not ex.active
