"""VeighNa's side of the bridge: its events into a :class:`~.threads.Handoff`, and fences.

An :class:`EventTap` registers one handler per VeighNa event type (``eTick.``, ``eOrder.``,
``eTrade.``, ``ePosition.``, ``eAccount.``, ``eContract.``, ``eQuote.``, ``eLog``).  On
VeighNa's ``EventEngine`` thread each event is converted to its wire Struct
(:mod:`.convert`) and handed off — ticks with :meth:`~.threads.Handoff.put_tick`
(conflated), everything else with :meth:`~.threads.Handoff.put` (waits, never drops).  A
handler never raises into VeighNa's thread (an exception there would end it).

Fences
------
A :class:`Fence` is an event the tap puts in VeighNa's queue.  VeighNa's queue is FIFO and
served by one thread, and the handoff keeps that order, so when the fence comes out of the
handoff on the loop, every event VeighNa queued before it has been processed.  A fence may
carry work for VeighNa's thread (``before``: :meth:`EventTap.replay_oms`) and for the loop
(``after``).

Replay
------
:meth:`EventTap.replay_oms` puts what VeighNa's ``OmsEngine`` already holds (contracts,
accounts, positions, orders, trades, latest ticks) in the handoff, on VeighNa's thread, so
the replay sits at one point of VeighNa's event order.  State equal to what the events
stream already holds (the bridge's :class:`~engine_bridge.engine.RestoredState`) and trades
it already has are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace
from vnpy.event import Event as VnpyEvent
from vnpy.trader import event as ve
from vnpy.trader.engine import MainEngine

from engine_bridge.engine import EngineEvent, RestoredState
from engine_bridge.vnpy import convert
from engine_bridge.vnpy.threads import Handoff
from schemas.objects import TickData
from schemas.subjects import EventKind

logger = logging.getLogger(__name__)

CONVERTERS: dict[str, tuple[EventKind, Callable[[Any], EngineEvent]]] = {
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
    items ahead of it); ``after`` is awaited by the loop's consumer at the fence (it may
    emit events); then ``future`` is resolved.
    """

    future: asyncio.Future[None]
    before: Callable[[], None] | None = None
    after: Callable[[], Awaitable[None]] | None = None


Item = tuple[EventKind, EngineEvent] | Fence
"""What goes through the handoff (besides ticks)."""


class EventTap:
    """VeighNa's events of ``main_engine`` into ``handoff`` (see the module docstring)."""

    def __init__(self, main_engine: MainEngine, handoff: Handoff[Item]) -> None:
        self.main_engine = main_engine
        self.handoff = handoff
        self.restored = RestoredState()
        self._fence_type = f"eWebtraderFence.{id(self)}"
        self._listening = False

    @property
    def running(self) -> bool:
        """Whether VeighNa's event thread runs (a fence would pass)."""
        # VeighNa has no public "running"; without its private flag, assume it runs
        return bool(getattr(self.main_engine.event_engine, "_active", True))

    def attach(self) -> None:
        """Register the handlers (on any thread: VeighNa's registry tolerates it)."""
        event_engine = self.main_engine.event_engine
        event_engine.register(self._fence_type, self._on_fence)
        for event_type in CONVERTERS:
            event_engine.register(event_type, self._on_event)
        self._listening = True

    def detach_events(self) -> None:
        """Stop taking VeighNa's events (fences still pass)."""
        self._listening = False
        for event_type in CONVERTERS:
            self.main_engine.event_engine.unregister(event_type, self._on_event)

    def detach(self) -> None:
        """Unregister everything."""
        self.detach_events()
        self.main_engine.event_engine.unregister(self._fence_type, self._on_fence)

    def put_fence(self, fence: Fence) -> bool:
        """Queue ``fence`` behind every event VeighNa has queued; False if VeighNa stopped."""
        if not self.running:
            return False
        self.main_engine.event_engine.put(VnpyEvent(self._fence_type, fence))
        return True

    # ------------------------------------------------------------- VeighNa's event thread

    def _on_event(self, event: VnpyEvent) -> None:
        if not self._listening:
            return
        try:
            kind, conv = CONVERTERS[event.type]
            obj = conv(event.data)
        except Exception:
            logger.exception("cannot convert VeighNa %s event", event.type)
            return
        if isinstance(obj, TickData):
            self.handoff.put_tick(obj)
        else:
            self.handoff.put((kind, obj))

    def _on_fence(self, event: VnpyEvent) -> None:
        fence: Fence = event.data
        if fence.before is not None:
            try:
                fence.before()
            except Exception:
                logger.exception("fence work on VeighNa's thread failed")
        self.handoff.put(fence)

    def replay_oms(self) -> None:
        """Put what VeighNa's OMS holds in the handoff (run it as a fence's ``before``)."""
        me, restored = self.main_engine, self.restored
        seen_trades = {t.vt_tradeid for t in restored.trades}
        last: dict[str, Any] = {
            **{o.vt_orderid: replace(o, client_order_id="", reason="") for o in restored.orders},
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
                self.handoff.put_tick(convert.tick(tick))

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
        if last is not None and last.get(getattr(event, key)) == event:
            return
        self.handoff.put((kind, event))
