"""Every HTTP request's id, duration and access-log line (one ASGI wrapper, outermost).

For each HTTP request: the id is the client's ``X-Request-Id`` when valid
(:func:`schemas.logs.valid_request_id`), else a new one; it is set in
:data:`schemas.logs.request_id` while the request runs (log lines and the NATS request to
the engine carry it) and returned in the response's ``X-Request-Id`` — errors included,
Litestar's own 404/405 too.  When the request ends its duration is observed per method,
route template and status, and (``access_log``) one ``gateway.access`` line is logged.
A WebSocket handshake gets an id as well, for the session's log lines.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import UNMATCHED, GatewayMetrics
from schemas.logs import HTTP_REQUEST_ID_HEADER, new_request_id, request_id, valid_request_id

access_log = logging.getLogger("gateway.access")

_HEADER = HTTP_REQUEST_ID_HEADER.lower().encode()


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return valid_request_id(value.decode("latin-1"))
    return None


class RequestObserver:
    """ASGI wrapper: request id, latency histogram, access log (see the module docstring)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics, *, log_access: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app for one connection with its request id set."""
        if scope["type"] != ScopeType.HTTP:  # a WebSocket (Litestar handles lifespan itself)
            token = request_id.set(_client_request_id(scope) or new_request_id())
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        rid = _client_request_id(scope) or new_request_id()
        header = (_HEADER, rid.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._done(scope, status, time.perf_counter() - started)
            request_id.reset(token)

    def _done(self, scope: Scope, status: int, seconds: float) -> None:
        route: str = scope.get("path_template") or UNMATCHED
        method: str = scope["method"]  # type: ignore[typeddict-item]
        self.metrics.observe_http(method, route, status, seconds)
        if self.log_access:
            extra: dict[str, Any] = {
                "method": method,
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            }
            user = getattr(scope.get("user"), "username", None)
            if user is not None:
                extra["user"] = user
            access_log.info(
                "%s %s %d %.1f ms", method, scope["path"], status, seconds * 1000, extra=extra
            )
