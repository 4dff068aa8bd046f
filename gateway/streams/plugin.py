"""``StreamPlugin``: the gateway's WebSockets (``/ws/`` and ``/stream``) and their hub.

Usage::

    Litestar(..., plugins=[NatsPlugin(settings), StreamPlugin(settings)])

The NATS plugin must come first: its lifespan puts the connected client on
``app.state.nats`` before this plugin's lifespan builds the :class:`Hub` from it (stored
on ``app.state.ws_hub``) and it closes the client after the hub released its subscriptions.
Both handlers authenticate the handshake themselves (``?token=`` or ``Authorization:
Bearer``) and are marked ``exclude_from_auth`` for any auth middleware.  ``GET
/stream/stats`` (an ordinary HTTP route, behind the app's auth) reports the counters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.config.app import AppConfig
from litestar.connection import WebSocket
from litestar.handlers import WebsocketRouteHandler
from litestar.plugins import InitPlugin

from gateway.auth_middleware import SECURITY
from gateway.settings import GatewaySettings
from gateway.streams.hub import Hub
from gateway.streams.session import Session, authenticate
from gateway.streams.stream import StreamSession
from gateway.streams.vnpy import VnpySession

VNPY_PATH = "/ws"
"""vnpy_webtrader's WebSocket; Litestar matches ``/ws`` and ``/ws/`` alike."""
STREAM_PATH = "/stream"
STATS_PATH = "/stream/stats"
HUB_STATE_KEY = "ws_hub"
NATS_STATE_KEY = "nats"


class StreamStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of the WebSockets (``GET /stream/stats``)."""

    sessions: int
    """Open WebSocket sessions (both endpoints)."""
    patterns: int
    """NATS subscriptions held by the hub (one per distinct pattern)."""
    sinks: int
    """Client subscriptions attached to them."""
    messages: int
    """NATS messages fanned out since start."""
    dropped: int
    """Messages nats-py dropped because the hub fell behind (slow consumer)."""
    refcount: int | None = None
    """Client subscriptions attached to ``?pattern=`` (when asked)."""


class StreamPlugin(InitPlugin):
    """Registers ``/ws/`` (vnpy_webtrader) and ``/stream`` and owns the fan-out hub.

    Args:
        settings: the gateway's settings (``default_engine``, ``ws_queue_limit``,
            ``ws_heartbeat``, ``ws_idle_timeout``, ``request_timeout``, ``jwt_secret``).
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._hub: Hub | None = None
        self._sessions = 0

    @property
    def hub(self) -> Hub:
        """The running hub (only between the app's startup and shutdown).

        Raises:
            RuntimeError: the app is not running.
        """
        if self._hub is None:
            raise RuntimeError("the stream hub exists only while the app runs")
        return self._hub

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add both WebSocket route handlers and the hub's lifespan."""
        opt = {"exclude_from_auth": True}
        app_config.route_handlers.extend(
            [
                WebsocketRouteHandler(VNPY_PATH, opt=opt, name="ws-vnpy")(self._vnpy),
                WebsocketRouteHandler(STREAM_PATH, opt=opt, name="ws-stream")(self._stream),
                get(
                    STATS_PATH,
                    name="stream-stats",
                    tags=["streams"],
                    summary="WebSocket and fan-out counters",
                    security=SECURITY,
                    sync_to_thread=False,
                )(self._stats),
            ]
        )
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        nc = getattr(app.state, NATS_STATE_KEY, None)
        if nc is None:
            raise RuntimeError(
                "StreamPlugin needs the NATS client on app.state.nats: "
                "list the NATS plugin before StreamPlugin in plugins=[...]"
            )
        self._hub = hub = Hub(nc)
        app.state[HUB_STATE_KEY] = hub
        try:
            yield
        finally:
            self._hub = None
            await hub.close()

    async def _vnpy(self, socket: WebSocket[Any, Any, Any]) -> None:
        await self._serve(socket, VnpySession)

    async def _stream(self, socket: WebSocket[Any, Any, Any]) -> None:
        await self._serve(socket, StreamSession)

    async def _serve(
        self, socket: WebSocket[Any, Any, Any], session_type: type[Session[Any]]
    ) -> None:
        principal = await authenticate(socket, self.settings)
        if principal is None:
            return
        self._sessions += 1
        try:
            await session_type(socket, self.hub, self.settings, principal).serve()
        finally:
            self._sessions -= 1

    def _stats(self, pattern: str | None = None) -> StreamStats:
        """Open sessions and hub counters; ``pattern`` adds its reference count."""
        hub = self.hub
        return StreamStats(
            sessions=self._sessions,
            **msgspec.structs.asdict(hub.stats()),
            refcount=hub.refcount(pattern) if pattern is not None else None,
        )
