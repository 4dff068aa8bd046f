"""The simulated exchange rebuilt from its events (what the events stream keeps) after a restart.

Each test drives a seeded exchange, keeps its events as the bridge's streams would (every
event, then "last message per subject" for orders/positions/accounts/ticks), restores a
fresh exchange from that, and checks it answers and behaves like the original.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from engine_bridge.engine import RestoredState
from engine_bridge.publisher import subject_of
from engine_bridge.sim import SimEngine
from engine_bridge.sim.exchange import Event, SimExchange
from engine_bridge.sim.restore import restore_exchange
from schemas.enums import Direction, Exchange, Offset, Status
from schemas.objects import AccountData, OrderData, PositionData, TickData, TradeData
from schemas.requests import OrderRequest
from schemas.subjects import EventKind
from tests.unit._sim import RB, STOCK, book, exchange, request, submit

AU = "au2606.SHFE"
RB_LIMIT_UP, RB_LIMIT_DOWN = 3745.0, 3255.0


class Streams:
    """Events kept as the events and ticks streams keep them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, EventKind, object]] = []

    def add(self, events: list[Event]) -> None:
        for kind, obj in events:
            self.events.append((subject_of("t", kind, obj), kind, obj))

    def state(self) -> RestoredState:
        last: dict[str, tuple[int, EventKind, object]] = {}
        for i, (subject, kind, obj) in enumerate(self.events):
            if kind in (EventKind.ORDER, EventKind.POSITION, EventKind.ACCOUNT, EventKind.TICK):
                last[subject] = (i, kind, obj)
        latest = sorted(last.values(), key=lambda item: item[0])

        def of(kind: EventKind) -> list[object]:
            return [obj for _, k, obj in latest if k is kind]

        return RestoredState(
            orders=[o for o in of(EventKind.ORDER) if isinstance(o, OrderData)],
            positions=[p for p in of(EventKind.POSITION) if isinstance(p, PositionData)],
            accounts=[a for a in of(EventKind.ACCOUNT) if isinstance(a, AccountData)],
            ticks=[t for t in of(EventKind.TICK) if isinstance(t, TickData)],
            trades=[t for _, k, t in self.events if isinstance(t, TradeData)],
            last_seq=len(self.events),
        )


def act(ex: SimExchange, streams: Streams, req: OrderRequest) -> OrderData:
    order, events = submit(ex, req)
    streams.add(events)
    return order


def with_id(req: OrderRequest, client_order_id: str) -> OrderRequest:
    return replace(req, client_order_id=client_order_id)


def restored(streams: Streams) -> SimExchange:
    ex = exchange(seed=99)  # another seed: nothing may come from the price paths
    restore_exchange(ex, streams.state())
    return ex


def answers(ex: SimExchange) -> dict[str, object]:
    """What the engine's queries would answer."""
    return {
        "orders": [s.order for s in ex.orders.values()],
        "active": list(ex.active),
        "trades": list(ex.trades),
        "positions": [
            ex.portfolio.position(h, ex.markets[vt].price(ex.markets[vt].last))
            for (vt, _), h in ex.portfolio.holdings.items()
            if h.opened
        ],
        "account": ex.portfolio.account(),
    }


@pytest.fixture
def history() -> tuple[SimExchange, Streams]:
    """Fills, a resting opening order, a resting closing order, a cancel and a reject."""
    ex, streams = exchange(), Streams()
    book(ex, RB, [(3500.0, 100.0)], [(3501.0, 100.0)])
    act(ex, streams, with_id(request(volume=3, price=RB_LIMIT_UP), "fill-1"))
    act(ex, streams, with_id(request(volume=2, price=RB_LIMIT_DOWN), "rest-open"))
    close = request(RB, Direction.SHORT, volume=1, price=RB_LIMIT_UP, offset=Offset.CLOSE)
    act(ex, streams, with_id(close, "rest-close"))
    book(ex, STOCK, [(42.0, 5000.0)], [(42.01, 5000.0)])
    act(ex, streams, request(STOCK, volume=300, price=46.2))
    gone = act(ex, streams, request(AU, volume=1, price=846.4))
    streams.add(ex.cancel(gone.vt_orderid)[1])
    act(ex, streams, with_id(request(volume=10**5, price=RB_LIMIT_UP), "too-big"))
    return ex, streams


def test_a_restored_exchange_answers_every_query_as_the_original(
    history: tuple[SimExchange, Streams],
) -> None:
    ex, streams = history
    assert answers(restored(streams)) == answers(ex)


def test_a_restored_resting_opening_order_keeps_its_funds_frozen_until_cancelled(
    history: tuple[SimExchange, Streams],
) -> None:
    ex, streams = history
    again = restored(streams)
    [resting] = [s.order for s in again.active.values() if s.order.client_order_id == "rest-open"]
    assert again.portfolio.frozen == pytest.approx(ex.portfolio.frozen)
    order, _ = again.cancel(resting.vt_orderid)
    ex.cancel(resting.vt_orderid)
    assert order.status is Status.CANCELLED
    assert again.portfolio.account() == ex.portfolio.account()


def test_a_restored_closing_order_still_holds_its_volume_and_gives_it_back_on_cancel(
    history: tuple[SimExchange, Streams],
) -> None:
    _, streams = history
    again = restored(streams)
    long = again.portfolio.holdings[(RB, Direction.LONG)]
    assert (long.volume, long.frozen) == (3, 1)
    [closing] = [s.order for s in again.active.values() if s.order.client_order_id == "rest-close"]
    again.cancel(closing.vt_orderid)
    assert long.frozen == 0
    rejected, _ = submit(
        again, request(RB, Direction.SHORT, volume=4, price=RB_LIMIT_UP, offset=Offset.CLOSE)
    )
    assert rejected.status is Status.REJECTED
    assert "holds 3" in rejected.reason


def test_a_restored_resting_order_fills_when_the_market_crosses_it(
    history: tuple[SimExchange, Streams],
) -> None:
    _, streams = history
    again = restored(streams)
    [state] = [s for s in again.active.values() if s.order.client_order_id == "rest-open"]
    book(again, RB, [(3200.0, 10.0)], [(RB_LIMIT_DOWN, 10.0)])
    events = again.match_resting(RB)
    assert state.order.status is Status.ALLTRADED
    trade = next(obj for kind, obj in events if kind is EventKind.TRADE)
    assert isinstance(trade, TradeData)
    assert trade.price == RB_LIMIT_DOWN
    assert again.portfolio.holdings[(RB, Direction.LONG)].volume == 5


def test_order_and_trade_ids_continue_after_the_last_restored_ones(
    history: tuple[SimExchange, Streams],
) -> None:
    ex, streams = history
    again = restored(streams)
    book(again, RB, [(3500.0, 100.0)], [(3501.0, 100.0)])
    book(ex, RB, [(3500.0, 100.0)], [(3501.0, 100.0)])
    new, _ = submit(again, request(volume=1, price=RB_LIMIT_UP))
    original, _ = submit(ex, request(volume=1, price=RB_LIMIT_UP))
    assert new.orderid == original.orderid == str(len(ex.orders))
    assert again.trades[-1].tradeid == ex.trades[-1].tradeid == str(len(ex.trades))


async def test_orders_are_found_by_client_order_id_after_restore_rejected_ones_too(
    history: tuple[SimExchange, Streams],
) -> None:
    _, streams = history
    engine = SimEngine(tick_rate=1, seed=1)
    await engine.restore(streams.state())
    for cid, status in (
        ("fill-1", Status.ALLTRADED),
        ("rest-open", Status.NOTTRADED),
        ("too-big", Status.REJECTED),
    ):
        found = await engine.find_by_client_order_id(cid)
        assert found is not None
        assert (found.client_order_id, found.status) == (cid, status)
    assert await engine.find_by_client_order_id("never-sent") is None


def test_the_last_price_is_the_newer_of_the_last_tick_and_the_last_trade() -> None:
    ex, streams = exchange(), Streams()
    streams.add(ex.subscribe(RB))
    [(_, _, tick)] = streams.events
    assert isinstance(tick, TickData)
    book(ex, RB, [(3600.0, 100.0)], [(3601.0, 100.0)])
    act(ex, streams, request(volume=1, price=RB_LIMIT_UP))
    again = restored(streams)
    assert again.markets[RB].price(again.markets[RB].last) == 3601.0
    # a tick newer than the trade wins
    later = replace(tick, last_price=3590.0, datetime=tick.datetime + timedelta(hours=1))
    streams.add([(EventKind.TICK, later)])
    again = restored(streams)
    assert again.markets[RB].price(again.markets[RB].last) == 3590.0


def test_contracts_with_a_tick_snapshot_are_subscribed_again() -> None:
    ex, streams = exchange(), Streams()
    streams.add(ex.subscribe("BRK.B.SMART"))
    again = restored(streams)
    assert list(again.subscribed) == ["BRK.B.SMART"]
    assert again.last_ticks["BRK.B.SMART"] == ex.last_ticks["BRK.B.SMART"]
    assert any(kind is EventKind.TICK for kind, _ in again.step())


def test_nothing_to_restore_leaves_a_clean_exchange() -> None:
    again = exchange()
    restore_exchange(again, RestoredState())
    assert answers(again) == answers(exchange())
    assert RestoredState().empty


def test_objects_of_another_gateway_or_an_unknown_contract_are_skipped() -> None:
    stranger = OrderData(
        gateway_name="OTHER",
        symbol="rb2601",
        exchange=Exchange.SHFE,
        orderid="9",
        direction=Direction.LONG,
        status=Status.NOTTRADED,
    )
    unknown = replace(stranger, gateway_name="SIM", symbol="zz9999")
    again = exchange()
    restore_exchange(again, RestoredState(orders=[stranger, unknown]))
    assert again.orders == {}
    assert again.order_seq == 0
