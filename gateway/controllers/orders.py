"""Orders: list, look up, submit, cancel one, cancel all (vnpy_webtrader's ``/order`` routes).

Two controllers share the read and cancel routes and differ only in what ``POST /order``
returns: :class:`VnpyOrderController` (default engine) keeps vnpy_webtrader's answer, the
``vt_orderid`` as a JSON string with status 200; :class:`EngineOrderController` (under
``/engines/{engine_id}``) answers 201 Created with the full ``OrderData`` as accepted —
an order the engine refused still exists (``REJECTED`` with a ``reason``) and can be
fetched, so 201 holds for it too.

Idempotency: a ``client_order_id`` in the body, or the ``Idempotency-Key`` header, makes a
submit safe to retry — the engine answers a repeated id with the order it already has
(marked ``Wt-Replayed: 1``: the engine route then answers 200 instead of 201).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter

from gateway.controllers.common import (
    STREAM_SEQ,
    ActiveFilter,
    CodecDTO,
    Limit,
    VtSymbolFilter,
    forward,
    passthrough,
    query_payload,
    trader_guard,
)
from gateway.engine_client import EngineClient, Reply
from gateway.errors import (
    ENGINE_ERRORS,
    BadEngineReplyError,
    EngineTimeoutError,
    SubmitTimeoutError,
    error_responses,
    submit_error_responses,
)
from schemas.codec import encode
from schemas.errors import REPLAYED_HEADER, VT_ORDERID_HEADER, BadRequestError
from schemas.objects import OrderData
from schemas.requests import CancelAllRequest, CancelRequest, OrderLookup, OrderRequest
from schemas.subjects import Op

IDEMPOTENCY_HEADER = "Idempotency-Key"
CLIENT_ORDER_ID = "client_order_id"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,64}$")

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header=IDEMPOTENCY_HEADER,
        required=False,
        # documented only: with_client_order_id() checks it and names the header (400)
        schema_extra={"min_length": 1, "max_length": 64, "pattern": _KEY_RE.pattern},
        description="Alias of the body's `client_order_id` (1-64 printable ASCII, no spaces)",
    ),
]
SUBMIT_HEADERS = [
    ResponseHeader(
        name=REPLAYED_HEADER,
        description="`1` when the `client_order_id` was already known: the answer is the "
        "order placed the first time (nothing new was created)",
        documentation_only=True,
        required=False,
    )
]


def with_client_order_id(data: OrderRequest, key: str | None) -> OrderRequest:
    """``data`` with the ``Idempotency-Key`` as its ``client_order_id``.

    Raises:
        BadRequestError: the key is not 1-64 printable ASCII characters without spaces
            (``field`` ``Idempotency-Key``), or both are given and differ
            (``field`` ``client_order_id``).
    """
    if key is None:
        return data
    if not _KEY_RE.fullmatch(key):
        raise BadRequestError(
            f"{IDEMPOTENCY_HEADER} must be 1-64 printable ASCII characters without spaces",
            IDEMPOTENCY_HEADER,
        )
    if key == data.client_order_id:
        return data
    if data.client_order_id:
        raise BadRequestError(
            f"client_order_id {data.client_order_id!r} and {IDEMPOTENCY_HEADER} {key!r} differ",
            CLIENT_ORDER_ID,
        )
    return msgspec.structs.replace(data, client_order_id=key)


async def _submit(engine: str, engine_client: EngineClient, data: OrderRequest) -> Reply:
    try:
        reply = await engine_client.request(engine, Op.SUBMIT, encode(data))
    except EngineTimeoutError:
        raise SubmitTimeoutError(engine, engine_client.timeout, data.client_order_id) from None
    if not reply.headers.get(VT_ORDERID_HEADER):
        raise BadEngineReplyError(
            f"engine {engine!r} accepted an order without a {VT_ORDERID_HEADER}"
        )
    return reply


def _replayed(reply: Reply, response: Response[Any]) -> bool:
    """Copy ``Wt-Replayed`` to the response; True if the order already existed."""
    replayed = reply.headers.get(REPLAYED_HEADER) == "1"
    if replayed:
        response.headers[REPLAYED_HEADER] = "1"
    return replayed


class OrderController(Controller):
    """Read and cancel orders; subclasses add ``POST`` with their own answer."""

    path = "/order"
    tags = ("orders",)

    @get(
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="List orders",
    )
    async def list_orders(
        self,
        engine: str,
        engine_client: EngineClient,
        vt_symbol: VtSymbolFilter = None,
        active: ActiveFilter = None,
        limit: Limit = None,
    ) -> Response[list[OrderData]]:
        """Every order of the engine, oldest first (``limit`` keeps the newest N)."""
        payload = query_payload(vt_symbol=vt_symbol, active=active, limit=limit)
        return forward(await engine_client.request(engine, Op.ORDERS, payload))

    @get(
        "/{vt_orderid:str}",
        responses=error_responses(*ENGINE_ERRORS),
        response_headers=STREAM_SEQ,
        summary="Get an order",
    )
    async def get_order(
        self, engine: str, engine_client: EngineClient, vt_orderid: str
    ) -> Response[OrderData]:
        """One order by ``vt_orderid``; 404 if the engine has no such order."""
        payload = encode(OrderLookup(vt_orderid=vt_orderid))
        return forward(await engine_client.request(engine, Op.ORDER, payload))

    @delete(
        "/{vt_orderid:str}",
        status_code=200,
        responses=error_responses(*ENGINE_ERRORS, 409),
        guards=[trader_guard],
        summary="Cancel an order",
    )
    async def cancel_order(
        self, engine: str, engine_client: EngineClient, vt_orderid: str
    ) -> Response[OrderData]:
        """Cancel an active order; the reply is the order after the cancel (409 if inactive)."""
        payload = encode(CancelRequest(vt_orderid=vt_orderid))
        return forward(await engine_client.request(engine, Op.CANCEL, payload))

    @delete(
        status_code=200,
        responses=error_responses(*ENGINE_ERRORS),
        guards=[trader_guard],
        summary="Cancel all active orders",
    )
    async def cancel_all(
        self, engine: str, engine_client: EngineClient, vt_symbol: VtSymbolFilter = None
    ) -> Response[list[OrderData]]:
        """Cancel every active order (of one contract with ``vt_symbol``); returns them."""
        payload = b"" if vt_symbol is None else encode(CancelAllRequest(vt_symbol=vt_symbol))
        return forward(await engine_client.request(engine, Op.CANCEL_ALL, payload))


class VnpyOrderController(OrderController):
    """vnpy_webtrader's orders on the default engine: ``POST /order`` returns the id."""

    @post(
        dto=CodecDTO[OrderRequest],
        return_dto=None,
        status_code=200,
        responses=submit_error_responses(),
        response_headers=SUBMIT_HEADERS,
        guards=[trader_guard],
        summary="Send an order (vnpy_webtrader)",
    )
    async def send_order(
        self,
        engine: str,
        engine_client: EngineClient,
        data: OrderRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[str]:
        """Send an order; returns its ``vt_orderid`` (also when the engine rejected it).

        With a ``client_order_id`` (or ``Idempotency-Key``) a retry returns the same id.
        """
        order = with_client_order_id(data, idempotency_key)
        reply = await _submit(engine, engine_client, order)
        response: Response[Any] = passthrough(encode(reply.headers[VT_ORDERID_HEADER]))
        _replayed(reply, response)
        return response


class EngineOrderController(OrderController):
    """Orders of one engine: ``POST .../order`` returns the order as accepted (201)."""

    @post(
        dto=CodecDTO[OrderRequest],
        return_dto=None,
        status_code=201,
        responses=submit_error_responses(),
        response_headers=SUBMIT_HEADERS,
        guards=[trader_guard],
        summary="Submit an order",
    )
    async def submit_order(
        self,
        engine: str,
        engine_client: EngineClient,
        data: OrderRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderData]:
        """Submit an order; returns it as the engine accepted it (or ``REJECTED``).

        With a ``client_order_id`` (or ``Idempotency-Key``) already known to the engine the
        answer is the existing order with status 200 and ``Wt-Replayed: 1``.
        """
        order = with_client_order_id(data, idempotency_key)
        reply = await _submit(engine, engine_client, order)
        response: Response[Any] = passthrough(reply.data, status_code=201)
        if _replayed(reply, response):
            response.status_code = 200
        vt_orderid = reply.headers[VT_ORDERID_HEADER]
        response.headers["Location"] = f"order/{quote(vt_orderid, safe='')}"
        return response
