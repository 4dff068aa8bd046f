"""``VnpyEngine``: a VeighNa ``MainEngine`` behind the :class:`~engine_bridge.engine.Engine` API.

Events
------
:meth:`VnpyEngine.start` taps VeighNa's events (:class:`~.events.EventTap`: converted on
VeighNa's ``EventEngine`` thread, handed to the loop by a :class:`~.threads.Handoff`); on the
loop one consumer keeps them (:class:`~.state.VenueState`) and awaits the bridge's listener,
in VeighNa's order.  Ticks are conflated per contract when the loop falls behind (counted in
:attr:`VnpyEngine.dropped_ticks`); nothing else is ever dropped — VeighNa's thread waits.
Then, behind a fence (:mod:`.events`), the engine replays what VeighNa's ``OmsEngine``
already holds, so a bridge added to a running VeighNa Trader publishes its current state.

What "an action's own events are emitted before it returns" means here
----------------------------------------------------------------------
Calls into ``MainEngine`` (``send_order``, ``cancel_order``, ``subscribe``, ``connect``,
``query_history``) run in this engine's thread pool, never on the loop.  After each, the
engine passes a fence, so **every event the gateway raised while the call ran** — VeighNa
requires ``send_order`` to push the ``SUBMITTING`` order before it returns — has been
handed to the listener when the action returns.  What the venue answers later cannot be
awaited in general; the engine waits for it a bounded time:

* ``send_order`` returns the order once the venue acknowledged it (status past
  ``SUBMITTING``: ``NOTTRADED``, ``REJECTED``, ...) or after ``ack_timeout`` seconds, as
  it is then (maybe still ``SUBMITTING``);
* ``cancel_order``/``cancel_all`` return each order once it is no longer active, or
  after ``ack_timeout``, as it is then (maybe still active: the ``CANCELLED`` event
  follows when the venue confirms);
* ``subscribe`` returns once VeighNa took the request; the first tick comes when the
  venue sends it.

Events that arrive within the wait were handed to the listener before the action returns.
VeighNa orders carry no ``client_order_id``: the engine attaches it to every event of an
order sent with one, and re-emits the order with it if the gateway's first event raced
ahead of ``send_order`` returning its id.

Gateways
--------
VeighNa has no connection-state API.  ``gateways`` reports a gateway ``CONNECTED`` once a
contract or an account arrived from it, ``CONNECTING`` after a ``connect`` until then, and
``DISCONNECTED`` before; a connection lost later is not seen (VeighNa gateways reconnect
on their own and only log it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from vnpy.trader.engine import MainEngine
from vnpy.trader.object import HistoryRequest as VnpyHistoryRequest

from engine_bridge.engine import Engine, EngineEvent, EventListener, RestoredState
from engine_bridge.vnpy import convert
from engine_bridge.vnpy.events import EventTap, Fence, Item
from engine_bridge.vnpy.gateways import connect_setting, gateway_info
from engine_bridge.vnpy.state import VenueState
from engine_bridge.vnpy.threads import Handoff
from schemas.enums import Exchange, Status
from schemas.errors import ConflictError, EngineError, NotFoundError, NotSupportedError
from schemas.messages import GatewayInfo, GatewayState
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
    vt_symbol_of,
)
from schemas.requests import ConnectRequest, HistoryRequest, OrderRequest, SubscribeRequest
from schemas.subjects import EventKind
from schemas.validation import MAX_BARS, history_window

logger = logging.getLogger(__name__)

T = TypeVar("T")

ACK_TIMEOUT = 2.0
"""Seconds ``send_order``/``cancel_order`` wait for the venue's answer (see the module doc)."""
FENCE_TIMEOUT = 10.0
"""Seconds an action waits for its fence (VeighNa's event thread stopped: no wait at all)."""
WORKERS = 4
"""Threads calling into ``MainEngine`` at once."""


class VnpyEngine(Engine):
    """A VeighNa ``MainEngine`` (with its gateways) as the bridge's engine.

    The engine does not own ``main_engine``: stopping it stops listening and leaves VeighNa
    running (:class:`~engine_bridge.vnpy.headless.HeadlessVnpyEngine` owns one).
    ``ack_timeout``: seconds actions wait for the venue's answer.
    """

    kind: ClassVar[str] = "vnpy"

    def __init__(
        self, main_engine: MainEngine | None = None, *, ack_timeout: float = ACK_TIMEOUT
    ) -> None:
        self._main_engine = main_engine
        self.ack_timeout = ack_timeout
        self.state = VenueState()
        self._restored = RestoredState()
        self._listener: EventListener | None = None
        self._handoff: Handoff[Item] | None = None
        self._tap: EventTap | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def main_engine(self) -> MainEngine:
        """The VeighNa engine behind this one."""
        if self._main_engine is None:
            raise RuntimeError("VnpyEngine has no MainEngine yet (not started)")
        return self._main_engine

    @property
    def gateway_name(self) -> str:
        """The gateway's name; several gateways: their names, comma-separated."""
        if self._main_engine is None:
            return ""
        return ",".join(self._main_engine.get_all_gateway_names())

    @property
    def dropped_ticks(self) -> int:
        """Ticks conflated away because the loop was behind (see :mod:`.threads`)."""
        return 0 if self._handoff is None else self._handoff.dropped_ticks

    # ------------------------------------------------------------------- start, stop

    async def restore(self, state: RestoredState) -> None:
        """Keep what the events stream holds; the venue stays the truth.

        Unchanged state is not re-published at start, and the ``client_order_id`` of an
        earlier order is attached again to the venue's order with that id if it matches.
        """
        self._restored = state
        self.state.restore(state)

    async def start(self, listener: EventListener) -> None:
        """Listen to VeighNa's events, then publish what its OMS already holds."""
        self._listener = listener
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="vnpy-call")
        self._handoff = Handoff(asyncio.get_running_loop(), self._process)
        self._consumer = asyncio.create_task(self._handoff.run(), name="vnpy-events")
        self._tap = tap = EventTap(self.main_engine, self._handoff)
        tap.restored = self._restored
        tap.attach()
        await self._fence(before=tap.replay_oms)

    async def stop(self) -> None:
        """Stop listening; every event VeighNa queued before is handed to the listener first."""
        handoff, consumer, tap = self._handoff, self._consumer, self._tap
        if handoff is None or consumer is None or tap is None:
            return
        tap.detach_events()
        await self._fence()
        tap.detach()
        handoff.close()
        await consumer
        self._handoff = self._consumer = self._tap = None
        self._listener = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if handoff.dropped_ticks:
            logger.info("%d ticks were conflated while the loop was behind", handoff.dropped_ticks)

    # ------------------------------------------------------------------ the loop side

    async def _process(self, item: Item | TickData) -> None:
        """Consumer: keep the event, hand it to the listener, then wake waiters."""
        if isinstance(item, Fence):
            if item.after is not None:
                await item.after()
            if not item.future.done():
                item.future.set_result(None)
            return
        kind, obj = (EventKind.TICK, item) if isinstance(item, TickData) else item
        obj = self.state.keep(obj)
        await self._emit(kind, obj)
        if isinstance(obj, OrderData):
            self.state.wake(obj)

    async def _emit(self, kind: EventKind, obj: EngineEvent) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            await listener(kind, obj)
        except Exception:
            logger.exception("event listener failed on a %s event", kind.value)

    async def _fence(
        self,
        *,
        before: Callable[[], None] | None = None,
        after: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait until every event VeighNa queued so far has been handed to the listener."""
        tap = self._tap
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if tap is None or not tap.put_fence(Fence(future, before, after)):
            return
        try:
            async with asyncio.timeout(FENCE_TIMEOUT):
                await asyncio.shield(future)
        except TimeoutError:
            logger.warning("VeighNa's event engine did not pass a fence in %g s", FENCE_TIMEOUT)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in this engine's thread pool (calls into VeighNa may block)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def _order_when(
        self, vt_orderid: str, done: Callable[[OrderData], bool]
    ) -> OrderData | None:
        return await self.state.order_when(vt_orderid, done, self.ack_timeout)

    # ------------------------------------------------------------------------ Engine API

    async def contracts(self) -> list[ContractData]:
        """Every contract VeighNa knows, in the order they arrived."""
        return list(self.state.contracts.values())

    async def get_contract(self, symbol: str, exchange: Exchange) -> ContractData | None:
        """The contract, or None."""
        return self.state.contracts.get(vt_symbol_of(symbol, exchange))

    async def _contract(self, symbol: str, exchange: Exchange) -> ContractData:
        contract = await self.get_contract(symbol, exchange)
        if contract is None:
            raise NotFoundError(f"unknown contract {vt_symbol_of(symbol, exchange)!r}", "symbol")
        return contract

    async def subscribe(self, req: SubscribeRequest) -> ContractData:
        """Ask the contract's gateway for ticks; returns once VeighNa took the request."""
        contract = await self._contract(req.symbol, req.exchange)
        await self._call(
            self.main_engine.subscribe, convert.subscribe_request(contract), contract.gateway_name
        )
        await self._fence()
        return contract

    async def ticks(self) -> list[TickData]:
        """The latest tick of each contract that had ticks."""
        return list(self.state.ticks.values())

    async def send_order(self, req: OrderRequest) -> OrderData:
        """Validate, send through the contract's gateway, wait for the venue's answer.

        Raises:
            UnprocessableError: the contract cannot take the order.
            EngineError: the gateway returned no order id (it logs why).
        """
        contract = await self.check_order(req)
        gateway = contract.gateway_name
        vt_orderid = await self._call(
            self.main_engine.send_order, convert.order_request(req), gateway
        )
        if not vt_orderid:
            raise EngineError(f"gateway {gateway} did not take the order (see the engine log)")
        if req.client_order_id:
            self.state.sent(vt_orderid, req.client_order_id)
        await self._fence(after=functools.partial(self._retag, vt_orderid))
        order = await self._order_when(vt_orderid, lambda o: o.status is not Status.SUBMITTING)
        if order is None:
            logger.warning("gateway %s sent no event for order %s", gateway, vt_orderid)
            order = OrderData(
                gateway_name=gateway,
                symbol=req.symbol,
                exchange=req.exchange,
                orderid=vt_orderid.partition(".")[2],
                type=req.type,
                direction=req.direction,
                offset=req.offset,
                price=req.price,
                volume=req.volume,
                datetime=datetime.now(UTC),
                reference=req.reference,
                client_order_id=req.client_order_id,
            )
        return order

    async def _retag(self, vt_orderid: str) -> None:
        """At a fence: re-emit an order whose events went out before its client id was known."""
        order = self.state.untagged(vt_orderid)
        if order is not None:
            await self._emit(EventKind.ORDER, order)

    async def cancel_order(self, vt_orderid: str) -> OrderData:
        """Ask the order's gateway to cancel it; wait for the venue's answer (bounded)."""
        order = await self.get_order(vt_orderid)
        if not order.is_active():
            raise ConflictError(
                f"order {vt_orderid!r} is {order.status.value}, no longer active", "vt_orderid"
            )
        await self._request_cancel(order)
        await self._fence()
        return await self._order_when(vt_orderid, _inactive) or order

    async def _request_cancel(self, order: OrderData) -> None:
        await self._call(
            self.main_engine.cancel_order, convert.cancel_request(order), order.gateway_name
        )

    async def cancel_all(self, vt_symbol: str | None = None) -> list[OrderData]:
        """Cancel every active order (of ``vt_symbol``); return each as it is afterwards."""
        active = [
            o
            for o in self.state.orders.values()
            if o.is_active() and (vt_symbol is None or o.vt_symbol == vt_symbol)
        ]
        for order in active:
            await self._request_cancel(order)
        await self._fence()
        after = await asyncio.gather(*(self._order_when(o.vt_orderid, _inactive) for o in active))
        return [now or before for now, before in zip(after, active, strict=True)]

    async def get_order(self, vt_orderid: str) -> OrderData:
        """One order (``NotFoundError`` if unknown)."""
        order = self.state.orders.get(vt_orderid)
        if order is None:
            raise NotFoundError(f"unknown order {vt_orderid!r}", field="vt_orderid")
        return order

    async def find_by_client_order_id(self, client_order_id: str) -> OrderData | None:
        """The order this engine sent with ``client_order_id`` (this run or restored)."""
        vt_orderid = self.state.by_client_id.get(client_order_id)
        return self.state.orders.get(vt_orderid) if vt_orderid else None

    async def orders(self) -> list[OrderData]:
        """Every order VeighNa reported, oldest first."""
        return list(self.state.orders.values())

    async def trades(self) -> list[TradeData]:
        """Every trade VeighNa reported, oldest first."""
        return list(self.state.trades.values())

    async def positions(self) -> list[PositionData]:
        """Every position VeighNa reported."""
        return list(self.state.positions.values())

    async def accounts(self) -> list[AccountData]:
        """Every account VeighNa reported."""
        return list(self.state.accounts.values())

    # ------------------------------------------------------------------ gateways, bars

    def _info(self, name: str) -> GatewayInfo:
        return gateway_info(self.main_engine.gateways[name], self.state)

    async def gateways(self) -> list[GatewayInfo]:
        """Every gateway added to the ``MainEngine``, with its (inferred) state."""
        return [self._info(name) for name in self.main_engine.get_all_gateway_names()]

    async def connect_gateway(self, req: ConnectRequest) -> GatewayInfo:
        """Connect a gateway (nothing to do if it is ``CONNECTED``); never logs the setting.

        Raises:
            NotFoundError: no gateway of that name.
            EngineError: the gateway's ``connect`` raised (its type is named, not its text).
        """
        name = req.gateway_name
        gateway = self.main_engine.gateways.get(name)
        if gateway is None:
            raise NotFoundError(f"unknown gateway {name!r}", field="gateway_name")
        if self.state.gateway_state(name) is GatewayState.CONNECTED:
            return self._info(name)
        setting = connect_setting(gateway.default_setting, req.setting)
        self.state.connecting.add(name)
        try:
            await self._call(self.main_engine.connect, setting, name)
        except Exception as exc:  # noqa: BLE001 - any gateway failure: name its type only
            logger.error("gateway %s: connect raised %s", name, type(exc).__name__)
            raise EngineError(f"gateway {name} failed to connect ({type(exc).__name__})") from None
        await self._fence()
        return self._info(name)

    async def bars(self, req: HistoryRequest) -> list[BarData]:
        """Bars from the contract's gateway (``query_history``), oldest first, newest kept.

        Raises:
            NotFoundError: unknown contract.
            UnprocessableError: bad window or interval.
            NotSupportedError: the contract says its gateway has no history (``history_data``).
        """
        contract = await self._contract(req.symbol, req.exchange)
        start, end = history_window(req, datetime.now(UTC))
        if not contract.history_data:
            raise NotSupportedError(
                f"gateway {contract.gateway_name} has no bar history for {contract.vt_symbol}"
            )
        vnpy_req = convert.history_request(contract, start, end, req.interval)
        return await self._call(self._query_bars, vnpy_req, contract.gateway_name)

    def _query_bars(self, vnpy_req: VnpyHistoryRequest, gateway: str) -> list[BarData]:
        """In the pool: query, convert, sort, keep the newest :data:`MAX_BARS`."""
        bars = [convert.bar(b) for b in self.main_engine.query_history(vnpy_req, gateway)]
        bars.sort(key=lambda b: b.datetime)
        return bars[-MAX_BARS:]


def _inactive(order: OrderData) -> bool:
    return not order.is_active()
