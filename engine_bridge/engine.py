"""What a trading engine must provide to sit behind the bridge.

The bridge is generic over :class:`Engine`: the embedded simulated exchange
(:class:`engine_bridge.sim.SimEngine`) implements it today, and an adapter around VeighNa's
``MainEngine`` can implement it later without the bridge changing.

Event contract
--------------
:meth:`Engine.start` receives an :data:`EventListener`, an ``async`` callable
``listener(kind, obj)``.  The engine *awaits* it once for every event, in the order the
events happen, until :meth:`Engine.stop` returns:

* ``CONTRACT`` for every contract as soon as the engine knows it (the simulator: all of
  them during ``start``);
* ``TICK`` for subscribed contracts only;
* ``ORDER`` on every change of an order (including one born ``REJECTED``);
* ``TRADE`` for every fill, followed by ``POSITION`` for the position it moved and
  ``ACCOUNT`` for the account it moved;
* ``ACCOUNT`` when an order freezes or releases funds;
* ``QUOTE`` on every change of a two-sided quote (engines whose venue has them);
* ``LOG`` for engine log lines.

Awaiting is the back-pressure: an engine never drops an event on its own, except ticks —
an engine whose market data arrives faster than the listener returns may conflate ticks
(keep the newest per contract), never orders, trades, positions, accounts or contracts.
An engine whose events come from other threads (VeighNa's ``EventEngine``) hands them to
the loop through a bounded queue and awaits the listener from the loop.  The listener does
not raise; if it does, the engine logs the error and goes on.

An action's own events are emitted before the action returns: when ``send_order``
returns, its ``ORDER`` (and any ``TRADE``/``POSITION``/``ACCOUNT``) events have been
handed to the listener.  An engine in front of a real venue can only promise this for the
events its venue adapter raises while the action runs (VeighNa: the ``SUBMITTING`` order a
gateway emits inside ``send_order``); what the venue answers later (acknowledgement, fills)
follows as events — :class:`engine_bridge.vnpy.engine.VnpyEngine` says exactly what holds.

Restart
-------
Before :meth:`Engine.start`, the bridge reads what the engine's durable events stream holds
(:class:`RestoredState`) and hands it to :meth:`Engine.restore`.  An engine that keeps its
state in a venue ignores it and re-queries the venue on start; the simulator rebuilds itself
from it (event sourcing).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from schemas.enums import Exchange
from schemas.errors import NotFoundError, NotSupportedError, UnprocessableError
from schemas.messages import GatewayInfo, GatewayState
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)
from schemas.requests import ConnectRequest, HistoryRequest, OrderRequest, SubscribeRequest
from schemas.subjects import Event, EventKind
from schemas.validation import validate_order

EngineEvent = Event
"""Anything an engine emits to its listener."""


class EngineStartError(Exception):
    """The engine cannot start (a gateway that cannot be loaded, a missing setting file).

    The message says what to fix; the bridge logs it and exits.
    """


@dataclass(frozen=True, kw_only=True)
class RestoredState:
    """What the engine's events stream says the engine held when its bridge last stopped.

    ``orders``, ``positions`` and ``accounts`` are the last state of each (the last message
    of each subject), in stream order of that last message; ``trades`` every trade still in
    the stream, oldest first; ``ticks`` the last tick of each contract that had ticks (empty
    without tick snapshots); ``last_seq`` the events stream's last sequence when read.
    """

    orders: list[OrderData] = field(default_factory=list)
    trades: list[TradeData] = field(default_factory=list)
    positions: list[PositionData] = field(default_factory=list)
    accounts: list[AccountData] = field(default_factory=list)
    ticks: list[TickData] = field(default_factory=list)
    last_seq: int = 0

    @property
    def empty(self) -> bool:
        """True when there is nothing to restore (a new engine id or an expired stream)."""
        return not (self.orders or self.trades or self.positions or self.accounts or self.ticks)


class EventListener(Protocol):
    """Receives every event of an engine; awaited by the engine (see the module docstring)."""

    async def __call__(self, kind: EventKind, obj: EngineEvent, /) -> None:
        """Take one event; ``kind`` says which of the Structs ``obj`` is."""


class Engine(ABC):
    """A trading engine as the bridge drives it.

    Every method is a coroutine run on the bridge's event loop; none may block it.
    Failures callers can act on are :class:`schemas.errors.WebTraderError` subclasses
    (``NotFoundError``, ``ConflictError``, ``UnprocessableError``); anything else is a bug
    in the engine and is answered as a generic 500.
    """

    kind: ClassVar[str]
    """Kind of engine (``sim``, ``vnpy``): the ``engine`` of ``EngineInfo`` and metadata."""

    @property
    @abstractmethod
    def gateway_name(self) -> str:
        """The gateway name that prefixes this engine's ``vt_orderid``/``vt_tradeid``."""

    @abstractmethod
    async def start(self, listener: EventListener) -> None:
        """Start the engine; from now on every event goes to ``listener``."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop emitting events and release resources; idempotent.

        An action or market step in progress finishes first, with all its events handed to
        the listener: stopping never leaves a state change without its events.
        """

    async def restore(self, state: RestoredState) -> None:  # noqa: B027 - optional hook
        """Take back the state of an earlier run; called once, before :meth:`start`.

        The default does nothing: an engine in front of a real venue re-queries it on start.
        """

    # ---------------------------------------------------------------- contracts and data

    @abstractmethod
    async def contracts(self) -> list[ContractData]:
        """Every contract the engine knows, in a stable order."""

    @abstractmethod
    async def get_contract(self, symbol: str, exchange: Exchange) -> ContractData | None:
        """The contract ``symbol`` on ``exchange``, or None if unknown."""

    @abstractmethod
    async def subscribe(self, req: SubscribeRequest) -> ContractData:
        """Start market data of one contract (idempotent); return the contract.

        Raises:
            NotFoundError: unknown contract.
        """

    @abstractmethod
    async def ticks(self) -> list[TickData]:
        """The latest tick of each subscribed contract."""

    # ------------------------------------------------------------------------- trading

    @abstractmethod
    async def send_order(self, req: OrderRequest) -> OrderData:
        """Send an order; return it as the engine accepted it.

        What only the engine can judge (funds, position to close, order type it does not
        support) comes back as a ``REJECTED`` order with a ``reason``, not an exception.

        Raises:
            UnprocessableError: the contract cannot take the order (see
                :meth:`check_order`); ``field`` names the offending field.
        """

    @abstractmethod
    async def cancel_order(self, vt_orderid: str) -> OrderData:
        """Cancel one active order; return it after the cancel.

        Raises:
            NotFoundError: unknown order.
            ConflictError: the order is no longer active.
        """

    @abstractmethod
    async def cancel_all(self, vt_symbol: str | None = None) -> list[OrderData]:
        """Cancel every active order (of ``vt_symbol`` only, if given); return them."""

    @abstractmethod
    async def get_order(self, vt_orderid: str) -> OrderData:
        """One order by ``vt_orderid``.

        Raises:
            NotFoundError: unknown order.
        """

    async def find_by_client_order_id(self, client_order_id: str) -> OrderData | None:
        """The order sent with ``client_order_id`` (non-empty), or None if there is none.

        The default scans :meth:`orders`; engines with many orders keep an index.
        """
        for order in await self.orders():
            if order.client_order_id == client_order_id:
                return order
        return None

    @abstractmethod
    async def orders(self) -> list[OrderData]:
        """Every order of this session, oldest first."""

    @abstractmethod
    async def trades(self) -> list[TradeData]:
        """Every trade of this session, oldest first."""

    @abstractmethod
    async def positions(self) -> list[PositionData]:
        """Every position (including ones closed back to zero)."""

    @abstractmethod
    async def accounts(self) -> list[AccountData]:
        """Every account."""

    # ------------------------------------------------------------------------ gateways

    async def gateways(self) -> list[GatewayInfo]:
        """The engine's gateways and their connection state.

        The default: one gateway, :attr:`gateway_name`, always connected.
        """
        contracts = await self.contracts()
        return [
            GatewayInfo(
                name=self.gateway_name,
                state=GatewayState.CONNECTED,
                exchanges=sorted({c.exchange.value for c in contracts}),
                contracts=len(contracts),
            )
        ]

    async def connect_gateway(self, req: ConnectRequest) -> GatewayInfo:
        """Connect one gateway with ``req.setting``; return its state afterwards.

        The default knows only its always-connected gateway: connecting it changes nothing.

        Raises:
            NotFoundError: no gateway of that name.
        """
        for gateway in await self.gateways():
            if gateway.name == req.gateway_name:
                return gateway
        raise NotFoundError(f"unknown gateway {req.gateway_name!r}", field="gateway_name")

    async def bars(self, req: HistoryRequest) -> list[BarData]:
        """Bars of one contract, oldest first, at most :data:`~schemas.validation.MAX_BARS`.

        Raises:
            NotFoundError: unknown contract.
            UnprocessableError: a window or interval bars cannot have
                (:func:`schemas.validation.history_window`).
            NotSupportedError: the engine (or the contract's gateway) has no bar history.
        """
        raise NotSupportedError(f"engine kind {self.kind!r} has no bar history")

    # ------------------------------------------------------------------------- helpers

    async def check_order(self, req: OrderRequest) -> ContractData:
        """The contract of ``req``, once ``req`` passes the contract's rules.

        Raises:
            UnprocessableError: unknown symbol on that exchange (``field="symbol"``) or an
                order the contract cannot take (:func:`schemas.validation.validate_order`).
        """
        contract = await self.get_contract(req.symbol, req.exchange)
        if contract is None:
            raise UnprocessableError(
                f"unknown symbol {req.symbol!r} on {req.exchange.value}", field="symbol"
            )
        validate_order(req, contract)
        return contract
