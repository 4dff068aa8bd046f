"""Market resources: contracts and ticks (vnpy_webtrader's ``/contract`` and ``/tick``), bars.

``GET .../bars`` turns its query into one ``HistoryRequest`` (400 naming the parameter)
and passes the engine's ``[BarData]`` bytes through; the engine caps the reply at
:data:`~schemas.validation.MAX_BARS` (the newest).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import Parameter

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
from schemas.codec import convert, encode
from schemas.errors import BadRequestError, NotFoundError
from schemas.objects import BarData, ContractData, TickData, split_vt_symbol
from schemas.requests import HistoryRequest, SubscribeRequest
from schemas.subjects import Op

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Bars are asked for in ``[EARLIEST, LATEST]``; other instants are 400."""

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
_INSTANT_DOC = (
    "RFC 3339 date-time with an offset, e.g. `2026-01-05T09:00:00+08:00` (send `+` as `%2B`) "
    "or `2026-01-05T01:00:00Z`"
)
Start = Annotated[
    str,
    Parameter(
        description=f"First bar opening at or after this: {_INSTANT_DOC}",
        schema_extra={"format": "date-time"},
    ),
]
End = Annotated[
    str | None,
    Parameter(
        description=f"Bars opening before this (default now): {_INSTANT_DOC}",
        schema_extra={"format": "date-time"},
    ),
]
BARS_ERRORS = error_responses(
    *ENGINE_ERRORS,
    422,
    501,
    described={
        404: "Unknown engine or contract",
        422: "`end` not after `start` (or `start` in the future), or `interval` `TICK`",
        501: "The contract's venue gateway has no history",
    },
)


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


def _instant(value: str | None, name: str) -> str | None:
    """``value`` if it is an RFC 3339 date-time with an offset, else 400 naming ``name``."""
    if value is None or _RFC3339.fullmatch(value):
        return value
    hint = " (a '+' in a query string must be sent as %2B)" if " " in value else ""
    raise BadRequestError(f"{name} must be an RFC 3339 date-time with an offset{hint}", name)


def _contract(
    vt_symbol: str | None, symbol: str | None, exchange: str | None
) -> tuple[str, str, str]:
    """``(symbol, exchange, field naming them)`` from ``vt_symbol`` or ``symbol``+``exchange``."""
    if vt_symbol is not None:
        if symbol is not None or exchange is not None:
            raise BadRequestError("give vt_symbol, or symbol and exchange, not both", "vt_symbol")
        symbol, dot, exchange = vt_symbol.rpartition(".")
        if not dot or not symbol:
            raise BadRequestError(
                "vt_symbol must be SYMBOL.EXCHANGE, e.g. rb2601.SHFE", "vt_symbol"
            )
        return symbol, exchange, "vt_symbol"
    if symbol is None:
        raise BadRequestError("give vt_symbol, or symbol and exchange", "vt_symbol")
    if exchange is None:
        raise BadRequestError("exchange is required with symbol", "exchange")
    return symbol, exchange, "exchange"


def history_request(
    *,
    vt_symbol: str | None,
    symbol: str | None,
    exchange: str | None,
    interval: str | None,
    start: str,
    end: str | None,
) -> HistoryRequest:
    """The ``HistoryRequest`` of a ``GET .../bars`` query.

    Raises:
        BadRequestError: a missing or malformed parameter, an unknown exchange or interval,
            or an instant outside ``[EARLIEST, LATEST]`` (``field`` names the parameter).
    """
    symbol, exchange, exchange_field = _contract(vt_symbol, symbol, exchange)
    fields: dict[str, str | None] = {
        "symbol": symbol,
        "exchange": exchange,
        "start": _instant(start, "start"),
        "end": _instant(end, "end"),
    }
    if interval is not None:
        fields["interval"] = interval
    try:
        req = convert(fields, HistoryRequest)
    except BadRequestError as exc:
        if exc.field == "exchange":
            raise BadRequestError(f"unknown exchange {exchange!r}", exchange_field) from None
        raise
    for name, when in (("start", req.start), ("end", req.end)):
        if when is not None and not EARLIEST <= when <= LATEST:
            raise BadRequestError(f"{name} must be between {EARLIEST.year} and {LATEST.year}", name)
    return req


class BarController(Controller):
    """Historical bars of one contract (VeighNa's ``query_history``)."""

    path = "/bars"
    tags = ("market",)

    @get(responses=BARS_ERRORS, summary="Historical bars")
    async def list_bars(
        self,
        engine: str,
        engine_client: EngineClient,
        *,
        start: Start,
        end: End = None,
        vt_symbol: Annotated[
            str | None, Parameter(description="the contract, e.g. `rb2601.SHFE`")
        ] = None,
        symbol: Annotated[
            str | None, Parameter(description="the contract's symbol (with `exchange`)")
        ] = None,
        exchange: Annotated[
            str | None, Parameter(description="the contract's exchange, e.g. `SHFE`")
        ] = None,
        interval: Annotated[
            str | None,
            Parameter(
                description="`MINUTE` (default), `HOUR`, `DAILY` or `WEEKLY` "
                "(VeighNa's `1m`, `1h`, `d`, `w` too)"
            ),
        ] = None,
    ) -> Response[list[BarData]]:
        """Bars opening in ``[start, end)``, oldest first; the newest 5,000 if there are more.

        The contract is ``vt_symbol`` or ``symbol`` + ``exchange``.  404 for an unknown
        contract, 501 when its venue has no history.
        """
        req = history_request(
            vt_symbol=vt_symbol,
            symbol=symbol,
            exchange=exchange,
            interval=interval,
            start=start,
            end=end,
        )
        return passthrough((await engine_client.request(engine, Op.BARS, encode(req))).data)
