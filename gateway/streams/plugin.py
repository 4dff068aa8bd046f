"""``StreamPlugin``: the gateway's WebSockets (``/ws/`` and ``/stream``) and their hub.

Usage::

    Litestar(..., plugins=[NatsPlugin(settings), StreamPlugin(settings)])

The NATS plugin must come first: its lifespan puts the connected client on
``app.state.nats`` before this plugin's lifespan builds the :class:`Hub` from it (stored
on ``app.state.ws_hub``) and it closes the client after the hub released its subscriptions.
Both handlers authenticate the handshake themselves (``?token=`` or ``Authorization:
Bearer``) and are marked ``exclude_from_auth`` for any auth middleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.connection import WebSocket
from litestar.handlers import WebsocketRouteHandler
from litestar.plugins import InitPlugin

from gateway.settings import GatewaySettings
from gateway.streams.hub import Hub
from gateway.streams.session import Session, authenticate
from gateway.streams.stream import StreamSession
from gateway.streams.vnpy import VnpySession

VNPY_PATH = "/ws"
"""vnpy_webtrader's WebSocket; Litestar matches ``/ws`` and ``/ws/`` alike."""
STREAM_PATH = "/stream"
HUB_STATE_KEY = "ws_hub"
NATS_STATE_KEY = "nats"


class StreamPlugin(InitPlugin):
    """Registers ``/ws/`` (vnpy_webtrader) and ``/stream`` and owns the fan-out hub.

    Args:
        settings: the gateway's settings (``default_engine``, ``ws_queue_limit``,
            ``ws_heartbeat``, ``ws_idle_timeout``, ``request_timeout``, ``jwt_secret``).
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._hub: Hub | None = None

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
        await session_type(socket, self.hub, self.settings, principal).serve()
