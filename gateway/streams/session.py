"""What every WebSocket session shares: the handshake check, the task layout, the close.

A session is three kinds of task around one :class:`~gateway.streams.client_queue.Outbox`:
the *reader* (client frames), the *writer* (the only one that sends) and optional timers.
Whichever ends first ends the session; then every hub subscription is released, whatever
the cause (client gone, overflow, idle, token expiry, server shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import (
    WebSocketResponseBodyEvent,
    WebSocketResponseStartEvent,
    WebSocketSendEvent,
)

from gateway.access import Principal
from gateway.auth import AuthError, bearer_token, verify_token
from gateway.query_token import take_query_token
from gateway.settings import GatewaySettings
from gateway.streams.client_queue import Outbox, OutboxOverflowError
from gateway.streams.hub import Hub, Sink
from schemas.codec import encode
from schemas.errors import ErrorBody

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSE_POLICY = 1008
"""Refused or expired credentials."""
CLOSE_TRY_AGAIN = 1013
"""The client fell behind past its outbox bound."""
CLOSE_INTERNAL = 1011
"""The gateway failed (NATS unavailable...)."""
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
CLOSE_TIMEOUT = 15.0
"""Seconds a close frame may wait behind unread data before the session gives up."""
HTTP_EXTENSION = "websocket.http.response"


class CloseSessionError(Exception):
    """End the session with this close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def handshake_token(socket: WebSocket[Any, Any, Any]) -> str:
    """The access token of a handshake: ``?token=`` or ``Authorization: Bearer``.

    A query token is redacted from the scope (see :mod:`gateway.query_token`; the app is
    normally wrapped so that this happened before routing), so the server's connection log
    lines, which print the path with its query string, never show it.
    """
    token = take_query_token(socket.scope)  # type: ignore[arg-type]
    if token is None:
        return bearer_token(socket.headers.get("authorization"))
    return token


async def authenticate(
    socket: WebSocket[Any, Any, Any], settings: GatewaySettings
) -> Principal | None:
    """Verify the handshake's token; refuse the handshake and return None if it is bad.

    Refusal is an HTTP 401 with an ``ErrorBody`` where the server supports the ASGI
    WebSocket denial response extension (uvicorn does), else a close 1008 before accept
    (which servers answer with HTTP 403).
    """
    try:
        return verify_token(settings, handshake_token(socket))
    except AuthError as exc:
        await refuse(socket, 401, str(exc))
        return None


async def refuse(socket: WebSocket[Any, Any, Any], status: int, detail: str) -> None:
    """Refuse a handshake that was not accepted yet: HTTP ``status`` with an ``ErrorBody``.

    401 carries a ``WWW-Authenticate: Bearer`` challenge.  Without the ASGI denial response
    extension the refusal is a close 1008 before accept (the server answers HTTP 403).
    """
    if HTTP_EXTENSION not in (socket.scope.get("extensions") or {}):
        await socket.close(CLOSE_POLICY, detail)
        return
    headers = [(b"content-type", b"application/json")]
    if status == HTTP_UNAUTHORIZED:
        headers.append((b"www-authenticate", b"Bearer"))
    start: WebSocketResponseStartEvent = {
        "type": "websocket.http.response.start",
        "status": status,
        "headers": headers,
    }
    body: WebSocketResponseBodyEvent = {
        "type": "websocket.http.response.body",
        "body": encode(ErrorBody(detail=detail)),
        "more_body": False,
    }
    await socket.send(start)
    await socket.send(body)


class Session(ABC, Generic[T]):
    """One accepted WebSocket client.

    Subclasses implement :meth:`start` (initial subscriptions and frames), :meth:`read`
    and :meth:`write`; :meth:`subscribe` attaches a sink to the hub so that it is released
    when the session ends.
    """

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        hub: Hub,
        settings: GatewaySettings,
        principal: Principal,
    ) -> None:
        self.socket = socket
        self.hub = hub
        self.settings = settings
        self.principal = principal
        self.outbox: Outbox[T] = Outbox(settings.ws_queue_limit)
        self._attached: list[tuple[str, Sink]] = []
        self._renewed = asyncio.Event()

    def renew(self, principal: Principal) -> None:
        """Speak for ``principal`` from now on; the session now ends at its expiry."""
        self.principal = principal
        self._renewed.set()

    async def subscribe(self, pattern: str, sink: Sink) -> None:
        """Attach ``sink`` to ``pattern`` for the rest of the session."""
        await self.hub.add(pattern, sink)
        self._attached.append((pattern, sink))

    async def unsubscribe(self, pattern: str, sink: Sink) -> None:
        """Detach a sink attached with :meth:`subscribe`."""
        with contextlib.suppress(ValueError):
            self._attached.remove((pattern, sink))
        await self.hub.remove(pattern, sink)

    @abstractmethod
    async def start(self) -> None:
        """Set the session up before the handshake is accepted (subscriptions, welcome)."""

    @abstractmethod
    async def read(self) -> None:
        """Consume client frames until the client leaves (or raise CloseSessionError)."""

    @abstractmethod
    async def write(self) -> None:
        """Send what the outbox holds, forever (raises OutboxOverflowError when overrun)."""

    def timers(self) -> list[Coroutine[Any, Any, None]]:
        """Extra coroutines run beside reader and writer (heartbeats...)."""
        return []

    async def cleanup(self) -> None:
        """Release what a subclass holds beside hub subscriptions (runs once, at the end)."""

    async def serve(self) -> None:
        """Start, accept, run the session to its end, then release everything it holds.

        If :meth:`start` fails (NATS unavailable) the handshake is refused with HTTP 503.
        """
        close: CloseSessionError | None = None
        try:
            try:
                await self.start()
            except Exception:
                log.exception("websocket session could not start")
                await refuse(self.socket, 503, "event stream unavailable")
                return
            await self.socket.accept()
            close = await self._run()
        except Exception:
            log.exception("websocket session failed")
            close = CloseSessionError(CLOSE_INTERNAL, "internal error")
        finally:
            await self._release()
        if close is not None:
            level = logging.WARNING if close.code == CLOSE_TRY_AGAIN else logging.INFO
            log.log(
                level,
                "closing %s of %r: %d %s",
                self.socket.scope["path"],
                self.principal.username,
                close.code,
                close.reason,
            )
            await self._close(close)

    async def _run(self) -> CloseSessionError | None:
        coros = [self.read(), self.write(), self._expiry(), self._overflow(), *self.timers()]
        tasks = [asyncio.ensure_future(c) for c in coros]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.outbox.overflow:
            return CloseSessionError(
                CLOSE_TRY_AGAIN, str(OutboxOverflowError(self.outbox.overflow))
            )
        for task in done:
            exc = task.exception()
            if isinstance(exc, CloseSessionError):
                return exc
            if exc is not None and not isinstance(exc, WebSocketDisconnect | OSError):
                log.error("websocket session task failed", exc_info=exc)
                return CloseSessionError(CLOSE_INTERNAL, "internal error")
        return None

    async def _overflow(self) -> None:
        await self.outbox.failed.wait()

    async def _expiry(self) -> None:
        """Close with 1008 once the principal's token expires (a :meth:`renew` moves it)."""
        while (left := self.principal.expires_at - time.time()) > 0:
            self._renewed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._renewed.wait()
        raise CloseSessionError(CLOSE_POLICY, "access token expired")

    async def _release(self) -> None:
        try:
            await self.cleanup()
        except Exception:
            log.exception("session cleanup failed")
        attached, self._attached = self._attached, []
        for pattern, sink in attached:
            try:
                await self.hub.remove(pattern, sink)
            except Exception:
                log.exception("releasing %s failed", pattern)

    async def _close(self, close: CloseSessionError) -> None:
        """Send the close frame, waiting at most CLOSE_TIMEOUT behind unread data."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.socket.close(close.code, close.reason)

    async def send_text(self, frame: bytes) -> None:
        """Send one text frame.

        ASGI carries text frames as ``str``: the frame (built from bytes) is decoded once,
        without parsing — for ASCII that is a copy.  Invalid UTF-8 (only a rogue publisher
        could send it) is replaced rather than ending the session.
        """
        event: WebSocketSendEvent = {
            "type": "websocket.send",
            "bytes": None,
            "text": frame.decode(errors="replace"),
        }
        await self.socket.send(event)
