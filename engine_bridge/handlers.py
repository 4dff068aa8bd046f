"""The request-reply operations of ``docs/subjects.md``, generic over :class:`Engine`.

Each handler takes the raw request payload and returns a :class:`Reply` whose body is
encoded once; failures are :class:`~schemas.errors.WebTraderError` exceptions that
:mod:`engine_bridge.service` turns into error replies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from engine_bridge.engine import Engine
from engine_bridge.query import apply_query
from schemas.codec import decode, encode
from schemas.messages import EngineInfo
from schemas.requests import (
    CancelAllRequest,
    CancelRequest,
    OrderLookup,
    OrderRequest,
    Query,
    SubscribeRequest,
)
from schemas.subjects import Op

VERSION = "0.1.0"
"""Version of the bridge: the nats.micro service version and ``EngineInfo.version``."""

VT_ORDERID_HEADER = "Vt-Orderid"
"""Header of the ``submit`` reply carrying the new order's ``vt_orderid``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful reply: encoded body and optional headers."""

    body: bytes
    headers: dict[str, str] | None = None


class SubscribeReply(msgspec.Struct, frozen=True):
    """Reply of ``subscribe``."""

    vt_symbol: str


class InfoRequest(msgspec.Struct, frozen=True):
    """Body of ``info``: empty, or any JSON object (its fields are ignored)."""


Handler = Callable[[bytes], Awaitable[Reply]]


class Operations:
    """Every op of one engine, as ``{Op: handler}`` via :meth:`handlers`."""

    def __init__(self, engine: Engine, engine_id: str, started: datetime) -> None:
        self.engine = engine
        self.engine_id = engine_id
        self.started = started

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
        return Reply(encode(apply_query(await self.engine.ticks(), _query(data))))

    async def accounts(self, data: bytes) -> Reply:
        """``accounts``: empty or ``Query`` -> ``[AccountData]``."""
        return Reply(encode(apply_query(await self.engine.accounts(), _query(data))))

    async def positions(self, data: bytes) -> Reply:
        """``positions``: empty or ``Query`` -> ``[PositionData]``."""
        return Reply(encode(apply_query(await self.engine.positions(), _query(data))))

    async def orders(self, data: bytes) -> Reply:
        """``orders``: empty or ``Query`` -> ``[OrderData]``, oldest first."""
        return Reply(encode(apply_query(await self.engine.orders(), _query(data))))

    async def trades(self, data: bytes) -> Reply:
        """``trades``: empty or ``Query`` -> ``[TradeData]``, oldest first."""
        return Reply(encode(apply_query(await self.engine.trades(), _query(data))))

    async def order(self, data: bytes) -> Reply:
        """``order``: ``{"vt_orderid"}`` -> ``OrderData`` (404 if unknown)."""
        lookup = decode(data, OrderLookup)
        return Reply(encode(await self.engine.get_order(lookup.vt_orderid)))

    async def subscribe(self, data: bytes) -> Reply:
        """``subscribe``: ``SubscribeRequest`` -> ``{"vt_symbol"}`` (404 if unknown)."""
        contract = await self.engine.subscribe(decode(data, SubscribeRequest))
        return Reply(encode(SubscribeReply(contract.vt_symbol)))

    async def submit(self, data: bytes) -> Reply:
        """``submit``: ``OrderRequest`` -> ``OrderData``, header ``Vt-Orderid``."""
        order = await self.engine.send_order(decode(data, OrderRequest))
        return Reply(encode(order), {VT_ORDERID_HEADER: order.vt_orderid})

    async def cancel(self, data: bytes) -> Reply:
        """``cancel``: ``{"vt_orderid"}`` -> ``OrderData`` after the cancel (404/409)."""
        req = decode(data, CancelRequest)
        return Reply(encode(await self.engine.cancel_order(req.vt_orderid)))

    async def cancel_all(self, data: bytes) -> Reply:
        """``cancel_all``: empty or ``{"vt_symbol"}`` -> the ``[OrderData]`` cancelled."""
        req = decode(data, CancelAllRequest) if data.strip() else CancelAllRequest()
        return Reply(encode(await self.engine.cancel_all(req.vt_symbol)))


def _query(data: bytes) -> Query:
    return Query() if not data.strip() else decode(data, Query)
