"""``StreamPlugin``: the gateway's WebSockets (``/ws/`` and ``/stream``) and their hub.

Usage::

    Litestar(..., plugins=[NatsPlugin(settings), StreamPlugin(settings)])

The NATS and engines plugins must come first: their lifespans put the connected client on
``app.state.nats`` (and its connection events on ``app.state.nats_events``) and the engine
directory on ``app.state.engines`` before this plugin's lifespan builds the :class:`Hub`
(``app.state.ws_hub``) and the durable feeds (``app.state.durable_feeds``) from them; the
client is closed after both released their subscriptions.  Engine up/down transitions and
NATS disconnects/reconnects are told to every ``/stream`` session.
Both handlers authenticate the handshake themselves (``?token=`` or ``Authorization:
Bearer``) and are marked ``exclude_from_auth`` for any auth middleware; ``/ws/`` refuses
(HTTP 403) a user who may not use the default engine, ``/stream`` checks each subscription
(:mod:`gateway.streams.authz`).  ``GET /stream/stats`` (an ordinary HTTP route, behind the
app's auth) reports the counters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.config.app import AppConfig
from litestar.connection import WebSocket
from litestar.handlers import WebsocketRouteHandler
from litestar.plugins import InitPlugin

from gateway.access import Principal, Role
from gateway.auth_middleware import SECURITY
from gateway.engines import EngineDirectory, Status
from gateway.errors import PermissionDeniedError, error_responses
from gateway.nats_plugin import ConnectionEvents, ConnectionState
from gateway.settings import GatewaySettings
from gateway.streams.authz import forbidden
from gateway.streams.feeds import DurableFeeds
from gateway.streams.hub import Hub
from gateway.streams.session import HTTP_FORBIDDEN, authenticate, refuse
from gateway.streams.stream import StreamSession
from gateway.streams.tracker import SessionTracker
from gateway.streams.vnpy import VnpySession

VNPY_PATH = "/ws"
"""vnpy_webtrader's WebSocket; Litestar matches ``/ws`` and ``/ws/`` alike."""
STREAM_PATH = "/stream"
STATS_PATH = "/stream/stats"
HUB_STATE_KEY = "ws_hub"
FEEDS_STATE_KEY = "durable_feeds"
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
    consumers: int
    """JetStream consumers of ``/stream`` subscriptions (one per subscription and engine)."""
    waiting: int
    """Of those, without a live consumer right now (stream missing, NATS down): retried."""
    resets: int
    """Consumers replaced since start (NATS reconnects, gaps, lost servers)."""
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
        self._feeds: DurableFeeds | None = None
        self._engines: EngineDirectory | None = None
        self._sessions = 0
        self._streams: set[StreamSession] = set()
        self.tracker = SessionTracker()
        """Open sessions per endpoint and their totals (read by the metrics collector)."""

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
                    responses=error_responses(400, 401, 403),
                    sync_to_thread=False,
                )(self._stats_route),
            ]
        )
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        nc = getattr(app.state, NATS_STATE_KEY, None)
        engines: EngineDirectory | None = getattr(app.state, "engines", None)
        if nc is None or engines is None:
            raise RuntimeError(
                "StreamPlugin needs app.state.nats and app.state.engines: "
                "list the NATS and engines plugins before StreamPlugin in plugins=[...]"
            )
        events: ConnectionEvents | None = getattr(app.state, "nats_events", None)
        self._hub = hub = Hub(nc)
        self._feeds = feeds = DurableFeeds(nc, self.settings.request_timeout)
        self._engines = engines
        app.state[HUB_STATE_KEY] = hub
        app.state[FEEDS_STATE_KEY] = feeds
        feeds.start()
        engines.add_listener(self._on_engine)
        if events is not None:
            events.add_listener(self._on_nats)
        try:
            yield
        finally:
            engines.remove_listener(self._on_engine)
            if events is not None:
                events.remove_listener(self._on_nats)
            self._hub = self._feeds = self._engines = None
            await feeds.close()
            await hub.close()

    def _on_engine(self, engine_id: str, status: Status, reason: str) -> None:
        if status == "up" and self._feeds is not None:
            self._feeds.on_engine_up(engine_id)
        for session in list(self._streams):
            session.on_engine(engine_id, status, reason)

    def _on_nats(self, state: ConnectionState) -> None:
        for session in list(self._streams):
            session.on_nats(state)
        if state == "reconnected" and self._feeds is not None:
            self._feeds.on_reconnected()

    async def _vnpy(self, socket: WebSocket[Any, Any, Any]) -> None:
        principal = await authenticate(socket, self.settings)
        if principal is None:
            return
        engine = self.settings.default_engine
        if not principal.may_use(engine):  # /ws/ is the default engine's, nothing else
            await refuse(socket, HTTP_FORBIDDEN, forbidden(principal, engine))
            return
        session = VnpySession(socket, self.hub, self.settings, principal)
        self._sessions += 1
        self.tracker.open("ws", session)
        try:
            await session.serve()
        finally:
            self._sessions -= 1
            self.tracker.close("ws", session)

    async def _stream(self, socket: WebSocket[Any, Any, Any]) -> None:
        principal = await authenticate(socket, self.settings)
        if principal is None:
            return
        if self._feeds is None or self._engines is None:
            raise RuntimeError("the stream endpoint exists only while the app runs")
        session = StreamSession(
            socket, self.hub, self.settings, principal, feeds=self._feeds, engines=self._engines
        )
        self._sessions += 1
        self._streams.add(session)
        self.tracker.open("stream", session)
        try:
            await session.serve()
        finally:
            self._sessions -= 1
            self._streams.discard(session)
            self.tracker.close("stream", session)

    def snapshot(self) -> StreamStats | None:
        """The counters of ``GET /stream/stats`` now; None while the app is not running."""
        if self._hub is None or self._feeds is None:
            return None
        return self._stats()

    def _stats_route(
        self, request: Request[Principal, Any, Any], pattern: str | None = None
    ) -> StreamStats:
        """Open sessions and hub counters; ``pattern`` (admins only: 403) its reference count."""
        if pattern is not None and request.user.role is not Role.ADMIN:
            raise PermissionDeniedError("only an admin may ask about a pattern", "pattern")
        return self._stats(pattern)

    def _stats(self, pattern: str | None = None) -> StreamStats:
        """Open sessions and hub counters; ``pattern`` adds its reference count."""
        hub, feeds = self.hub, self._feeds
        if feeds is None:
            raise RuntimeError("the stream hub exists only while the app runs")
        return StreamStats(
            sessions=self._sessions,
            **msgspec.structs.asdict(hub.stats()),
            **msgspec.structs.asdict(feeds.stats()),
            refcount=hub.refcount(pattern) if pattern is not None else None,
        )
