"""Wires the engine directory and the engine client into the app (after the NATS plugin).

Publishes ``app.state.engines`` (:class:`~gateway.engines.EngineDirectory`) and
``app.state.engine_client`` (:class:`~gateway.engine_client.EngineClient`), and the
dependencies ``engines`` and ``engine_client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar.di import Provide
from litestar.plugins import InitPlugin

from gateway.engine_client import EngineClient
from gateway.engines import EngineDirectory
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig


class EnginesPlugin(InitPlugin):
    """Starts the engine directory on the app's NATS connection; must follow NatsPlugin."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self._engines: EngineDirectory | None = None
        self._client: EngineClient | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Register the lifespan and the ``engines`` / ``engine_client`` dependencies."""
        app_config.lifespan.append(self.lifespan)
        app_config.dependencies["engines"] = Provide(self._get_engines, sync_to_thread=False)
        app_config.dependencies["engine_client"] = Provide(self._get_client, sync_to_thread=False)
        app_config.signature_namespace.update(
            EngineDirectory=EngineDirectory, EngineClient=EngineClient
        )
        return app_config

    def _get_engines(self) -> EngineDirectory:
        if self._engines is None:
            raise RuntimeError("engine directory used outside the app lifespan")
        return self._engines

    def _get_client(self) -> EngineClient:
        if self._client is None:
            raise RuntimeError("engine client used outside the app lifespan")
        return self._client

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Start the directory (heartbeats, discovery); stop listening on exit."""
        engines = EngineDirectory(
            app.state.nats, self._settings.default_engine, self._settings.request_timeout
        )
        await engines.start()
        self._engines = app.state.engines = engines
        self._client = app.state.engine_client = EngineClient(
            app.state.nats,
            engines,
            self._settings.request_timeout,
            observe=self._metrics.observe_engine if self._metrics is not None else None,
        )
        try:
            yield
        finally:
            self._engines = self._client = None
            await engines.stop()
