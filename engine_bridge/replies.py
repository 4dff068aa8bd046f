"""Replies to requests: sending them, their request id, and the line each request logs.

A request may carry the gateway's request id in ``Wt-Request-Id``
(:data:`schemas.logs.REQUEST_ID_HEADER`); the reply echoes it, and the request's log line
(and every line logged while it is served) carries it.
"""

from __future__ import annotations

import logging

from nats.errors import MaxPayloadError
from nats.micro.request import Request

from schemas.codec import encode
from schemas.errors import ERROR_CODE_HEADER, ERROR_HEADER, ErrorBody
from schemas.logs import REQUEST_ID_HEADER, valid_request_id
from schemas.subjects import Op

logger = logging.getLogger("engine_bridge.requests")

_MAX_DESCRIPTION = 200
ACTIONS = frozenset({Op.SUBMIT, Op.CANCEL, Op.CANCEL_ALL, Op.SUBSCRIBE, Op.CONNECT})
"""Ops that change something: each is logged at INFO (queries at DEBUG)."""
TOO_LARGE = "reply too large for NATS max_payload; narrow the query (limit, vt_symbol)"


def header_safe(text: str) -> str:
    """``text`` as one header line: whitespace collapsed, at most 200 characters."""
    return " ".join(text.split())[:_MAX_DESCRIPTION] or "error"


def request_id_of(request: Request) -> str | None:
    """The request's ``Wt-Request-Id`` if it is a valid id."""
    headers = request.headers
    return valid_request_id(headers.get(REQUEST_ID_HEADER)) if headers else None


def with_id(headers: dict[str, str], rid: str | None) -> dict[str, str]:
    """``headers`` plus the request id (echoed in the reply), when there is one."""
    if rid is not None:
        headers[REQUEST_ID_HEADER] = rid
    return headers


def error_headers(code: int, detail: str, rid: str | None) -> dict[str, str]:
    """Headers of an error reply: its code, its message, the request id."""
    return with_id({ERROR_CODE_HEADER: str(code), ERROR_HEADER: header_safe(detail)}, rid)


async def respond(request: Request, body: bytes, headers: dict[str, str] | None) -> int:
    """Send the reply; the status it carries (500 when it could not be sent as made)."""
    status = int((headers or {}).get(ERROR_CODE_HEADER, "200"))
    try:
        await request.respond(body, headers=headers)
    except ValueError:
        logger.debug("request on %s had no reply subject; not answered", request.subject)
    except MaxPayloadError:
        logger.error("reply on %s exceeds max_payload (%d bytes)", request.subject, len(body))
        return await respond(
            request,
            encode(ErrorBody(detail=TOO_LARGE)),
            {ERROR_CODE_HEADER: "500", ERROR_HEADER: TOO_LARGE},
        )
    except Exception:
        logger.exception("replying on %s failed", request.subject)
    return status


def log_request(
    engine_id: str, op: Op, status: int, *, error: str, seconds: float, rid: str | None
) -> None:
    """One line per request: WARNING for 5xx, INFO for actions, DEBUG for queries."""
    if status >= 500:  # noqa: PLR2004
        level = logging.WARNING
    elif op in ACTIONS:
        level = logging.INFO
    else:
        level = logging.DEBUG
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "%s %d %.1f ms%s",
        op.value,
        status,
        seconds * 1000,
        f": {error}" if error else "",
        extra={
            "op": op.value,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "engine_id": engine_id,
            "request_id": rid,
        },
    )
