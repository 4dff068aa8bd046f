"""Portfolio resources: accounts, positions and trades (``/account``, ``/position``, ``/trade``)."""

from __future__ import annotations

from litestar import Controller, Response, get

from gateway.controllers.common import (
    STREAM_SEQ,
    Limit,
    VtSymbolFilter,
    forward,
    query_payload,
)
from gateway.engine_client import EngineClient
from gateway.errors import ENGINE_ERRORS, error_responses
from schemas.objects import AccountData, PositionData, TradeData
from schemas.subjects import Op


class AccountController(Controller):
    """Account balances."""

    path = "/account"
    tags = ("portfolio",)

    @get(
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="List accounts",
    )
    async def list_accounts(
        self, engine: str, engine_client: EngineClient, limit: Limit = None
    ) -> Response[list[AccountData]]:
        """Every account of the engine."""
        payload = query_payload(limit=limit)
        return forward(await engine_client.request(engine, Op.ACCOUNTS, payload))


class PositionController(Controller):
    """Positions per contract and direction."""

    path = "/position"
    tags = ("portfolio",)

    @get(
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="List positions",
    )
    async def list_positions(
        self,
        engine: str,
        engine_client: EngineClient,
        vt_symbol: VtSymbolFilter = None,
        limit: Limit = None,
    ) -> Response[list[PositionData]]:
        """Every position of the engine."""
        payload = query_payload(vt_symbol=vt_symbol, limit=limit)
        return forward(await engine_client.request(engine, Op.POSITIONS, payload))


class TradeController(Controller):
    """Fills, oldest first."""

    path = "/trade"
    tags = ("portfolio",)

    @get(
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="List trades",
    )
    async def list_trades(
        self,
        engine: str,
        engine_client: EngineClient,
        vt_symbol: VtSymbolFilter = None,
        limit: Limit = None,
    ) -> Response[list[TradeData]]:
        """Every trade of the engine, oldest first (``limit`` keeps the newest N)."""
        payload = query_payload(vt_symbol=vt_symbol, limit=limit)
        return forward(await engine_client.request(engine, Op.TRADES, payload))
