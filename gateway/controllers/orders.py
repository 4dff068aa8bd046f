"""Orders: list, look up, submit, cancel (vnpy_webtrader's ``/order`` routes).

Two controllers share the read and cancel routes and differ only in what ``POST /order``
returns: :class:`VnpyOrderController` (default engine) keeps vnpy_webtrader's answer, the
``vt_orderid`` as a JSON string with status 200; :class:`EngineOrderController` (under
``/engines/{engine_id}``) answers 201 Created with the full ``OrderData`` as accepted —
an order the engine refused still exists (``REJECTED`` with a ``reason``) and can be
fetched, so 201 holds for it too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Response, delete, get, post

from gateway.controllers.common import (
    ActiveFilter,
    CodecDTO,
    Limit,
    VtSymbolFilter,
    passthrough,
    query_payload,
)
from gateway.engine_client import EngineClient
from gateway.errors import ENGINE_ERRORS, BadEngineReplyError, error_responses
from schemas.codec import encode
from schemas.objects import OrderData
from schemas.requests import CancelRequest, OrderLookup, OrderRequest
from schemas.subjects import Op

VT_ORDERID_HEADER = "Vt-Orderid"
SUBMIT_ERRORS = error_responses(*ENGINE_ERRORS, 422)


async def _submit(
    engine: str, engine_client: EngineClient, data: OrderRequest
) -> tuple[bytes, str]:
    reply = await engine_client.request(engine, Op.SUBMIT, encode(data))
    vt_orderid = reply.headers.get(VT_ORDERID_HEADER, "")
    if not vt_orderid:
        raise BadEngineReplyError(
            f"engine {engine!r} accepted an order without a {VT_ORDERID_HEADER}"
        )
    return reply.data, vt_orderid


class OrderController(Controller):
    """Read and cancel orders; subclasses add ``POST`` with their own answer."""

    path = "/order"
    tags = ("orders",)

    @get(responses=error_responses(*ENGINE_ERRORS), summary="List orders")
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
        return passthrough((await engine_client.request(engine, Op.ORDERS, payload)).data)

    @get("/{vt_orderid:str}", responses=error_responses(*ENGINE_ERRORS), summary="Get an order")
    async def get_order(
        self, engine: str, engine_client: EngineClient, vt_orderid: str
    ) -> Response[OrderData]:
        """One order by ``vt_orderid``; 404 if the engine has no such order."""
        payload = encode(OrderLookup(vt_orderid=vt_orderid))
        return passthrough((await engine_client.request(engine, Op.ORDER, payload)).data)

    @delete(
        "/{vt_orderid:str}",
        status_code=200,
        responses=error_responses(*ENGINE_ERRORS, 409),
        summary="Cancel an order",
    )
    async def cancel_order(
        self, engine: str, engine_client: EngineClient, vt_orderid: str
    ) -> Response[OrderData]:
        """Cancel an active order; the reply is the order after the cancel (409 if inactive)."""
        payload = encode(CancelRequest(vt_orderid=vt_orderid))
        return passthrough((await engine_client.request(engine, Op.CANCEL, payload)).data)


class VnpyOrderController(OrderController):
    """vnpy_webtrader's orders on the default engine: ``POST /order`` returns the id."""

    @post(
        dto=CodecDTO[OrderRequest],
        return_dto=None,
        status_code=200,
        responses=SUBMIT_ERRORS,
        summary="Send an order (vnpy_webtrader)",
    )
    async def send_order(
        self, engine: str, engine_client: EngineClient, data: OrderRequest
    ) -> Response[str]:
        """Send an order; returns its ``vt_orderid`` (also when the engine rejected it)."""
        _, vt_orderid = await _submit(engine, engine_client, data)
        return passthrough(encode(vt_orderid))


class EngineOrderController(OrderController):
    """Orders of one engine: ``POST .../order`` returns the order as accepted (201)."""

    @post(
        dto=CodecDTO[OrderRequest],
        return_dto=None,
        status_code=201,
        responses=SUBMIT_ERRORS,
        summary="Submit an order",
    )
    async def submit_order(
        self, engine: str, engine_client: EngineClient, data: OrderRequest
    ) -> Response[OrderData]:
        """Submit an order; returns it as the engine accepted it (or ``REJECTED``)."""
        content, vt_orderid = await _submit(engine, engine_client, data)
        response: Response[Any] = passthrough(content, status_code=201)
        response.headers["Location"] = f"order/{quote(vt_orderid, safe='')}"
        return response
