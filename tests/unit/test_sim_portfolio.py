"""Positions and funds of the simulated exchange: open/close, averages, freezes, rejects."""

from __future__ import annotations

import random

import pytest

from engine_bridge.sim.exchange import SimExchange
from engine_bridge.sim.portfolio import INITIAL_BALANCE
from schemas.enums import Direction, Offset, OrderType, Status
from schemas.objects import AccountData, PositionData
from schemas.subjects import EventKind
from tests.unit._sim import RB, STOCK, book, exchange, of_kind, request, submit

SELL = Direction.SHORT
RB_SIZE, RB_MARGIN, RB_FEE = 10, 0.10, 0.0001


def open_long(ex: SimExchange, volume: float, price: float) -> None:
    book(ex, RB, [(price - 1, 100.0)], [(price, 100.0)])
    order, _ = submit(ex, request(volume=volume, price=3745))
    assert order.status is Status.ALLTRADED


def position(ex: SimExchange, vt_symbol: str, direction: Direction) -> PositionData:
    h = ex.portfolio.holdings[(vt_symbol, direction)]
    return ex.portfolio.position(h, 0.0)


def test_open_then_close_realizes_pnl_and_charges_commission() -> None:
    ex = exchange()
    open_long(ex, 2, 3501)
    long = position(ex, RB, Direction.LONG)
    assert (long.volume, long.price) == (2, 3501)
    assert ex.portfolio.frozen == pytest.approx(RB_MARGIN * 3501 * RB_SIZE * 2)
    book(ex, RB, [(3520.0, 100.0)], [(3521.0, 100.0)])
    order, events = submit(ex, request(direction=SELL, volume=2, price=3255, offset=Offset.CLOSE))
    assert order.status is Status.ALLTRADED
    fees = RB_FEE * RB_SIZE * 2 * (3501 + 3520)
    pnl = (3520 - 3501) * RB_SIZE * 2
    assert ex.portfolio.balance == pytest.approx(INITIAL_BALANCE + pnl - fees)
    assert ex.portfolio.frozen == pytest.approx(0)
    assert position(ex, RB, Direction.LONG).volume == 0
    [pos] = of_kind(events, EventKind.POSITION)[-1:]
    assert isinstance(pos, PositionData)
    assert pos.volume == 0
    assert pos.direction is Direction.LONG


def test_two_opens_average_the_position_price() -> None:
    ex = exchange()
    open_long(ex, 1, 3500)
    open_long(ex, 3, 3520)
    long = position(ex, RB, Direction.LONG)
    assert long.volume == 4
    assert long.price == pytest.approx((3500 + 3 * 3520) / 4)


def test_short_open_and_close_books_pnl_the_other_way() -> None:
    ex = exchange()
    book(ex, RB, [(3500.0, 50.0)], [(3501.0, 50.0)])
    submit(ex, request(direction=SELL, volume=1, price=3255))
    book(ex, RB, [(3479.0, 50.0)], [(3480.0, 50.0)])
    before = ex.portfolio.balance
    order, _ = submit(ex, request(volume=1, price=3745, offset=Offset.CLOSE))
    assert order.status is Status.ALLTRADED
    gain = (3500 - 3480) * RB_SIZE - RB_FEE * 3480 * RB_SIZE
    assert ex.portfolio.balance - before == pytest.approx(gain)
    assert position(ex, RB, Direction.SHORT).volume == 0


@pytest.mark.parametrize("offset", [Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY])
def test_every_close_offset_closes_the_opposite_position(offset: Offset) -> None:
    ex = exchange()
    open_long(ex, 2, 3500)
    order, _ = submit(ex, request(direction=SELL, volume=2, price=3255, offset=offset))
    assert order.status is Status.ALLTRADED
    assert position(ex, RB, Direction.LONG).volume == 0
    assert (RB, Direction.SHORT) not in ex.portfolio.holdings or not ex.portfolio.holdings[
        (RB, Direction.SHORT)
    ].opened


def test_closing_more_than_held_is_rejected_with_a_reason() -> None:
    ex = exchange()
    open_long(ex, 2, 3500)
    order, events = submit(ex, request(direction=SELL, volume=3, price=3255, offset=Offset.CLOSE))
    assert order.status is Status.REJECTED
    assert "cannot close 3" in order.reason
    assert not of_kind(events, EventKind.TRADE)


def test_closing_without_any_position_is_rejected() -> None:
    ex = exchange()
    order, _ = submit(ex, request(direction=SELL, volume=1, price=3500, offset=Offset.CLOSE))
    assert order.status is Status.REJECTED
    assert "cannot close" in order.reason


def test_pending_closes_freeze_the_position_and_count_against_further_closes() -> None:
    ex = exchange()
    open_long(ex, 3, 3500)
    resting, events = submit(ex, request(direction=SELL, volume=2, price=3745, offset=Offset.CLOSE))
    assert resting.status is Status.NOTTRADED
    assert position(ex, RB, Direction.LONG).frozen == 2
    assert any(
        isinstance(p, PositionData) and p.frozen == 2 for p in of_kind(events, EventKind.POSITION)
    )
    order, _ = submit(ex, request(direction=SELL, volume=2, price=3745, offset=Offset.CLOSE))
    assert order.status is Status.REJECTED
    assert "pending close" in order.reason
    ex.cancel(resting.vt_orderid)
    assert position(ex, RB, Direction.LONG).frozen == 0
    order, _ = submit(ex, request(direction=SELL, volume=3, price=3745, offset=Offset.CLOSE))
    assert order.status is Status.NOTTRADED


def test_insufficient_funds_are_rejected_with_a_reason() -> None:
    ex = exchange()
    order, events = submit(ex, request("IF2512.CFFEX", volume=1000, price=5060))
    assert order.status is Status.REJECTED
    assert order.reason.startswith("insufficient funds")
    assert ex.portfolio.frozen == 0
    assert of_kind(events, EventKind.ORDER) == [order]


def test_pending_opening_orders_freeze_funds_until_cancelled() -> None:
    ex = exchange()
    order, events = submit(ex, request(volume=2, price=3255))
    frozen = RB_MARGIN * 3255 * RB_SIZE * 2
    [account] = of_kind(events, EventKind.ACCOUNT)
    assert isinstance(account, AccountData)
    assert account.frozen == pytest.approx(frozen)
    assert account.available == pytest.approx(INITIAL_BALANCE - frozen)
    _, events = ex.cancel(order.vt_orderid)
    [account] = of_kind(events, EventKind.ACCOUNT)
    assert isinstance(account, AccountData)
    assert account.frozen == 0
    assert account.available == INITIAL_BALANCE


def test_funds_frozen_by_pending_orders_count_against_new_orders() -> None:
    ex = exchange()
    per_lot = RB_MARGIN * 3745 * RB_SIZE
    lots = int(INITIAL_BALANCE // per_lot)
    book(ex, RB, [(3500.0, 1.0)], [(3501.0, 1.0)])
    big, _ = submit(ex, request(volume=min(lots, 1000), price=3500))
    assert big.status is Status.NOTTRADED
    order, _ = submit(ex, request("IF2512.CFFEX", volume=100, price=5060))
    assert order.status is Status.REJECTED
    assert "insufficient funds" in order.reason


def test_a_fill_reports_order_trade_position_and_account_in_that_order() -> None:
    ex = exchange()
    book(ex, RB, [(3500.0, 5.0)], [(3501.0, 5.0)])
    _, events = submit(ex, request(volume=1, price=3745))
    assert [k for k, _ in events] == [
        EventKind.ORDER,  # accepted
        EventKind.ACCOUNT,  # funds frozen
        EventKind.ORDER,  # all traded
        EventKind.TRADE,
        EventKind.POSITION,
        EventKind.ACCOUNT,
    ]


def test_stock_buys_with_long_and_sells_only_what_is_held() -> None:
    ex = exchange()
    book(ex, STOCK, [(41.99, 5000.0)], [(42.0, 5000.0)])
    bought, _ = submit(ex, request(STOCK, volume=200, price=46.2, offset=Offset.NONE))
    assert bought.status is Status.ALLTRADED
    net = position(ex, STOCK, Direction.NET)
    assert (net.volume, net.price) == (200, 42.0)
    assert ex.portfolio.frozen == pytest.approx(200 * 42.0)  # bought with cash
    too_many, _ = submit(ex, request(STOCK, SELL, volume=300, price=37.8, offset=Offset.NONE))
    assert too_many.status is Status.REJECTED
    assert "cannot close 300" in too_many.reason
    sold, _ = submit(ex, request(STOCK, SELL, volume=200, price=37.8, offset=Offset.NONE))
    assert sold.status is Status.ALLTRADED
    assert position(ex, STOCK, Direction.NET).volume == 0


def test_stock_sell_without_holding_is_rejected() -> None:
    ex = exchange()
    order, _ = submit(ex, request(STOCK, SELL, volume=100, price=42, offset=Offset.NONE))
    assert order.status is Status.REJECTED
    assert "cannot close" in order.reason


def test_market_order_funds_are_checked_at_limit_up() -> None:
    ex = exchange()
    per_lot = 0.12 * 5060.0 * 300
    lots = int(INITIAL_BALANCE // per_lot) + 1
    order, _ = submit(ex, request("IF2512.CFFEX", volume=lots, type_=OrderType.MARKET))
    assert order.status is Status.REJECTED
    assert "insufficient funds" in order.reason


def test_running_frozen_total_equals_a_full_recount_after_many_random_actions() -> None:
    """``frozen`` is kept as running sums; they never drift from a recount of every item."""
    rng = random.Random(11)
    ex = exchange()
    for _ in range(400):
        action = rng.random()
        mid = float(rng.randint(3400, 3600))
        book(ex, RB, [(mid - 1, rng.choice([1.0, 5.0]))], [(mid, rng.choice([1.0, 5.0]))])
        if action < 0.5:
            price = mid + rng.choice([-5.0, 0.0, 5.0])
            submit(ex, request(volume=rng.randint(1, 4), price=price))
        elif action < 0.7:
            submit(ex, request(direction=SELL, volume=1, price=mid - 5, offset=Offset.CLOSE))
        elif action < 0.85 and ex.active:
            ex.cancel(rng.choice(sorted(ex.active)))
        else:
            ex.match_resting(RB)
        p = ex.portfolio
        recount = sum(h.margin for h in p.holdings.values()) + sum(
            f.per_unit * f.remaining for f in p.freezes.values()
        )
        assert p.frozen == pytest.approx(recount, abs=1e-6)
