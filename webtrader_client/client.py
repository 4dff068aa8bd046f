"""``WebTrader``: the async REST client of the gateway, typed with the project's schemas.

Contract (mirrors the JavaScript client, docs/javascript-client.md):

* Every call carries ``Authorization: Bearer``; a **401** makes the client refresh the token
  once (``POST /token/refresh``) and retry; a refused refresh raises
  :class:`~webtrader_client.errors.SessionExpiredError`.
* ``engine=None`` addresses the client's default engine: the one given to the constructor,
  else the gateway's default engine (vnpy_webtrader's routes ``/order``, ``/contract``...).
  An engine id addresses ``/engines/{engine}/...``.
* Answers are decoded into :mod:`schemas.objects` Structs; error answers raise the
  :class:`~webtrader_client.errors.ApiError` subclass of their status.
* :meth:`WebTrader.submit_order` gives every order a ``client_order_id`` (when it has none)
  and retries a submit whose outcome is unknown (504, 503, no answer) with the same id: the
  same id is the same order, so a retry never places it twice.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
import msgspec

from schemas.codec import decoder, encode
from schemas.objects import AccountData, ContractData, OrderData, PositionData, TickData, TradeData
from schemas.requests import OrderRequest
from webtrader_client.backoff import Backoff
from webtrader_client.errors import (
    BadReplyError,
    ConnectionFailedError,
    GatewayTimeoutError,
    UnauthorizedError,
    UnavailableError,
    api_error,
)
from webtrader_client.models import (
    ACCOUNTS,
    CONTRACTS,
    ORDERS,
    POSITIONS,
    TICKS,
    TRADES,
    EngineStatus,
    Resource,
    Snapshot,
    Subscribed,
    TokenReply,
)
from webtrader_client.session import Session
from webtrader_client.stream import Stream

T = TypeVar("T")

STREAM_SEQ_HEADER = "Wt-Stream-Seq"
UNAUTHORIZED = 401
DEFAULT_TIMEOUT = 10.0
"""Seconds per HTTP request (the gateway itself answers 504 after ``--request-timeout``)."""


def new_client_order_id(prefix: str = "py") -> str:
    """A random ``client_order_id`` (``py-`` and 24 hex digits)."""
    return f"{prefix}-{secrets.token_hex(12)}"


def _quote(segment: str) -> str:
    return quote(segment, safe="")


class WebTrader:
    """The REST client; use as ``async with WebTrader(url) as wt: ...``.

    Args:
        base_url: the gateway's root, e.g. ``http://127.0.0.1:8000``.
        engine: the engine used when a call names none (default: the gateway's default).
        timeout: seconds per HTTP request.
        backoff: reconnect delays of the streams made by :meth:`stream`, and of submit
            retries.
        http: an ``httpx.AsyncClient`` to use (its ``base_url`` is replaced); closed by
            :meth:`aclose` only if the client made it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        engine: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        backoff: Backoff | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.engine = engine
        self.backoff = backoff or Backoff()
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.http.base_url = httpx.URL(self.base_url)
        self.session = Session(self._post_token)
        self._streams: list[Stream] = []

    async def __aenter__(self) -> WebTrader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the streams made by :meth:`stream`, the token refresh, the HTTP connections."""
        for stream in self._streams:
            await stream.stop()
        await self.session.aclose()
        if self._owns_http:
            await self.http.aclose()

    # --- session -------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True while an access token is held."""
        return self.session.tokens is not None

    async def login(self, username: str, password: str, *, as_json: bool = False) -> None:
        """Log in (``POST /token``, the OAuth2 form, or JSON with ``as_json``).

        Raises:
            UnauthorizedError: wrong login.
            TooManyRequestsError: too many failed logins.
        """
        await self.session.login(username, password, as_json=as_json)

    async def refresh(self) -> str:
        """Refresh the access token now (it is also refreshed before expiry on its own)."""
        return await self.session.refresh()

    def logout(self) -> None:
        """Forget the tokens."""
        self.session.logout()

    async def _post_token(self, path: str, fields: dict[str, str], as_json: bool) -> TokenReply:
        kwargs: dict[str, Any] = {"json": fields} if as_json else {"data": fields}
        response = await self._send("POST", path, **kwargs)
        return _decode(response.content, TokenReply)

    # --- requests ------------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnectionFailedError(f"{method} {path}: {exc!r}") from exc
        if response.is_error:
            raise api_error(response.status_code, response.content, response.headers)
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One authenticated request to ``path`` (relative to the gateway's root).

        A 401 refreshes the token once and retries.

        Raises:
            ApiError: the error answer (its subclass by status).
            SessionExpiredError: the 401 persisted and the refresh was refused.
            ConnectionFailedError: no answer.
        """
        extra = dict(headers or {})
        if content is not None:
            extra.setdefault("Content-Type", "application/json")

        async def call() -> httpx.Response:
            auth = {"Authorization": f"Bearer {self.session.require()}"}
            return await self._send(
                method, path, params=params, content=content, headers={**extra, **auth}
            )

        try:
            return await call()
        except UnauthorizedError:
            await self.session.refresh()  # raises SessionExpiredError when refused
            return await call()

    def path(self, resource: str, engine: str | None = None) -> str:
        """The route of ``resource`` on ``engine`` (or the default engine)."""
        engine = engine or self.engine
        return resource if engine is None else f"engines/{_quote(engine)}/{resource}"

    # --- engines and state ---------------------------------------------------------------

    async def engines(self) -> list[EngineStatus]:
        """Every engine the gateway knows and the user may use, ``up`` or ``down``."""
        return _decode((await self.request("GET", "engines")).content, list[EngineStatus])

    async def engine_status(self, engine: str) -> EngineStatus:
        """One engine (404 unknown, 403 not the user's)."""
        response = await self.request("GET", f"engines/{_quote(engine)}")
        return _decode(response.content, EngineStatus)

    async def query(
        self,
        resource: Resource[T],
        engine: str | None = None,
        *,
        vt_symbol: str | None = None,
        active: bool = False,
        limit: int | None = None,
    ) -> Snapshot[T]:
        """A state query with its stream sequence (``Wt-Stream-Seq``).

        ``resource`` is one of :data:`~webtrader_client.models.ORDERS`, ``TRADES``,
        ``POSITIONS``, ``ACCOUNTS``, ``TICKS``, ``CONTRACTS``.
        """
        params: dict[str, Any] = {}
        if vt_symbol is not None:
            params["vt_symbol"] = vt_symbol
        if active:
            params["active"] = "true"
        if limit is not None:
            params["limit"] = limit
        response = await self.request("GET", self.path(resource.path, engine), params=params)
        seq = response.headers.get(STREAM_SEQ_HEADER)
        items = cast("type[list[T]]", list[resource.type])  # type: ignore[name-defined]
        return Snapshot(
            _decode(response.content, items), int(seq) if seq and seq.isdigit() else None
        )

    async def contracts(
        self, engine: str | None = None, *, vt_symbol: str | None = None
    ) -> list[ContractData]:
        """The contracts the engine trades."""
        return (await self.query(CONTRACTS, engine, vt_symbol=vt_symbol)).data

    async def ticks(
        self, engine: str | None = None, *, vt_symbol: str | None = None
    ) -> list[TickData]:
        """The latest tick of each subscribed contract."""
        return (await self.query(TICKS, engine, vt_symbol=vt_symbol)).data

    async def orders(
        self,
        engine: str | None = None,
        *,
        vt_symbol: str | None = None,
        active: bool = False,
        limit: int | None = None,
    ) -> list[OrderData]:
        """Orders, oldest first (``active``: active only; ``limit``: the newest N)."""
        snapshot = await self.query(ORDERS, engine, vt_symbol=vt_symbol, active=active, limit=limit)
        return snapshot.data

    async def order(self, vt_orderid: str, engine: str | None = None) -> OrderData:
        """One order (404 if the engine has no such order)."""
        response = await self.request("GET", self.path(f"order/{_quote(vt_orderid)}", engine))
        return _decode(response.content, OrderData)

    async def trades(
        self, engine: str | None = None, *, vt_symbol: str | None = None, limit: int | None = None
    ) -> list[TradeData]:
        """Fills, oldest first."""
        return (await self.query(TRADES, engine, vt_symbol=vt_symbol, limit=limit)).data

    async def positions(
        self, engine: str | None = None, *, vt_symbol: str | None = None
    ) -> list[PositionData]:
        """Positions."""
        return (await self.query(POSITIONS, engine, vt_symbol=vt_symbol)).data

    async def accounts(self, engine: str | None = None) -> list[AccountData]:
        """Accounts."""
        return (await self.query(ACCOUNTS, engine)).data

    async def subscribe(self, vt_symbol: str, engine: str | None = None) -> str:
        """Ask the engine for a contract's market data (404 unknown contract)."""
        response = await self.request("POST", self.path(f"tick/{_quote(vt_symbol)}", engine))
        return _decode(response.content, Subscribed).vt_symbol

    # --- orders --------------------------------------------------------------------------

    async def submit_order(
        self, order: OrderRequest, engine: str | None = None, *, retries: int = 2
    ) -> OrderData:
        """Submit an order; returns it as the engine accepted it (maybe ``REJECTED``).

        The order gets a random ``client_order_id`` when it has none. A submit whose outcome
        is unknown (504, 503, no answer) is retried ``retries`` times with the same id,
        after the backoff's delays; the last failure is raised.

        Raises:
            UnprocessableError: the contract cannot take it (``field`` names the input).
            ForbiddenError: not a trader, or not the user's engine.
            GatewayTimeoutError: still unknown after the retries (``client_order_id`` to retry).
        """
        if not order.client_order_id:
            order = msgspec.structs.replace(order, client_order_id=new_client_order_id())
        body = encode(order)
        for attempt in range(retries + 1):
            try:
                return await self._submit_once(body, order.client_order_id, engine)
            except (GatewayTimeoutError, UnavailableError, ConnectionFailedError):
                if attempt == retries:
                    raise
                await asyncio.sleep(self.backoff.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _submit_once(
        self, body: bytes, client_order_id: str, engine: str | None
    ) -> OrderData:
        engine = engine or self.engine
        if engine is not None:
            response = await self.request("POST", self.path("order", engine), content=body)
            return _decode(response.content, OrderData)
        # vnpy_webtrader's route answers the vt_orderid only: read the order it names
        response = await self.request("POST", "order", content=body)
        return await self.order(_decode(response.content, str))

    async def cancel_order(self, vt_orderid: str, engine: str | None = None) -> OrderData:
        """Cancel an active order; returns it after the cancel (409 if no longer active)."""
        response = await self.request("DELETE", self.path(f"order/{_quote(vt_orderid)}", engine))
        return _decode(response.content, OrderData)

    async def cancel_all(
        self, engine: str | None = None, *, vt_symbol: str | None = None
    ) -> list[OrderData]:
        """Cancel every active order (of one contract with ``vt_symbol``); returns them."""
        params = {"vt_symbol": vt_symbol} if vt_symbol else None
        response = await self.request("DELETE", self.path("order", engine), params=params)
        return _decode(response.content, list[OrderData])

    # --- streaming -----------------------------------------------------------------------

    def stream_url(self) -> str:
        """The ``ws(s)://`` URL of ``/stream``."""
        url = httpx.URL(self.base_url).join("stream")
        return str(url.copy_with(scheme="wss" if url.scheme == "https" else "ws"))

    def stream(self, *, queue_size: int = 10_000) -> Stream:
        """A ``/stream`` connection on this session (see :class:`~webtrader_client.Stream`)."""
        stream = Stream(self, queue_size=queue_size)
        self._streams.append(stream)
        return stream


def _decode(data: bytes, type_: type[T]) -> T:
    try:
        return decoder(type_).decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadReplyError(f"cannot decode the answer as {type_}: {exc}") from exc


__all__ = ["WebTrader", "new_client_order_id"]
