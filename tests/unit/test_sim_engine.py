"""SimEngine behind the Engine interface: events to the listener, ticks, validation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine_bridge.engine import EngineEvent
from engine_bridge.sim import SimEngine
from schemas.enums import Direction, Exchange, Offset, OrderType, Status
from schemas.errors import NotFoundError, UnprocessableError
from schemas.objects import ContractData, TickData
from schemas.requests import OrderRequest, SubscribeRequest
from schemas.subjects import EventKind
from schemas.validation import on_grid


class Recorder:
    """An EventListener that keeps every event and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[tuple[EventKind, EngineEvent]] = []
        self.changed = asyncio.Event()

    async def __call__(self, kind: EventKind, obj: EngineEvent, /) -> None:
        self.events.append((kind, obj))
        self.changed.set()

    def of(self, kind: EventKind) -> list[EngineEvent]:
        return [obj for k, obj in self.events if k is kind]

    async def wait_for(self, kind: EventKind, count: int) -> list[EngineEvent]:
        async with asyncio.timeout(10):
            while len(self.of(kind)) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.of(kind)


@pytest.fixture
async def running() -> AsyncIterator[tuple[SimEngine, Recorder]]:
    engine = SimEngine(tick_rate=0, seed=42)  # as fast as possible
    recorder = Recorder()
    await engine.start(recorder)
    yield engine, recorder
    await engine.stop()


def order(symbol: str = "rb2601", exchange: Exchange = Exchange.SHFE, **kw: object) -> OrderRequest:
    fields: dict[str, object] = {
        "direction": Direction.LONG,
        "type": OrderType.LIMIT,
        "volume": 1.0,
        "price": 3500.0,
        "offset": Offset.OPEN,
    }
    fields.update(kw)
    return OrderRequest(symbol=symbol, exchange=exchange, **fields)  # type: ignore[arg-type]


async def test_every_contract_is_emitted_at_start(running: tuple[SimEngine, Recorder]) -> None:
    engine, recorder = running
    emitted = recorder.of(EventKind.CONTRACT)
    assert emitted == await engine.contracts()
    assert all(isinstance(c, ContractData) for c in emitted)
    assert sorted({c.exchange.value for c in emitted}) == [  # type: ignore[union-attr]
        "CFFEX",
        "DCE",
        "SHFE",
        "SMART",
        "SSE",
        "SZSE",
    ]


async def test_ticks_flow_only_for_subscribed_contracts(
    running: tuple[SimEngine, Recorder],
) -> None:
    engine, recorder = running
    # a resting order keeps au2606's market moving, but nobody subscribed to its ticks
    resting = await engine.send_order(order("au2606", price=846.4))
    assert resting.status is Status.NOTTRADED
    contract = await engine.subscribe(SubscribeRequest(symbol="BRK.B", exchange=Exchange.SMART))
    assert contract.vt_symbol == "BRK.B.SMART"
    ticks = await recorder.wait_for(EventKind.TICK, 200)
    assert {t.vt_symbol for t in ticks} == {"BRK.B.SMART"}  # type: ignore[union-attr]
    for tick in ticks:
        assert isinstance(tick, TickData)
        assert on_grid(tick.last_price, 0.01)
        assert 384 <= tick.last_price <= 576
    assert [t.vt_symbol for t in await engine.ticks()] == ["BRK.B.SMART"]


async def test_requests_are_served_while_ticks_run_unthrottled(
    running: tuple[SimEngine, Recorder],
) -> None:
    engine, recorder = running
    await engine.subscribe(SubscribeRequest(symbol="rb2601", exchange=Exchange.SHFE))
    for _ in range(20):
        filled = await engine.send_order(order(price=3745.0))
        assert filled.status is Status.ALLTRADED
    assert len(recorder.of(EventKind.TRADE)) >= 20


async def test_resting_order_on_a_live_market_emits_its_events_through_the_listener(
    running: tuple[SimEngine, Recorder],
) -> None:
    engine, recorder = running
    placed = await engine.send_order(order(price=3255.0))
    cancelled = await engine.cancel_order(placed.vt_orderid)
    assert cancelled.status is Status.CANCELLED
    assert [o.status for o in recorder.of(EventKind.ORDER)] == [  # type: ignore[union-attr]
        Status.NOTTRADED,
        Status.CANCELLED,
    ]
    assert (await engine.get_order(placed.vt_orderid)).status is Status.CANCELLED


async def test_orders_the_contract_cannot_take_raise_unprocessable_naming_the_field() -> None:
    engine = SimEngine(seed=1)
    cases = [
        (order(price=3500.5), "price"),
        (order(price=9999.0), "price"),
        (order(volume=0.0), "volume"),
        (order(volume=1e308), "volume"),
        (order(symbol="rb9999"), "symbol"),
        (order(symbol="600036", exchange=Exchange.SSE, price=42.0, volume=50.0), "volume"),
    ]
    for req, field in cases:
        with pytest.raises(UnprocessableError) as exc:
            await engine.send_order(req)
        assert exc.value.field == field, req


async def test_subscribe_to_an_unknown_contract_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        await SimEngine().subscribe(SubscribeRequest(symbol="rb9999", exchange=Exchange.SHFE))


async def test_unknown_order_lookup_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        await SimEngine().get_order("SIM.1")
