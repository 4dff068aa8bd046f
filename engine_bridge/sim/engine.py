"""``SimEngine``: the embedded simulated exchange behind the :class:`Engine` interface."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from engine_bridge.engine import Engine, EventListener, RestoredState
from engine_bridge.sim.contracts import GATEWAY_NAME, SimSpec, default_specs
from engine_bridge.sim.exchange import Event, SimExchange, utc_now
from engine_bridge.sim.history import bar_times, history_bars
from engine_bridge.sim.restore import restore_exchange
from schemas.enums import Exchange
from schemas.errors import NotFoundError
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)
from schemas.requests import HistoryRequest, OrderRequest, SubscribeRequest
from schemas.subjects import EventKind
from schemas.validation import history_window

logger = logging.getLogger(__name__)


class SimEngine(Engine):
    """A simulated exchange: contracts, random-walk markets, matching, positions, funds.

    ``tick_rate`` is the number of market steps (and ticks) per second for every live
    contract — subscribed, or with a resting order; 0 steps as fast as possible, yielding
    to the event loop after every step.  ``seed`` makes price paths reproducible.

    One lock orders every state change with the emission of its events, so listeners see
    events in the order the exchange made them.
    """

    kind: ClassVar[str] = "sim"

    def __init__(
        self,
        *,
        tick_rate: float = 2.0,
        seed: int | None = None,
        specs: Iterable[SimSpec] | None = None,
        gateway_name: str = GATEWAY_NAME,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.tick_rate = tick_rate
        self.exchange = SimExchange(
            default_specs(gateway_name) if specs is None else specs,
            gateway_name=gateway_name,
            seed=seed,
            clock=clock,
        )
        self._gateway_name = gateway_name
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._listener: EventListener | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def gateway_name(self) -> str:
        """``SIM`` unless told otherwise."""
        return self._gateway_name

    async def start(self, listener: EventListener) -> None:
        """Emit every contract, then start the market loop."""
        self._listener = listener
        ex = self.exchange
        async with self._lock:
            events: list[Event] = [(EventKind.CONTRACT, s.contract) for s in ex.specs.values()]
            msg = f"simulated exchange started: {len(ex.specs)} contracts, tick rate "
            msg += f"{self.tick_rate:g}/s" if self.tick_rate > 0 else "max"
            events.append(
                (EventKind.LOG, LogData(gateway_name=self.gateway_name, msg=msg, time=ex.clock()))
            )
            await self._emit(events)
        self._task = asyncio.create_task(self._run_market(), name="sim-market")

    async def stop(self) -> None:
        """Stop the market loop once its current step is emitted; no event afterwards."""
        async with self._lock:
            task, self._task = self._task, None
            self._listener = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def restore(self, state: RestoredState) -> None:
        """Rebuild the exchange from its events stream (see :mod:`engine_bridge.sim.restore`)."""
        if state.empty:
            return
        async with self._lock:
            restore_exchange(self.exchange, state)
        ex = self.exchange
        logger.info(
            "restored %d orders (%d active), %d trades, %d positions; next orderid %d",
            len(ex.orders),
            len(ex.active),
            len(ex.trades),
            sum(1 for h in ex.portfolio.holdings.values() if h.opened),
            ex.order_seq + 1,
        )

    async def _emit(self, events: list[Event]) -> None:
        listener = self._listener
        if listener is None:
            return
        for kind, obj in events:
            try:
                await listener(kind, obj)
            except Exception:
                logger.exception("event listener failed on a %s event", kind.value)

    def _live(self) -> bool:
        return bool(self.exchange.subscribed or self.exchange.active)

    async def _run_market(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.tick_rate if self.tick_rate > 0 else 0.0
        next_at = loop.time()
        while True:
            if not self._live():
                self._wake.clear()
                await self._wake.wait()
                next_at = loop.time()
            async with self._lock:
                await self._emit(self.exchange.step())
            if period:
                next_at += period
                delay = next_at - loop.time()
                if delay < 0:  # fell behind: do not burst to catch up
                    next_at, delay = loop.time(), 0.0
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)

    async def _act(self, events: list[Event]) -> None:
        await self._emit(events)
        if self._live():
            self._wake.set()

    # ------------------------------------------------------------------------ Engine API

    async def contracts(self) -> list[ContractData]:
        """Every contract, in definition order."""
        return [s.contract for s in self.exchange.specs.values()]

    async def get_contract(self, symbol: str, exchange: Exchange) -> ContractData | None:
        """The contract, or None."""
        return self.exchange.contract(symbol, exchange)

    async def subscribe(self, req: SubscribeRequest) -> ContractData:
        """Start ticks of one contract; the first tick is emitted before this returns."""
        contract = self.exchange.contract(req.symbol, req.exchange)
        if contract is None:
            raise NotFoundError(f"unknown contract {req.vt_symbol!r}", field="symbol")
        async with self._lock:
            await self._act(self.exchange.subscribe(contract.vt_symbol))
        return contract

    async def ticks(self) -> list[TickData]:
        """The latest tick of each subscribed contract, in subscription order."""
        return list(self.exchange.last_ticks.values())

    async def send_order(self, req: OrderRequest) -> OrderData:
        """Validate, then accept and match the order (see :mod:`engine_bridge.sim.exchange`)."""
        contract = await self.check_order(req)
        async with self._lock:
            order, events = self.exchange.submit(req, contract)
            await self._act(events)
        return order

    async def cancel_order(self, vt_orderid: str) -> OrderData:
        """Cancel one active order (``NotFoundError``/``ConflictError`` otherwise)."""
        async with self._lock:
            order, events = self.exchange.cancel(vt_orderid)
            await self._act(events)
        return order

    async def cancel_all(self, vt_symbol: str | None = None) -> list[OrderData]:
        """Cancel every active order (of ``vt_symbol`` only, if given)."""
        async with self._lock:
            orders, events = self.exchange.cancel_all(vt_symbol)
            await self._act(events)
        return orders

    async def get_order(self, vt_orderid: str) -> OrderData:
        """One order (``NotFoundError`` if unknown)."""
        state = self.exchange.orders.get(vt_orderid)
        if state is None:
            raise NotFoundError(f"unknown order {vt_orderid!r}", field="vt_orderid")
        return state.order

    async def find_by_client_order_id(self, client_order_id: str) -> OrderData | None:
        """The order sent with ``client_order_id``, or None."""
        vt_orderid = self.exchange.client_orders.get(client_order_id)
        return self.exchange.orders[vt_orderid].order if vt_orderid else None

    async def orders(self) -> list[OrderData]:
        """Every order, oldest first."""
        return [s.order for s in self.exchange.orders.values()]

    async def trades(self) -> list[TradeData]:
        """Every trade, oldest first."""
        return list(self.exchange.trades)

    async def positions(self) -> list[PositionData]:
        """Every position ever opened, P&L marked to the last price."""
        ex = self.exchange
        return [
            ex.portfolio.position(h, ex.markets[vt].price(ex.markets[vt].last))
            for (vt, _), h in ex.portfolio.holdings.items()
            if h.opened
        ]

    async def accounts(self) -> list[AccountData]:
        """The one account, ``SIM``."""
        return [self.exchange.portfolio.account()]

    async def bars(self, req: HistoryRequest) -> list[BarData]:
        """Bars drawn back from the last price (see :mod:`engine_bridge.sim.history`)."""
        contract = self.exchange.contract(req.symbol, req.exchange)
        if contract is None:
            raise NotFoundError(f"unknown contract {req.vt_symbol!r}", field="symbol")
        start, end = history_window(req, self.exchange.clock())
        market = self.exchange.markets[contract.vt_symbol]
        return history_bars(market, req.interval, bar_times(start, end, req.interval))
