"""The error vocabulary shared by engine bridges and the gateway.

A bridge answers a failed request as a NATS service error: header ``Nats-Service-Error-Code``
holds one of the HTTP-style codes below and ``Nats-Service-Error`` a message safe to show;
the body is an :class:`ErrorBody`.  The gateway maps the code to the HTTP status as is.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

VT_ORDERID_HEADER = "Vt-Orderid"
"""Header of a successful ``submit`` reply: the order's ``vt_orderid``."""
REPLAYED_HEADER = "Wt-Replayed"
"""Header (``1``) of a ``submit`` reply that returned an existing order for its client_order_id."""


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """JSON body of every error: what went wrong and, for bad input, which field."""

    detail: str
    field: str | None = None


class WebTraderError(Exception):
    """Base of errors that cross a process boundary; ``code`` is an HTTP status."""

    code: ClassVar[int] = 500

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def body(self) -> ErrorBody:
        """The JSON body for this error."""
        return ErrorBody(detail=self.detail, field=self.field)


class BadRequestError(WebTraderError):
    """Malformed input: not JSON, wrong type, unknown enum."""

    code = 400


class NotFoundError(WebTraderError):
    """Unknown contract, order or engine."""

    code = 404


class UnprocessableError(WebTraderError):
    """Well-formed input the contract cannot take (volume, price grid, limits)."""

    code = 422


class ConflictError(WebTraderError):
    """The request clashes with the current state (cancel an order that is no longer active)."""

    code = 409


class NotSupportedError(WebTraderError):
    """The engine does not offer this operation (or not for this contract or gateway)."""

    code = 501


class EngineError(WebTraderError):
    """Unexpected failure inside the engine; the detail never carries a traceback."""

    code = 500


ERRORS_BY_CODE: dict[int, type[WebTraderError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        NotFoundError,
        ConflictError,
        UnprocessableError,
        NotSupportedError,
        EngineError,
    )
}


def error_from_validation(exc: msgspec.ValidationError | msgspec.DecodeError) -> BadRequestError:
    """Turn a msgspec decode error into a :class:`BadRequestError` naming the field.

    msgspec's messages end with ``- at `$.field```; that path becomes ``field``.
    """
    text = str(exc)
    field = None
    marker = " - at `$."
    if marker in text:
        text, _, path = text.partition(marker)
        field = path.rstrip("`")
    elif text.startswith("Object missing required field `"):
        field = text.split("`")[1]
    return BadRequestError(text, field=field)
