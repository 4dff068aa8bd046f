"""Market resources: contracts and ticks (vnpy_webtrader's ``/contract`` and ``/tick``)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, post

from gateway.controllers.common import (
    STREAM_SEQ,
    Limit,
    VtSymbolFilter,
    forward,
    passthrough,
    query_payload,
)
from gateway.engine_client import EngineClient
from gateway.errors import ENGINE_ERRORS, error_responses
from schemas.codec import encode
from schemas.errors import NotFoundError
from schemas.objects import ContractData, TickData, split_vt_symbol
from schemas.requests import SubscribeRequest
from schemas.subjects import Op


class Subscribed(msgspec.Struct, frozen=True):
    """The ``subscribe`` reply (documentation type; the bytes pass through)."""

    vt_symbol: str


class ContractController(Controller):
    """Tradable contracts of the engine."""

    path = "/contract"
    tags = ("market",)

    @get(responses=error_responses(*ENGINE_ERRORS), summary="List contracts")
    async def list_contracts(
        self,
        engine: str,
        engine_client: EngineClient,
        vt_symbol: VtSymbolFilter = None,
        limit: Limit = None,
    ) -> Response[list[ContractData]]:
        """Every contract the engine trades, as the engine encoded them."""
        payload = query_payload(vt_symbol=vt_symbol, limit=limit)
        return passthrough((await engine_client.request(engine, Op.CONTRACTS, payload)).data)


class TickController(Controller):
    """Latest ticks of subscribed contracts, and subscribing."""

    path = "/tick"
    tags = ("market",)

    @get(
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="Latest ticks",
    )
    async def list_ticks(
        self,
        engine: str,
        engine_client: EngineClient,
        vt_symbol: VtSymbolFilter = None,
        limit: Limit = None,
    ) -> Response[list[TickData]]:
        """The latest tick of each subscribed contract."""
        payload = query_payload(vt_symbol=vt_symbol, limit=limit)
        return forward(await engine_client.request(engine, Op.TICKS, payload))

    @post(
        "/{vt_symbol:str}",
        status_code=200,
        responses=error_responses(*ENGINE_ERRORS),
        summary="Subscribe to a contract's ticks",
    )
    async def subscribe(
        self, engine: str, engine_client: EngineClient, vt_symbol: str
    ) -> Response[Subscribed]:
        """Subscribe to ``vt_symbol`` (``SYMBOL.EXCHANGE``); 404 if there is no such contract."""
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
        except ValueError:
            raise NotFoundError(f"unknown contract {vt_symbol!r}", "vt_symbol") from None
        payload = encode(SubscribeRequest(symbol=symbol, exchange=exchange))
        return passthrough((await engine_client.request(engine, Op.SUBSCRIBE, payload)).data)
