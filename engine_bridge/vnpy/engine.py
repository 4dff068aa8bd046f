"""``VnpyEngine``: a VeighNa ``MainEngine`` behind the :class:`~engine_bridge.engine.Engine` API.

Events
------
:meth:`VnpyEngine.start` registers one handler per VeighNa event type (``eTick.``,
``eOrder.``, ``eTrade.``, ``ePosition.``, ``eAccount.``, ``eContract.``, ``eQuote.``,
``eLog``).  On VeighNa's ``EventEngine`` thread each event is converted to its wire Struct
(:mod:`engine_bridge.vnpy.convert`) and put in a :class:`~engine_bridge.vnpy.threads.Handoff`;
on the loop one consumer updates this engine's caches and awaits the bridge's listener, in
VeighNa's order.  Ticks are conflated per contract when the loop falls behind (counted in
:attr:`VnpyEngine.dropped_ticks`); nothing else is ever dropped — VeighNa's thread waits.
Then, through a *fence* (below), the engine replays what VeighNa's ``OmsEngine`` already
holds (contracts, accounts, positions, orders, trades, latest ticks), so a bridge added to
a running VeighNa Trader publishes its current state.

Fences
------
A fence is an event this engine puts in VeighNa's event queue and waits for on the loop.
VeighNa's queue is FIFO and served by one thread, and the handoff keeps that order, so when
the fence comes out of the handoff every event VeighNa queued before it has been handed to
the listener.

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
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from msgspec.structs import replace
from vnpy.event import Event as VnpyEvent
from vnpy.trader import event as ve
from vnpy.trader.engine import MainEngine

from engine_bridge.engine import Engine, EngineEvent, EventListener, RestoredState
from engine_bridge.vnpy import convert
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
    QuoteData,
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

_CONVERTERS: dict[str, tuple[EventKind | None, Callable[[Any], Any]]] = {
    ve.EVENT_TICK: (EventKind.TICK, convert.tick),
    ve.EVENT_ORDER: (EventKind.ORDER, convert.order),
    ve.EVENT_TRADE: (EventKind.TRADE, convert.trade),
    ve.EVENT_POSITION: (EventKind.POSITION, convert.position),
    ve.EVENT_ACCOUNT: (EventKind.ACCOUNT, convert.account),
    ve.EVENT_CONTRACT: (EventKind.CONTRACT, convert.contract),
    ve.EVENT_QUOTE: (EventKind.QUOTE, convert.quote),
    ve.EVENT_LOG: (EventKind.LOG, convert.log),
}
"""VeighNa event type -> (wire kind, converter)."""


@dataclass(eq=False)
class Fence:
    """A marker through VeighNa's queue and the handoff (see the module docstring).

    ``before`` runs on VeighNa's event thread when the fence gets there (and may put
    events ahead of it); ``future`` is resolved on the loop once the fence is processed.
    """

    future: asyncio.Future[None]
    before: Callable[[], None] | None = None
    after: Callable[[], Any] | None = field(default=None)
    """Coroutine function run by the consumer at the fence (it may emit events)."""


Item = tuple[EventKind, EngineEvent] | Fence
Waiter = tuple[Callable[[OrderData], bool], asyncio.Future[None]]
"""An action waiting for an order to satisfy a condition."""


class VnpyEngine(Engine):
    """A VeighNa ``MainEngine`` (with its gateways) as the bridge's engine.

    The engine does not own ``main_engine``: stopping it unregisters its handlers and
    leaves VeighNa running (:class:`~engine_bridge.vnpy.headless.HeadlessVnpyEngine`
    owns one).  ``ack_timeout``: seconds actions wait for the venue's answer.
    """

    kind: ClassVar[str] = "vnpy"

    def __init__(self, main_engine: MainEngine | None = None, *, ack_timeout: float = ACK_TIMEOUT):
        self._main_engine = main_engine
        self.ack_timeout = ack_timeout
        self._fence_type = f"eWebtraderFence.{id(self)}"
        self._listener: EventListener | None = None
        self._handoff: Handoff[Item] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._restored = RestoredState()
        self._restored_ids: dict[str, OrderData] = {}
        self._contracts: dict[str, ContractData] = {}
        self._ticks: dict[str, TickData] = {}
        self._orders: dict[str, OrderData] = {}
        self._trades: dict[str, TradeData] = {}
        self._positions: dict[str, PositionData] = {}
        self._accounts: dict[str, AccountData] = {}
        self._quotes: dict[str, QuoteData] = {}
        self._client_ids: dict[str, str] = {}
        """vt_orderid -> client_order_id of orders sent with one."""
        self._by_client_id: dict[str, str] = {}
        self._waiters: dict[str, list[Waiter]] = {}
        self._connecting: set[str] = set()
        self._heard: set[str] = set()

    # -------------------------------------------------------------------------- plumbing

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

    async def restore(self, state: RestoredState) -> None:
        """Keep what the events stream holds (see below); the venue stays the truth.

        Unchanged state is not re-published at start, and the ``client_order_id`` of an
        earlier order is attached again to the venue's order with that id if it matches.
        """
        self._restored = state
        self._restored_ids = {o.vt_orderid: o for o in state.orders if o.client_order_id}

    async def start(self, listener: EventListener) -> None:
        """Listen to VeighNa's events, then publish what its OMS already holds."""
        loop = asyncio.get_running_loop()
        self._listener = listener
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="vnpy-call")
        self._handoff = Handoff(loop, self._process)
        self._consumer = asyncio.create_task(self._handoff.run(), name="vnpy-events")
        event_engine = self.main_engine.event_engine
        for event_type in _CONVERTERS:
            event_engine.register(event_type, self._on_event)
        event_engine.register(self._fence_type, self._on_fence)
        await self._fence(before=self._replay_oms)

    async def stop(self) -> None:
        """Stop listening; every event VeighNa queued before is handed to the listener first."""
        handoff, consumer = self._handoff, self._consumer
        if handoff is None or consumer is None:
            return
        event_engine = self.main_engine.event_engine
        for event_type in _CONVERTERS:
            event_engine.unregister(event_type, self._on_event)
        await self._fence()
        event_engine.unregister(self._fence_type, self._on_fence)
        handoff.close()
        await consumer
        self._handoff = self._consumer = None
        self._listener = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if handoff.dropped_ticks:
            logger.info("%d ticks were conflated while the loop was behind", handoff.dropped_ticks)

    # ------------------------------------------------------- VeighNa's event thread side

    def _on_event(self, event: VnpyEvent) -> None:
        """VeighNa handler: convert, hand off.  Never raises into VeighNa's thread."""
        handoff = self._handoff
        if handoff is None:
            return
        try:
            kind, conv = _CONVERTERS[event.type]
            obj = conv(event.data)
        except Exception:
            logger.exception("cannot convert VeighNa %s event", event.type)
            return
        if isinstance(obj, TickData):
            handoff.put_tick(obj)
        elif kind is not None:
            handoff.put((kind, obj))

    def _on_fence(self, event: VnpyEvent) -> None:
        fence: Fence = event.data
        handoff = self._handoff
        try:
            if fence.before is not None:
                fence.before()
        except Exception:
            logger.exception("fence action failed")
        if handoff is not None:
            handoff.put(fence)

    def _replay_oms(self) -> None:
        """On VeighNa's thread: put what the OMS holds in the handoff, unchanged state skipped."""
        me, handoff = self.main_engine, self._handoff
        if handoff is None:
            return
        restored = self._restored
        seen_trades = {t.vt_tradeid for t in restored.trades}
        last = {
            **{o.vt_orderid: o for o in restored.orders},
            **{p.vt_positionid: p for p in restored.positions},
            **{a.vt_accountid: a for a in restored.accounts},
        }
        for contract in me.get_all_contracts():
            self._replay(EventKind.CONTRACT, convert.contract, contract)
        for account in me.get_all_accounts():
            self._replay(EventKind.ACCOUNT, convert.account, account, last, "vt_accountid")
        for position in me.get_all_positions():
            self._replay(EventKind.POSITION, convert.position, position, last, "vt_positionid")
        for order in me.get_all_orders():
            self._replay(EventKind.ORDER, convert.order, order, last, "vt_orderid")
        for trade in me.get_all_trades():
            if trade.vt_tradeid not in seen_trades:
                self._replay(EventKind.TRADE, convert.trade, trade)
        for tick in me.get_all_ticks():
            with contextlib.suppress(Exception):
                handoff.put_tick(convert.tick(tick))

    def _replay(
        self,
        kind: EventKind,
        conv: Callable[[Any], EngineEvent],
        obj: Any,
        last: dict[str, Any] | None = None,
        key: str = "",
    ) -> None:
        try:
            event = conv(obj)
        except Exception:
            logger.exception("cannot convert a VeighNa %s", kind.value)
            return
        if last is not None:
            before = last.get(getattr(event, key))
            if isinstance(before, OrderData) and isinstance(event, OrderData):
                before = replace(before, client_order_id="", reason="")
            if before == event:
                return
        assert self._handoff is not None  # noqa: S101 - called only while started
        self._handoff.put((kind, event))

    # ------------------------------------------------------------------- loop side

    async def _process(self, item: Item | TickData) -> None:
        """Consumer: update the caches, hand the event to the listener, wake waiters."""
        if isinstance(item, TickData):
            self._ticks[item.vt_symbol] = item
            await self._emit(EventKind.TICK, item)
            return
        if isinstance(item, Fence):
            if item.after is not None:
                await item.after()
            if not item.future.done():
                item.future.set_result(None)
            return
        kind, obj = item
        if isinstance(obj, OrderData):
            obj = self._keep_order(obj)
        else:
            self._keep(obj)
        await self._emit(kind, obj)
        if isinstance(obj, OrderData):
            self._wake_waiters(obj)

    def _keep_order(self, order: OrderData) -> OrderData:
        earlier = self._restored_ids.pop(order.vt_orderid, None)
        if earlier is not None and _same_order(earlier, order):
            self._client_ids[order.vt_orderid] = earlier.client_order_id
            self._by_client_id.setdefault(earlier.client_order_id, order.vt_orderid)
        client_id = self._client_ids.get(order.vt_orderid)
        if client_id and order.client_order_id != client_id:
            order = replace(order, client_order_id=client_id)
        if order.status is Status.REJECTED and not order.reason:
            order = replace(order, reason=f"rejected by gateway {order.gateway_name}")
        self._orders[order.vt_orderid] = order
        return order

    def _keep(self, obj: EngineEvent) -> None:
        if isinstance(obj, ContractData):
            self._contracts[obj.vt_symbol] = obj
            self._heard.add(obj.gateway_name)
        elif isinstance(obj, TradeData):
            self._trades[obj.vt_tradeid] = obj
        elif isinstance(obj, PositionData):
            self._positions[obj.vt_positionid] = obj
        elif isinstance(obj, AccountData):
            self._accounts[obj.vt_accountid] = obj
            self._heard.add(obj.gateway_name)
        elif isinstance(obj, QuoteData):
            self._quotes[obj.vt_quoteid] = obj

    async def _emit(self, kind: EventKind, obj: EngineEvent) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            await listener(kind, obj)
        except Exception:
            logger.exception("event listener failed on a %s event", kind.value)

    def _wake_waiters(self, order: OrderData) -> None:
        waiters = self._waiters.get(order.vt_orderid)
        if not waiters:
            return
        for done, future in list(waiters):
            if done(order) and not future.done():
                future.set_result(None)
        waiters[:] = [(d, f) for d, f in waiters if not f.done()]
        if not waiters:
            del self._waiters[order.vt_orderid]

    async def _order_when(
        self, vt_orderid: str, done: Callable[[OrderData], bool]
    ) -> OrderData | None:
        """The order once ``done(order)``, or as it is after ``ack_timeout`` (None if unknown)."""
        order = self._orders.get(vt_orderid)
        if order is not None and done(order):
            return order
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(vt_orderid, []).append((done, future))
        try:
            async with asyncio.timeout(self.ack_timeout):
                await future
        except TimeoutError:
            waiters = self._waiters.get(vt_orderid, [])
            waiters[:] = [(d, f) for d, f in waiters if f is not future]
            if not waiters:
                self._waiters.pop(vt_orderid, None)
        return self._orders.get(vt_orderid)

    async def _fence(
        self,
        *,
        before: Callable[[], None] | None = None,
        after: Callable[[], Any] | None = None,
    ) -> None:
        """Wait until every event VeighNa queued so far has been handed to the listener."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        event_engine = self.main_engine.event_engine
        if not event_engine._active:  # VeighNa has no public "running"
            return
        event_engine.put(VnpyEvent(self._fence_type, Fence(future, before, after)))
        try:
            async with asyncio.timeout(FENCE_TIMEOUT):
                await asyncio.shield(future)
        except TimeoutError:
            logger.warning("VeighNa's event engine did not pass a fence in %g s", FENCE_TIMEOUT)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in this engine's thread pool (calls into VeighNa may block)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _gateway_of(self, contract: ContractData) -> str:
        return contract.gateway_name

    # ------------------------------------------------------------------------ Engine API

    async def contracts(self) -> list[ContractData]:
        """Every contract VeighNa knows, in the order they arrived."""
        return list(self._contracts.values())

    async def get_contract(self, symbol: str, exchange: Exchange) -> ContractData | None:
        """The contract, or None."""
        return self._contracts.get(vt_symbol_of(symbol, exchange))

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
        return list(self._ticks.values())

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
            self._client_ids[vt_orderid] = req.client_order_id
            self._by_client_id[req.client_order_id] = vt_orderid
        await self._fence(after=functools.partial(self._tag_client_id, vt_orderid))
        order = await self._order_when(vt_orderid, lambda o: o.status is not Status.SUBMITTING)
        if order is None:
            logger.warning("gateway %s sent no event for order %s", gateway, vt_orderid)
            orderid = vt_orderid.partition(".")[2]
            order = OrderData(
                gateway_name=gateway,
                symbol=req.symbol,
                exchange=req.exchange,
                orderid=orderid,
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

    async def _tag_client_id(self, vt_orderid: str) -> None:
        """At a fence: re-emit an order whose events went out before its client id was known."""
        order = self._orders.get(vt_orderid)
        client_id = self._client_ids.get(vt_orderid)
        if order is not None and client_id and order.client_order_id != client_id:
            order = self._keep_order(order)
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
            for o in self._orders.values()
            if o.is_active() and (vt_symbol is None or o.vt_symbol == vt_symbol)
        ]
        for order in active:
            await self._request_cancel(order)
        await self._fence()
        after = await asyncio.gather(*(self._order_when(o.vt_orderid, _inactive) for o in active))
        return [now or before for now, before in zip(after, active, strict=True)]

    async def get_order(self, vt_orderid: str) -> OrderData:
        """One order (``NotFoundError`` if unknown)."""
        order = self._orders.get(vt_orderid)
        if order is None:
            raise NotFoundError(f"unknown order {vt_orderid!r}", field="vt_orderid")
        return order

    async def find_by_client_order_id(self, client_order_id: str) -> OrderData | None:
        """The order this engine sent with ``client_order_id`` (this run or restored)."""
        vt_orderid = self._by_client_id.get(client_order_id)
        return self._orders.get(vt_orderid) if vt_orderid else None

    async def orders(self) -> list[OrderData]:
        """Every order VeighNa reported, oldest first."""
        return list(self._orders.values())

    async def trades(self) -> list[TradeData]:
        """Every trade VeighNa reported, oldest first."""
        return list(self._trades.values())

    async def positions(self) -> list[PositionData]:
        """Every position VeighNa reported."""
        return list(self._positions.values())

    async def accounts(self) -> list[AccountData]:
        """Every account VeighNa reported."""
        return list(self._accounts.values())

    # ------------------------------------------------------------------ gateways, bars

    def _state(self, name: str) -> GatewayState:
        if name in self._heard:
            return GatewayState.CONNECTED
        if name in self._connecting:
            return GatewayState.CONNECTING
        return GatewayState.DISCONNECTED

    def _info(self, name: str) -> GatewayInfo:
        gateway = self.main_engine.gateways[name]
        return GatewayInfo(
            name=name,
            state=self._state(name),
            exchanges=[e.name for e in gateway.exchanges],
            contracts=sum(1 for c in self._contracts.values() if c.gateway_name == name),
            default_setting={k: _default(v) for k, v in gateway.default_setting.items()},
        )

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
        if self._state(name) is GatewayState.CONNECTED:
            return self._info(name)
        setting = connect_setting(gateway.default_setting, req.setting)
        self._connecting.add(name)
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

    def _query_bars(self, vnpy_req: Any, gateway: str) -> list[BarData]:
        """In the pool: query, convert, sort, keep the newest :data:`MAX_BARS`."""
        bars = [convert.bar(b) for b in self.main_engine.query_history(vnpy_req, gateway)]
        bars.sort(key=lambda b: b.datetime)
        return bars[-MAX_BARS:]


def _inactive(order: OrderData) -> bool:
    return not order.is_active()


def _same_order(a: OrderData, b: OrderData) -> bool:
    """Whether two orders with one ``vt_orderid`` are one order (ids a venue may reuse)."""
    keys = ("symbol", "exchange", "direction", "offset", "type", "price", "volume", "reference")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _default(value: object) -> str | int | float | bool | list[str]:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return str(value)


def connect_setting(
    defaults: dict[str, Any], given: dict[str, str | int | float | bool]
) -> dict[str, Any]:
    """The setting ``connect`` gets: ``given`` over the defaults (a list's first choice)."""
    setting: dict[str, Any] = {}
    for key, default in defaults.items():
        if isinstance(default, list):
            default = default[0] if default else ""  # noqa: PLW2901 - the choice's default
        setting[key] = default
    setting.update(given)
    return setting
