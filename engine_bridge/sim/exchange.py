"""The simulated exchange's synchronous core: orders, matching, fills, positions, funds.

Every state change returns the events it caused, in order, as ``(kind, object)`` pairs;
:class:`~engine_bridge.sim.engine.SimEngine` hands them to the bridge.  Nothing here awaits,
so one call is atomic on the event loop.

Matching: an incoming order takes liquidity from the other side of the book at the book's
prices (best first, up to its limit); a resting LIMIT order is filled at its own price when
a later step of the market crosses it, for as much volume as the crossing levels show.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from msgspec.structs import replace

from engine_bridge.engine import EngineEvent
from engine_bridge.sim.contracts import SimSpec
from engine_bridge.sim.market import Market
from engine_bridge.sim.matching import UNSUPPORTED_TYPES, Fill, opposite_side, plan, take, total
from engine_bridge.sim.portfolio import Holding, Portfolio
from schemas.enums import Direction, Exchange, OrderType, Status
from schemas.errors import ConflictError, NotFoundError
from schemas.objects import ContractData, LogData, OrderData, TickData, TradeData
from schemas.requests import OrderRequest
from schemas.subjects import EventKind

Event = tuple[EventKind, EngineEvent]
_EPS = 1e-9


def utc_now() -> datetime:
    """The current time with a UTC offset."""
    return datetime.now(UTC)


def _rng(seed: int | None, vt_symbol: str) -> random.Random:
    """The generator of one contract's market: seeded by ``seed`` and the contract, or random."""
    if seed is None:
        return random.Random()  # noqa: S311 - a market simulation, not cryptography
    return random.Random(f"{seed}/{vt_symbol}")  # noqa: S311


@dataclass
class OrderState:
    """An order with what the exchange needs to fill it."""

    order: OrderData
    spec: SimSpec
    market: Market
    holding: Holding
    closing: bool

    @property
    def remaining(self) -> float:
        """Volume not yet traded."""
        return self.order.volume - self.order.traded


class SimExchange:
    """Contracts, their markets, orders, trades and the portfolio of one simulated exchange.

    ``seed`` makes every contract's price path reproducible (each contract has its own
    generator, so subscribing to one does not change another's path).
    """

    def __init__(
        self,
        specs: Iterable[SimSpec],
        *,
        gateway_name: str,
        seed: int | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.gateway_name = gateway_name
        self.clock = clock
        self.specs = {s.contract.vt_symbol: s for s in specs}
        self.markets = {vt: Market(spec, _rng(seed, vt)) for vt, spec in self.specs.items()}
        self.portfolio = Portfolio(gateway_name)
        self.orders: dict[str, OrderState] = {}
        self.active: dict[str, OrderState] = {}
        self.trades: list[TradeData] = []
        self.client_orders: dict[str, str] = {}
        """``client_order_id`` -> ``vt_orderid`` of every order sent with one."""
        self.subscribed: dict[str, None] = {}
        self.last_ticks: dict[str, TickData] = {}
        self.order_seq = 0
        """The last orderid given (orderids are ``1``, ``2``, ...)."""
        self.trade_seq = 0
        """The last tradeid given."""

    # ------------------------------------------------------------------------ market data

    def contract(self, symbol: str, exchange: Exchange) -> ContractData | None:
        """The contract ``symbol`` on ``exchange``, or None."""
        spec = self.specs.get(f"{symbol}.{exchange.value}")
        return spec.contract if spec else None

    def subscribe(self, vt_symbol: str) -> list[Event]:
        """Publish ticks of ``vt_symbol`` from now on; the first one at once."""
        if vt_symbol in self.subscribed:
            return []
        self.subscribed[vt_symbol] = None
        return [self._tick(vt_symbol)]

    def step(self) -> list[Event]:
        """Move every live market one step: subscribed ones and ones with resting orders.

        Emits a tick per subscribed contract, then fills resting orders the move crossed.
        """
        live = dict(self.subscribed)
        live.update((s.order.vt_symbol, None) for s in self.active.values())
        events: list[Event] = []
        for vt_symbol in live:
            self.markets[vt_symbol].step()
            if vt_symbol in self.subscribed:
                events.append(self._tick(vt_symbol))
            events += self.match_resting(vt_symbol)
        return events

    def match_resting(self, vt_symbol: str) -> list[Event]:
        """Fill resting orders of ``vt_symbol`` that the current book crosses, oldest first."""
        events: list[Event] = []
        for state in [s for s in self.active.values() if s.order.vt_symbol == vt_symbol]:
            events += self._match_resting(state)
        return events

    def _tick(self, vt_symbol: str) -> Event:
        tick = self.markets[vt_symbol].tick(self.clock())
        self.last_ticks[vt_symbol] = tick
        return EventKind.TICK, tick

    # ---------------------------------------------------------------------------- orders

    def submit(self, req: OrderRequest, contract: ContractData) -> tuple[OrderData, list[Event]]:
        """Accept (or reject) an order that passed contract validation, and match it."""
        spec = self.specs[contract.vt_symbol]
        market = self.markets[contract.vt_symbol]
        self.order_seq += 1
        order = OrderData(
            gateway_name=self.gateway_name,
            symbol=req.symbol,
            exchange=req.exchange,
            orderid=str(self.order_seq),
            type=req.type,
            direction=req.direction,
            offset=req.offset,
            price=req.price,
            volume=req.volume,
            status=Status.NOTTRADED,
            datetime=self.clock(),
            reference=req.reference,
            client_order_id=req.client_order_id,
        )
        if req.client_order_id:
            self.client_orders[req.client_order_id] = order.vt_orderid
        closing, holding = self.portfolio.holding_for(spec, req.direction, req.offset)
        state = OrderState(order, spec, market, holding, closing)
        self.orders[order.vt_orderid] = state
        if req.type in UNSUPPORTED_TYPES:
            return self._reject(state, f"unsupported order type {req.type.value}")
        if closing:
            reason = Portfolio.freeze_close(holding, req.volume)
            freeze_event = self._position_event(holding, market)
        else:
            price = req.price if req.type is not OrderType.MARKET else self._worst_price(market)
            per_unit = spec.margin_rate * price * contract.size
            reason = self.portfolio.freeze_funds(order.vt_orderid, per_unit, req.volume)
            freeze_event = (EventKind.ACCOUNT, self.portfolio.account())
        if reason:
            return self._reject(state, reason)
        self.active[order.vt_orderid] = state
        events: list[Event] = [(EventKind.ORDER, order), freeze_event]
        events += self._match_incoming(state)
        return state.order, events

    def cancel(self, vt_orderid: str, reason: str = "") -> tuple[OrderData, list[Event]]:
        """Cancel an active order.

        Raises:
            NotFoundError: unknown order.
            ConflictError: the order is no longer active.
        """
        state = self.orders.get(vt_orderid)
        if state is None:
            raise NotFoundError(f"unknown order {vt_orderid!r}", field="vt_orderid")
        if vt_orderid not in self.active:
            raise ConflictError(
                f"order {vt_orderid} is {state.order.status.value}, no longer active",
                field="vt_orderid",
            )
        events = self._end(state, Status.CANCELLED, reason)
        return state.order, events

    def cancel_all(self, vt_symbol: str | None = None) -> tuple[list[OrderData], list[Event]]:
        """Cancel every active order (of ``vt_symbol`` only, if given)."""
        cancelled: list[OrderData] = []
        events: list[Event] = []
        for vt_orderid, state in list(self.active.items()):
            if vt_symbol is None or state.order.vt_symbol == vt_symbol:
                order, evs = self.cancel(vt_orderid)
                cancelled.append(order)
                events += evs
        return cancelled, events

    # -------------------------------------------------------------------------- internals

    @staticmethod
    def _worst_price(market: Market) -> float:
        """Price at which a market order's funds are frozen: the highest it could pay."""
        c = market.spec.contract
        return c.limit_up or market.price(
            max((lv.ticks for lv in market.asks), default=market.last)
        )

    def _reject(self, state: OrderState, reason: str) -> tuple[OrderData, list[Event]]:
        state.order = replace(state.order, status=Status.REJECTED, reason=reason)
        log = self._log(f"order {state.order.vt_orderid} rejected: {reason}", level=30)
        return state.order, [(EventKind.ORDER, state.order), log]

    def _match_incoming(self, state: OrderState) -> list[Event]:
        order, market = state.order, state.market
        is_buy = order.direction is Direction.LONG
        limit = None if order.type is OrderType.MARKET else market.ticks_of(order.price)
        levels = opposite_side(market, order.direction)
        fills = plan(levels, is_buy, limit, state.remaining)
        if order.type is OrderType.FOK and total(fills) < order.volume - _EPS:
            got = total(fills)
            return self._end(state, Status.CANCELLED, f"FOK: only {got:g} available at price")
        take(levels, fills)
        events = self._fill(state, fills)
        if state.remaining > _EPS and order.type is not OrderType.LIMIT:
            why = "book exhausted" if order.type is OrderType.MARKET else "no more volume at price"
            events += self._end(
                state, Status.CANCELLED, f"{order.type.value}: {why}, rest cancelled"
            )
        return events

    def _match_resting(self, state: OrderState) -> list[Event]:
        market, order = state.market, state.order
        levels = opposite_side(market, order.direction)
        fills = plan(
            levels, order.direction is Direction.LONG, market.ticks_of(order.price), state.remaining
        )
        if not fills:
            return []
        take(levels, fills)
        return self._fill(state, [Fill(market.ticks_of(order.price), total(fills))])

    def _fill(self, state: OrderState, fills: list[Fill]) -> list[Event]:
        """Trade ``fills`` for ``state``: the order update, then each trade's events."""
        if not fills:
            return []
        traded = state.order.traded + total(fills)
        done = traded >= state.order.volume - _EPS
        state.order = replace(
            state.order, traded=traded, status=Status.ALLTRADED if done else Status.PARTTRADED
        )
        if done:
            self.active.pop(state.order.vt_orderid, None)
        events: list[Event] = [(EventKind.ORDER, state.order)]
        for fill in fills:
            events += self._trade(state, fill)
        return events

    def _trade(self, state: OrderState, fill: Fill) -> list[Event]:
        order, spec, market, p = state.order, state.spec, state.market, self.portfolio
        price = market.price(fill.ticks)
        notional = price * spec.contract.size * fill.volume
        if state.closing:
            p.close(state.holding, price, fill.volume)
        else:
            p.release_funds(order.vt_orderid, fill.volume)
            self.portfolio.open(state.holding, price, fill.volume, spec.margin_rate * notional)
        p.charge(spec.commission_rate * notional)
        market.record_trade(fill.ticks, fill.volume)
        self.trade_seq += 1
        trade = TradeData(
            gateway_name=self.gateway_name,
            symbol=order.symbol,
            exchange=order.exchange,
            orderid=order.orderid,
            tradeid=str(self.trade_seq),
            direction=order.direction,
            offset=order.offset,
            price=price,
            volume=fill.volume,
            datetime=self.clock(),
        )
        self.trades.append(trade)
        return [
            (EventKind.TRADE, trade),
            self._position_event(state.holding, market),
            (EventKind.ACCOUNT, p.account()),
        ]

    def _end(self, state: OrderState, status: Status, reason: str) -> list[Event]:
        """Finish an active order with ``status``, releasing what it still holds frozen."""
        self.active.pop(state.order.vt_orderid, None)
        state.order = replace(state.order, status=status, reason=reason)
        events: list[Event] = [(EventKind.ORDER, state.order)]
        if state.closing:
            Portfolio.release_close(state.holding, state.remaining)
            events.append(self._position_event(state.holding, state.market))
        elif self.portfolio.release_funds(state.order.vt_orderid):
            events.append((EventKind.ACCOUNT, self.portfolio.account()))
        return events

    def _position_event(self, holding: Holding, market: Market) -> Event:
        return EventKind.POSITION, self.portfolio.position(holding, market.price(market.last))

    def _log(self, msg: str, level: int = 20) -> Event:
        return EventKind.LOG, LogData(
            gateway_name=self.gateway_name, msg=msg, level=level, time=self.clock()
        )
