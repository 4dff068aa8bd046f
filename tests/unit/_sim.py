"""Helpers for the simulated exchange's unit tests: a seeded exchange and order requests."""

from __future__ import annotations

from engine_bridge.engine import EngineEvent
from engine_bridge.sim.contracts import GATEWAY_NAME, default_specs
from engine_bridge.sim.exchange import Event, SimExchange
from schemas.enums import Direction, Exchange, Offset, OrderType
from schemas.objects import OrderData
from schemas.requests import OrderRequest
from schemas.subjects import EventKind

RB = "rb2601.SHFE"
STOCK = "600036.SSE"


def exchange(seed: int = 7) -> SimExchange:
    """A fresh simulated exchange with the default contracts."""
    return SimExchange(default_specs(), gateway_name=GATEWAY_NAME, seed=seed)


def request(
    vt_symbol: str = RB,
    direction: Direction = Direction.LONG,
    *,
    volume: float = 1,
    price: float = 0.0,
    type_: OrderType = OrderType.LIMIT,
    offset: Offset = Offset.OPEN,
) -> OrderRequest:
    symbol, _, exch = vt_symbol.rpartition(".")
    return OrderRequest(
        symbol=symbol,
        exchange=Exchange(exch),
        direction=direction,
        type=type_,
        volume=volume,
        price=price,
        offset=offset,
    )


def submit(ex: SimExchange, req: OrderRequest) -> tuple[OrderData, list[Event]]:
    """Submit ``req`` to ``ex`` (its contract looked up as the engine does)."""
    contract = ex.contract(req.symbol, req.exchange)
    assert contract is not None
    return ex.submit(req, contract)


def of_kind(events: list[Event], kind: EventKind) -> list[EngineEvent]:
    """The objects of ``events`` of one kind, in order."""
    return [obj for k, obj in events if k is kind]


def book(
    ex: SimExchange,
    vt_symbol: str,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
) -> None:
    """Set the book of ``vt_symbol`` to these ``(price, volume)`` levels, best first."""
    ex.markets[vt_symbol].set_book(bids, asks)
