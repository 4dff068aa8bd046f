"""One request to one engine over NATS, with every failure mapped to a gateway error.

The reply bytes are returned untouched so handlers can forward them as the HTTP body.
Failure mapping:

* reply carrying ``Nats-Service-Error-Code`` -> :class:`EngineReplyError` with that status
  and the engine's ErrorBody bytes;
* no responders (nats-server answers at once, the client never waits) -> 503;
* no reply within ``request_timeout`` -> 504 (the outcome is unknown);
* NATS not connected (reconnecting, draining, closed) -> 503 at once, nothing is queued.

The request id of the HTTP request being served (:data:`schemas.logs.request_id`) goes to
the engine in the ``Wt-Request-Id`` header; each request's duration and outcome go to
``observe(engine, op, status, seconds)`` when given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import nats.errors
from nats.aio.client import Client

from gateway.engines import EngineDirectory
from gateway.errors import (
    BadEngineReplyError,
    EngineReplyError,
    EngineTimeoutError,
    EngineUnavailableError,
)
from schemas.codec import encode
from schemas.errors import ERROR_CODE_HEADER, ERROR_HEADER, ErrorBody
from schemas.logs import REQUEST_ID_HEADER, request_id
from schemas.subjects import Op, request_subject

log = logging.getLogger("gateway.engine_client")

_MIN_ERROR, _MAX_ERROR = 400, 599

Observer = Callable[[str, str, str, float], None]
"""``(engine, op, status, seconds)`` of one request; must not block or raise."""


class Reply(NamedTuple):
    """A successful engine reply: the body bytes as sent and the NATS headers."""

    data: bytes
    headers: dict[str, str]


class EngineClient:
    """Sends request-reply operations to engines (``wt.{engine}.req.{op}``)."""

    def __init__(
        self,
        nc: Client,
        engines: EngineDirectory,
        timeout: float,
        observe: Observer | None = None,
    ) -> None:
        self._nc = nc
        self._engines = engines
        self._timeout = timeout
        self._observe = observe

    @property
    def timeout(self) -> float:
        """Seconds a request waits for the engine's reply."""
        return self._timeout

    async def request(self, engine_id: str, op: Op, payload: bytes = b"") -> Reply:
        """Send ``payload`` to ``engine_id``'s ``op`` endpoint and return its reply.

        Raises:
            EngineReplyError: the engine answered with an error (status and body pass through).
            EngineUnavailableError: no responders, or NATS is not connected (503).
            EngineTimeoutError: no reply within the timeout (504).
        """
        started = time.perf_counter()
        status = "503"
        try:
            reply = await self._request(engine_id, op, payload)
            status = "200"
            return reply
        except EngineReplyError as exc:
            status = str(exc.status)
            raise
        except EngineTimeoutError:
            status = "504"
            raise
        except BadEngineReplyError:
            status = "502"
            raise
        finally:
            if self._observe is not None:
                self._observe(engine_id, op.value, status, time.perf_counter() - started)

    async def _request(self, engine_id: str, op: Op, payload: bytes) -> Reply:
        if not self._nc.is_connected:
            raise EngineUnavailableError("not connected to NATS; retry shortly")
        rid = request_id.get()
        try:
            msg = await self._nc.request(
                request_subject(engine_id, op),
                payload,
                timeout=self._timeout,
                headers={REQUEST_ID_HEADER: rid} if rid else None,
            )
        except nats.errors.NoRespondersError:
            self._engines.mark_unreachable(engine_id)
            raise EngineUnavailableError(
                f"engine {engine_id!r} is not running (no responders)"
            ) from None
        except nats.errors.TimeoutError:
            raise EngineTimeoutError(
                f"engine {engine_id!r} did not answer {op.value!r} within {self._timeout:g} s; "
                "the outcome is unknown (check the order list before retrying)"
            ) from None
        except nats.errors.Error as exc:
            raise EngineUnavailableError(f"NATS unavailable: {type(exc).__name__}") from None
        headers: dict[str, str] = msg.headers or {}
        code = headers.get(ERROR_CODE_HEADER)
        if code is not None:
            raise _reply_error(engine_id, code, headers.get(ERROR_HEADER, ""), msg.data)
        self._engines.mark_up(engine_id)
        return Reply(msg.data, headers)


def _reply_error(engine_id: str, code: str, message: str, body: bytes) -> Exception:
    try:
        status = int(code)
    except ValueError:
        status = 0
    if not _MIN_ERROR <= status <= _MAX_ERROR:
        log.warning("engine %s sent error code %r", engine_id, code)
        return BadEngineReplyError(f"engine {engine_id!r} sent an invalid error code")
    detail = message or f"engine {engine_id!r} answered {status}"
    return EngineReplyError(status, body or encode(ErrorBody(detail=detail)), detail)
