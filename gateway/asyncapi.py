"""``GET /asyncapi.json``: the AsyncAPI document of the NATS API (:mod:`schemas.asyncapi`).

Like the OpenAPI pages under ``/schema`` it describes the API and holds no data, so it needs
no token.  It is built once, when the routes are made, and left out of the OpenAPI document
(it is not a REST resource).
"""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler

from gateway.auth_middleware import EXCLUDE_OPT_KEY
from schemas.asyncapi import render

ASYNCAPI_PATH = "/asyncapi.json"


def asyncapi_route() -> HTTPRouteHandler:
    """The route serving the document (the same bytes as ``docs/asyncapi.json``)."""
    body = render().encode()

    @get(
        ASYNCAPI_PATH,
        include_in_schema=False,
        media_type=MediaType.JSON,
        opt={EXCLUDE_OPT_KEY: True},
        name="asyncapi",
        sync_to_thread=False,
    )
    def asyncapi() -> Response[bytes]:
        """The AsyncAPI 3.0 document of every NATS subject and message."""
        return Response(body, media_type=MediaType.JSON)

    return asyncapi


__all__ = ["ASYNCAPI_PATH", "asyncapi_route"]
