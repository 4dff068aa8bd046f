"""What the VeighNa engine knows, kept on the loop from the events it handed on.

:class:`VenueState` holds the latest of every contract, tick, order, trade, position,
account and quote (wire Structs, ready to answer queries without touching VeighNa's
objects from the loop), the ``client_order_id`` of orders sent with one, which gateways
were heard from, and the actions waiting for an order to change.  Only the loop's thread
touches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from msgspec.structs import replace

from engine_bridge.engine import EngineEvent, RestoredState
from schemas.enums import Status
from schemas.messages import GatewayState
from schemas.objects import (
    AccountData,
    ContractData,
    OrderData,
    PositionData,
    QuoteData,
    TickData,
    TradeData,
)

Waiter = tuple[Callable[[OrderData], bool], asyncio.Future[None]]
"""An action waiting for an order to satisfy a condition."""

SAME_ORDER_FIELDS = (
    "symbol",
    "exchange",
    "direction",
    "offset",
    "type",
    "price",
    "volume",
    "reference",
)
"""Fields two orders with one ``vt_orderid`` must share to be one order (venues may reuse
ids across sessions)."""


class VenueState:
    """The engine's view of VeighNa (see the module docstring)."""

    def __init__(self) -> None:
        self.contracts: dict[str, ContractData] = {}
        self.ticks: dict[str, TickData] = {}
        self.orders: dict[str, OrderData] = {}
        self.trades: dict[str, TradeData] = {}
        self.positions: dict[str, PositionData] = {}
        self.accounts: dict[str, AccountData] = {}
        self.quotes: dict[str, QuoteData] = {}
        self.client_ids: dict[str, str] = {}
        """``vt_orderid`` -> ``client_order_id``."""
        self.by_client_id: dict[str, str] = {}
        """``client_order_id`` -> ``vt_orderid``."""
        self.connecting: set[str] = set()
        self.heard: set[str] = set()
        self._restored_ids: dict[str, OrderData] = {}
        self._waiters: dict[str, list[Waiter]] = {}

    def restore(self, state: RestoredState) -> None:
        """Remember the ``client_order_id`` of orders the events stream holds.

        Each is attached again to the venue's order of that ``vt_orderid`` when that order
        shows up and matches (:data:`SAME_ORDER_FIELDS`).
        """
        self._restored_ids = {o.vt_orderid: o for o in state.orders if o.client_order_id}

    def sent(self, vt_orderid: str, client_order_id: str) -> None:
        """Order ``vt_orderid`` was sent with ``client_order_id``."""
        self.client_ids[vt_orderid] = client_order_id
        self.by_client_id[client_order_id] = vt_orderid

    # ---------------------------------------------------------------------- updates

    def keep(self, obj: EngineEvent) -> EngineEvent:
        """Take one event in; returns it as it is to be published (orders: tagged)."""
        if isinstance(obj, OrderData):
            return self.keep_order(obj)
        if isinstance(obj, TickData):
            self.ticks[obj.vt_symbol] = obj
        elif isinstance(obj, ContractData):
            self.contracts[obj.vt_symbol] = obj
            self.heard.add(obj.gateway_name)
        elif isinstance(obj, TradeData):
            self.trades[obj.vt_tradeid] = obj
        elif isinstance(obj, PositionData):
            self.positions[obj.vt_positionid] = obj
        elif isinstance(obj, AccountData):
            self.accounts[obj.vt_accountid] = obj
            self.heard.add(obj.gateway_name)
        elif isinstance(obj, QuoteData):
            self.quotes[obj.vt_quoteid] = obj
        return obj

    def keep_order(self, order: OrderData) -> OrderData:
        """Keep ``order`` with its ``client_order_id`` (and a reason if it was rejected)."""
        earlier = self._restored_ids.pop(order.vt_orderid, None)
        if earlier is not None and all(
            getattr(earlier, k) == getattr(order, k) for k in SAME_ORDER_FIELDS
        ):
            self.client_ids[order.vt_orderid] = earlier.client_order_id
            self.by_client_id.setdefault(earlier.client_order_id, order.vt_orderid)
        client_id = self.client_ids.get(order.vt_orderid)
        if client_id and order.client_order_id != client_id:
            order = replace(order, client_order_id=client_id)
        if order.status is Status.REJECTED and not order.reason:
            order = replace(order, reason=f"rejected by gateway {order.gateway_name}")
        self.orders[order.vt_orderid] = order
        return order

    def untagged(self, vt_orderid: str) -> OrderData | None:
        """Order ``vt_orderid`` tagged with its client id, if its last event lacked it."""
        order = self.orders.get(vt_orderid)
        client_id = self.client_ids.get(vt_orderid)
        if order is None or not client_id or order.client_order_id == client_id:
            return None
        return self.keep_order(order)

    def gateway_state(self, name: str) -> GatewayState:
        """Connection state of gateway ``name``, as far as its events tell."""
        if name in self.heard:
            return GatewayState.CONNECTED
        if name in self.connecting:
            return GatewayState.CONNECTING
        return GatewayState.DISCONNECTED

    # ---------------------------------------------------------------------- waiters

    def wake(self, order: OrderData) -> None:
        """Resolve the waiters ``order`` (just handed on) satisfies."""
        waiters = self._waiters.get(order.vt_orderid)
        if not waiters:
            return
        for done, future in waiters:
            if done(order) and not future.done():
                future.set_result(None)
        self._forget(order.vt_orderid, lambda f: f.done())

    async def order_when(
        self, vt_orderid: str, done: Callable[[OrderData], bool], patience: float
    ) -> OrderData | None:
        """The order once ``done(order)``, or as it is after ``patience`` s (None if unknown)."""
        order = self.orders.get(vt_orderid)
        if order is not None and done(order):
            return order
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(vt_orderid, []).append((done, future))
        try:
            async with asyncio.timeout(patience):
                await future
        except TimeoutError:
            self._forget(vt_orderid, lambda f: f is future)
        return self.orders.get(vt_orderid)

    def _forget(self, vt_orderid: str, drop: Callable[[asyncio.Future[None]], bool]) -> None:
        waiters = [(d, f) for d, f in self._waiters.get(vt_orderid, []) if not drop(f)]
        if waiters:
            self._waiters[vt_orderid] = waiters
        else:
            self._waiters.pop(vt_orderid, None)
