"""The client's one exception hierarchy: everything it raises derives from ClientError.

An HTTP error answer (or a ``/stream`` ``error`` frame, whose ``code`` is HTTP-style) becomes
an :class:`ApiError` subclass chosen by its status, carrying the server's ErrorBody:
``detail`` (safe to show) and ``field`` (the input to blame, or ``None``).  A request that
got no answer at all is a :class:`ConnectionFailedError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec


class ClientError(Exception):
    """Base of every error the client raises."""


class ConnectionFailedError(ClientError):
    """No answer: the gateway could not be reached, or the connection broke mid-request."""


class ConnectionLostError(ConnectionFailedError):
    """The ``/stream`` socket closed under a request (the stream reconnects by itself)."""


class BadReplyError(ClientError):
    """The gateway answered something the client cannot decode as the documented type."""


class ApiError(ClientError):
    """An error answer; ``status`` is its HTTP status (or the ``code`` of an error frame).

    Attributes:
        status: the HTTP status.
        detail: the server's message (safe to show).
        field: the input to blame (``"price"``, ``"engine_id"``), or ``None``.
        body: the whole decoded body (e.g. ``client_order_id`` of a 504 submit).
    """

    status_code: ClassVar[int] = 0

    def __init__(
        self,
        status: int,
        detail: str,
        field: str | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}" + (f" (field {field})" if field else ""))
        self.status = status
        self.detail = detail
        self.field = field
        self.body: Mapping[str, Any] = body or {}
        self.headers: Mapping[str, str] = headers or {}


class BadRequestError(ApiError):
    """400: malformed input (wrong type, missing field, unknown enum, bad query parameter)."""

    status_code = 400


class UnauthorizedError(ApiError):
    """401: wrong login, or a token that is missing, forged or expired."""

    status_code = 401


class SessionExpiredError(UnauthorizedError):
    """The session is over (no refresh token, or the refresh was refused): log in again."""


class ForbiddenError(ApiError):
    """403: the user may not use that engine, or a viewer tried to trade."""

    status_code = 403


class NotFoundError(ApiError):
    """404: unknown engine, contract or order (or route)."""

    status_code = 404


class ConflictError(ApiError):
    """409: the order is no longer active (cancel), or a known client_order_id lost its order."""

    status_code = 409


class GoneError(ApiError):
    """410 (``/stream``): the resume point is no longer in the engine's events stream."""

    status_code = 410


class PayloadTooLargeError(ApiError):
    """413: the request body is larger than the gateway accepts."""

    status_code = 413


class UnprocessableError(ApiError):
    """422: the contract cannot take the order (price grid, volume, limits); see ``field``."""

    status_code = 422


class TooManyRequestsError(ApiError):
    """429: too many failed logins (or subscriptions); ``retry_after`` seconds to wait."""

    status_code = 429

    @property
    def retry_after(self) -> float | None:
        """The ``Retry-After`` header in seconds, if the server sent one."""
        value = self.headers.get("retry-after") or self.headers.get("Retry-After")
        try:
            return float(value) if value else None
        except ValueError:
            return None


class ServerError(ApiError):
    """5xx the client has no more specific class for (500, 502, ...)."""

    status_code = 500


class NotSupportedError(ServerError):
    """501: the engine has no such capability."""

    status_code = 501


class UnavailableError(ServerError):
    """503: the engine is not running, or the gateway lost NATS; nothing was done."""

    status_code = 503


class GatewayTimeoutError(ServerError):
    """504: the engine did not answer in time: **the outcome is unknown**.

    For a submit, :attr:`client_order_id` is the id to retry with (the same id is the same
    order, so the retry cannot place it twice).
    """

    status_code = 504

    @property
    def client_order_id(self) -> str | None:
        """The ``client_order_id`` the server named, if any."""
        value = self.body.get("client_order_id")
        return value if isinstance(value, str) else None


ERRORS: dict[int, type[ApiError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        GoneError,
        PayloadTooLargeError,
        UnprocessableError,
        TooManyRequestsError,
        ServerError,
        NotSupportedError,
        UnavailableError,
        GatewayTimeoutError,
    )
}
"""The class of each status the gateway documents."""

_SERVER_ERROR_MIN = 500


def error_class(status: int) -> type[ApiError]:
    """The exception class for ``status`` (:class:`ServerError` for other 5xx)."""
    if status in ERRORS:
        return ERRORS[status]
    return ServerError if status >= _SERVER_ERROR_MIN else ApiError


def api_error(
    status: int,
    body: bytes | Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """Build the error for an answer with ``status`` and an ErrorBody (raw or decoded).

    A body that is not a JSON object keeps its first 500 characters as ``detail``.
    """
    data: Any = body
    if isinstance(body, bytes | bytearray):
        try:
            data = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            data = {"detail": bytes(body[:500]).decode("utf-8", "replace")}
    if not isinstance(data, Mapping):
        data = {}
    detail = data.get("detail")
    field = data.get("field")
    return error_class(status)(
        status,
        detail if isinstance(detail, str) and detail else f"HTTP {status}",
        field if isinstance(field, str) else None,
        data,
        headers,
    )


__all__ = [
    "ERRORS",
    "ApiError",
    "BadReplyError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "GoneError",
    "NotFoundError",
    "NotSupportedError",
    "PayloadTooLargeError",
    "ServerError",
    "SessionExpiredError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnavailableError",
    "UnprocessableError",
    "api_error",
    "error_class",
]
