"""The gateway's one exception hierarchy and the handlers turning every error into JSON.

Route handlers only raise; this module decides the HTTP answer.  Every error response is
an :class:`~schemas.errors.ErrorBody` ``{"detail": ..., "field": ...}`` with the right
status — Litestar's own 404/405/401/400 included — and nothing ever leaks a traceback
(an unexpected exception is logged here and answered with a generic 500).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Reference, Schema
from litestar.types import ExceptionHandlersMap

from schemas.codec import encode
from schemas.errors import ErrorBody, WebTraderError, error_from_validation
from schemas.logs import request_id

log = logging.getLogger("gateway.errors")

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
RETRY_AFTER = "Retry-After"
"""Header of a 429: whole seconds to wait."""


class GatewayError(Exception):
    """Base of errors the gateway itself raises; ``status_code`` is the HTTP status."""

    status_code: ClassVar[int] = 500

    def __init__(
        self, detail: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers = headers

    @property
    def status(self) -> int:
        """The HTTP status of this instance (the class's unless the engine chose one)."""
        return self.status_code

    def content(self) -> bytes:
        """The JSON response body."""
        return encode(ErrorBody(detail=self.detail, field=self.field))


class NotAuthenticatedError(GatewayError):
    """Missing, malformed, forged or expired token; or a wrong login."""

    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers=BEARER_CHALLENGE)


class PermissionDeniedError(GatewayError):
    """Authenticated, but the principal may not do this (role, or an engine outside its list)."""

    status_code = 403


class TooManyRequestsError(GatewayError):
    """Too many attempts (login rate limit); ``Retry-After`` says how many seconds to wait."""

    status_code = 429

    def __init__(self, detail: str, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(detail, headers={RETRY_AFTER: str(self.retry_after)})


class EngineNotFoundError(GatewayError):
    """The engine id is not valid, or no such engine has ever answered."""

    status_code = 404


class EngineUnavailableError(GatewayError):
    """The engine cannot be reached now: no responders, or NATS is not connected."""

    status_code = 503


class EngineTimeoutError(GatewayError):
    """The engine did not answer within ``request_timeout``; the outcome is unknown."""

    status_code = 504


class OutcomeUnknown(msgspec.Struct, frozen=True, kw_only=True):
    """Body of a submit that timed out: the order may or may not exist."""

    detail: str
    client_order_id: str | None
    """The id to retry with (``null``: the request had none — list orders before retrying)."""


class SubmitTimeoutError(EngineTimeoutError):
    """A submit got no reply in time; the body names the ``client_order_id`` to retry with."""

    def __init__(self, engine_id: str, timeout: float, client_order_id: str) -> None:
        advice = (
            "retry with the same client_order_id"
            if client_order_id
            else "list the orders before retrying (send a client_order_id to make retries safe)"
        )
        super().__init__(
            f"engine {engine_id!r} did not answer within {timeout:g} s: the order's outcome is "
            f"unknown; {advice}"
        )
        self.client_order_id = client_order_id or None

    def content(self) -> bytes:
        """``{"detail": ..., "client_order_id": ...}``."""
        return encode(OutcomeUnknown(detail=self.detail, client_order_id=self.client_order_id))


class BadEngineReplyError(GatewayError):
    """The engine answered something the gateway cannot forward (a broken bridge)."""

    status_code = 502


class EngineReplyError(GatewayError):
    """The engine answered with a service error; its status and body pass through as is."""

    def __init__(self, status: int, body: bytes, detail: str) -> None:
        super().__init__(detail)
        self._status = status
        self._body = body

    @property
    def status(self) -> int:
        """The status the engine put in ``Nats-Service-Error-Code``."""
        return self._status

    def content(self) -> bytes:
        """The engine's ErrorBody bytes, unchanged."""
        return self._body


def _json(status: int, content: bytes, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content, status_code=status, media_type=MediaType.JSON, headers=headers)


def _error(status: int, detail: str, field: str | None = None, **kw: Any) -> Response[bytes]:
    return _json(status, encode(ErrorBody(detail=detail, field=field)), **kw)


def handle_gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[bytes]:
    """Any :class:`GatewayError`: its status, body and headers."""
    return _json(exc.status, exc.content(), exc.headers)


def handle_webtrader_error(_: Request[Any, Any, Any], exc: WebTraderError) -> Response[bytes]:
    """A contract error raised in the gateway (e.g. a body that fails the typed decode)."""
    return _error(exc.code, exc.detail, exc.field)


def handle_msgspec_error(_: Request[Any, Any, Any], exc: msgspec.DecodeError) -> Response[bytes]:
    """A msgspec decode/validation error that escaped a typed decode: 400 naming the field."""
    err = error_from_validation(exc)
    return _error(err.code, err.detail, err.field)


_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")
"""Litestar's message for a required query/header/cookie parameter that is absent."""


def handle_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Litestar's parameter validation (query/path/header): 400 naming the parameter."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems and isinstance(problems[0], dict) else {}
    field = first.get("key")
    if first.get("source") == "body":
        return _error(400, "a JSON request body is required")
    message = first.get("message") or exc.detail
    if not field and (missing := _MISSING_PARAMETER.match(str(message))):
        return _error(400, f"{missing[1]}: required", missing[1])
    detail = f"{field}: {message}" if field else str(message)
    return _error(400, detail, str(field) if field else None)


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own HTTP errors (404 route, 405 method, 413, ...) as ErrorBody."""
    return _error(exc.status_code, exc.detail, headers=exc.headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Anything else: logged with its traceback, answered with a generic 500 (and the id)."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    rid = request_id.get()
    return _error(500, "internal server error" + (f" (request id {rid})" if rid else ""))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GatewayError: handle_gateway_error,
    WebTraderError: handle_webtrader_error,
    msgspec.DecodeError: handle_msgspec_error,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
"""The app's one exception-handler map (most specific class wins)."""

MAX_BODY_SIZE = 64 * 1024
"""Largest request body the gateway reads (an order is ~300 bytes); larger ones are 413."""

_DESCRIPTIONS = {
    400: "Malformed input: not JSON, wrong type, missing field, unknown enum; `field` names it",
    401: "Missing, malformed, forged or expired access token (or a wrong login)",
    403: "Authenticated, but the user's role or engine list does not allow this",
    404: "Unknown engine, contract, order or venue gateway",
    409: "The order is no longer active",
    413: f"The request body is larger than the gateway accepts ({MAX_BODY_SIZE // 1024} KiB)",
    422: "An order the contract cannot take (volume, price grid, limits); `field` names it",
    429: "Too many failed logins: wait the `Retry-After` seconds",
    501: "The engine cannot do this (e.g. bars of a contract whose venue has no history)",
    502: "The engine answered something that cannot be forwarded",
    503: "The engine is not answering (no responders) or NATS is disconnected",
    504: "The engine did not answer in time: the outcome is unknown",
}


def error_responses(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the given error statuses, each with the ErrorBody schema.

    ``described`` replaces the generic description of some statuses for one route.
    A ResponseSpec cannot carry headers: a route answering 429 documents ``Retry-After``
    with :func:`document_retry_after` (called from its ``operation_class``).
    """
    return {
        s: ResponseSpec(
            data_container=ErrorBody,
            description=described[s] if described and s in described else _DESCRIPTIONS[s],
            generate_examples=False,
        )
        for s in statuses
    }


def document_retry_after(responses: dict[str, OpenAPIResponse | Reference] | None) -> None:
    """Add the ``Retry-After`` header (integer seconds) to a documented 429 response."""
    response = (responses or {}).get("429")
    if isinstance(response, OpenAPIResponse):
        response.headers = {
            **(response.headers or {}),
            RETRY_AFTER: OpenAPIHeader(
                schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
                description="Seconds to wait before trying again",
                required=True,
            ),
        }


def submit_error_responses() -> dict[int, ResponseSpec]:
    """Error statuses of ``POST .../order``: the engine's, 422, and a 504 naming the retry id."""
    responses = error_responses(400, 401, 403, 404, 413, 422, 503)
    responses[504] = ResponseSpec(
        data_container=OutcomeUnknown,
        description="The engine did not answer in time: the order's outcome is unknown; "
        "retry with the same `client_order_id` (named in the body)",
        generate_examples=False,
    )
    return responses


ENGINE_ERRORS = (400, 401, 403, 404, 503, 504)
"""Statuses any engine-backed route can answer."""
