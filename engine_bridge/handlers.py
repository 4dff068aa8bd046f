"""The request-reply operations of ``docs/subjects.md``, generic over :class:`Engine`.

Each handler takes the raw request payload and returns a :class:`Reply` whose body is
encoded once; failures are :class:`~schemas.errors.WebTraderError` exceptions that
:mod:`engine_bridge.service` turns into error replies.

With an event log, state queries carry ``Wt-Stream-Seq`` (the events stream's last
acknowledged sequence, read *before* the state: the reply reflects at least every event up
to it) and actions reply only once their events are acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from engine_bridge.engine import Engine
from engine_bridge.eventlog import DurableLog
from engine_bridge.idempotency import ClientOrders
from engine_bridge.query import apply_query
from schemas.codec import decode, encode
from schemas.errors import REPLAYED_HEADER, VT_ORDERID_HEADER
from schemas.messages import EngineInfo
from schemas.requests import (
    CancelAllRequest,
    CancelRequest,
    ConnectRequest,
    HistoryRequest,
    OrderLookup,
    OrderRequest,
    Query,
    SubscribeReply,
    SubscribeRequest,
)
from schemas.streams import STREAM_SEQ_HEADER
from schemas.subjects import Op

VERSION = "0.1.0"
"""Version of the bridge: the nats.micro service version and ``EngineInfo.version``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful reply: encoded body and optional headers."""

    body: bytes
    headers: dict[str, str] | None = None


class InfoRequest(msgspec.Struct, frozen=True):
    """Body of ``info``: empty, or any JSON object (its fields are ignored)."""


Handler = Callable[[bytes], Awaitable[Reply]]


class Operations:
    """Every op of one engine, as ``{Op: handler}`` via :meth:`handlers`."""

    def __init__(
        self,
        engine: Engine,
        engine_id: str,
        started: datetime,
        *,
        log: DurableLog | None = None,
        client_orders: ClientOrders | None = None,
    ) -> None:
        self.engine = engine
        self.engine_id = engine_id
        self.started = started
        self.log = log
        self.client_orders = client_orders

    def _seq(self) -> dict[str, str] | None:
        """``Wt-Stream-Seq`` headers of a state query (read before the state is)."""
        return None if self.log is None else {STREAM_SEQ_HEADER: str(self.log.last_seq)}

    async def _settle(self) -> None:
        """Wait until the events of what was just done are acknowledged."""
        if self.log is not None:
            await self.log.settle()

    def handlers(self) -> dict[Op, Handler]:
        """The handler of each op."""
        return {
            Op.INFO: self.info,
            Op.CONTRACTS: self.contracts,
            Op.TICKS: self.ticks,
            Op.ACCOUNTS: self.accounts,
            Op.POSITIONS: self.positions,
            Op.ORDERS: self.orders,
            Op.TRADES: self.trades,
            Op.ORDER: self.order,
            Op.SUBSCRIBE: self.subscribe,
            Op.SUBMIT: self.submit,
            Op.CANCEL: self.cancel,
            Op.CANCEL_ALL: self.cancel_all,
            Op.GATEWAYS: self.gateways,
            Op.CONNECT: self.connect,
            Op.BARS: self.bars,
        }

    async def engine_info(self) -> EngineInfo:
        """Who this engine is (also the heartbeat's body)."""
        contracts = await self.engine.contracts()
        return EngineInfo(
            engine_id=self.engine_id,
            engine=self.engine.kind,
            version=VERSION,
            gateway_name=self.engine.gateway_name,
            exchanges=sorted({c.exchange.value for c in contracts}),
            contracts=len(contracts),
            started=self.started,
        )

    async def info(self, data: bytes) -> Reply:
        """``info``: empty (or a JSON object) -> :class:`EngineInfo`."""
        if data.strip():
            decode(data, InfoRequest)
        return Reply(encode(await self.engine_info()))

    async def contracts(self, data: bytes) -> Reply:
        """``contracts``: empty or ``Query`` -> ``[ContractData]``."""
        return Reply(encode(apply_query(await self.engine.contracts(), _query(data))))

    async def ticks(self, data: bytes) -> Reply:
        """``ticks``: empty or ``Query`` -> latest ``[TickData]``."""
        query, headers = _query(data), self._seq()
        return Reply(encode(apply_query(await self.engine.ticks(), query)), headers)

    async def accounts(self, data: bytes) -> Reply:
        """``accounts``: empty or ``Query`` -> ``[AccountData]``."""
        query, headers = _query(data), self._seq()
        return Reply(encode(apply_query(await self.engine.accounts(), query)), headers)

    async def positions(self, data: bytes) -> Reply:
        """``positions``: empty or ``Query`` -> ``[PositionData]``."""
        query, headers = _query(data), self._seq()
        return Reply(encode(apply_query(await self.engine.positions(), query)), headers)

    async def orders(self, data: bytes) -> Reply:
        """``orders``: empty or ``Query`` -> ``[OrderData]``, oldest first."""
        query, headers = _query(data), self._seq()
        return Reply(encode(apply_query(await self.engine.orders(), query)), headers)

    async def trades(self, data: bytes) -> Reply:
        """``trades``: empty or ``Query`` -> ``[TradeData]``, oldest first."""
        query, headers = _query(data), self._seq()
        return Reply(encode(apply_query(await self.engine.trades(), query)), headers)

    async def order(self, data: bytes) -> Reply:
        """``order``: ``{"vt_orderid"}`` -> ``OrderData`` (404 if unknown)."""
        lookup, headers = decode(data, OrderLookup), self._seq()
        return Reply(encode(await self.engine.get_order(lookup.vt_orderid)), headers)

    async def subscribe(self, data: bytes) -> Reply:
        """``subscribe``: ``SubscribeRequest`` -> ``{"vt_symbol"}`` (404 if unknown)."""
        contract = await self.engine.subscribe(decode(data, SubscribeRequest))
        return Reply(encode(SubscribeReply(contract.vt_symbol)))

    async def submit(self, data: bytes) -> Reply:
        """``submit``: ``OrderRequest`` -> ``OrderData``, header ``Vt-Orderid``.

        A known ``client_order_id`` returns its order as it is now, creates nothing and adds
        ``Wt-Replayed: 1`` (see :mod:`engine_bridge.idempotency`).
        """
        req = decode(data, OrderRequest)
        if req.client_order_id and self.client_orders is not None:
            order, replayed = await self.client_orders.submit(req, self.engine.send_order)
        else:
            order, replayed = await self.engine.send_order(req), False
        headers = {VT_ORDERID_HEADER: order.vt_orderid}
        if replayed:
            headers[REPLAYED_HEADER] = "1"
        else:
            await self._settle()
        return Reply(encode(order), headers)

    async def cancel(self, data: bytes) -> Reply:
        """``cancel``: ``{"vt_orderid"}`` -> ``OrderData`` after the cancel (404/409)."""
        req = decode(data, CancelRequest)
        order = await self.engine.cancel_order(req.vt_orderid)
        await self._settle()
        return Reply(encode(order))

    async def cancel_all(self, data: bytes) -> Reply:
        """``cancel_all``: empty or ``{"vt_symbol"}`` -> the ``[OrderData]`` cancelled."""
        req = decode(data, CancelAllRequest) if data.strip() else CancelAllRequest()
        orders = await self.engine.cancel_all(req.vt_symbol)
        await self._settle()
        return Reply(encode(orders))

    async def gateways(self, data: bytes) -> Reply:
        """``gateways``: empty -> ``[GatewayInfo]``."""
        if data.strip():
            decode(data, InfoRequest)
        return Reply(encode(await self.engine.gateways()))

    async def connect(self, data: bytes) -> Reply:
        """``connect``: ``ConnectRequest`` -> ``GatewayInfo`` (404 unknown gateway).

        The setting may hold credentials: it is never logged or echoed.
        """
        return Reply(encode(await self.engine.connect_gateway(decode(data, ConnectRequest))))

    async def bars(self, data: bytes) -> Reply:
        """``bars``: ``HistoryRequest`` -> ``[BarData]`` oldest first (404/422/501)."""
        return Reply(encode(await self.engine.bars(decode(data, HistoryRequest))))


def _query(data: bytes) -> Query:
    return Query() if not data.strip() else decode(data, Query)
