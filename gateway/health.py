"""Probes and metrics: ``GET /healthz``, ``GET /readyz``, ``GET /metrics``; no token needed.

* ``/healthz`` — the process serves HTTP: always 200 ``{"status": "ok"}`` while it does.
* ``/readyz`` — this gateway can serve trading: 200 when NATS is connected and at least one
  engine is up (the default engine or another), else 503; both bodies are a
  :class:`Readiness` whose ``missing`` says what is lacking.
* ``/metrics`` — Prometheus text format (docs/operations.md).  Served here unless
  ``--metrics-port`` moves it to a listener of its own (:class:`MetricsPlugin`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins import InitPlugin
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.auth_middleware import EXCLUDE_OPT_KEY
from gateway.engines import EngineDirectory, Status
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from schemas.exposition import MetricsServer, exposition

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig

    from gateway.streams.plugin import StreamPlugin

_OPEN = {EXCLUDE_OPT_KEY: True}
_TAGS = ["operations"]


class Health(msgspec.Struct, frozen=True):
    """Body of ``GET /healthz``."""

    status: Literal["ok"] = "ok"


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """Body of ``GET /readyz`` (200 and 503 alike)."""

    ready: bool
    nats: Literal["connected", "disconnected"]
    default_engine: str
    engines: dict[str, Status]
    """Every engine this gateway knows and its status."""
    missing: list[str]
    """What keeps the gateway from being ready (empty when ready)."""


def readiness(nats_connected: bool, engines: EngineDirectory) -> Readiness:
    """What ``/readyz`` says now."""
    known = engines.known()
    missing = []
    if not nats_connected:
        missing.append("NATS is not connected")
    if not any(status == "up" for status in known.values()):
        missing.append(f"no engine is up (default engine {engines.default_engine!r} is down)")
    return Readiness(
        ready=not missing,
        nats="connected" if nats_connected else "disconnected",
        default_engine=engines.default_engine,
        engines=dict(sorted(known.items())),
        missing=missing,
    )


def probe_routes() -> list[HTTPRouteHandler]:
    """``GET /healthz`` and ``GET /readyz`` (new handler objects for each app)."""

    @get(
        "/healthz",
        opt=_OPEN,
        tags=_TAGS,
        summary="Liveness: the process serves HTTP",
        sync_to_thread=False,
    )
    def healthz() -> Health:
        """Always 200 while the gateway serves (nothing else is checked)."""
        return Health()

    @get(
        "/readyz",
        opt=_OPEN,
        tags=_TAGS,
        summary="Readiness: NATS connected and an engine up",
        responses={
            503: ResponseSpec(
                data_container=Readiness,
                description="Not ready: `missing` says what is lacking (NATS, engines)",
                generate_examples=False,
            )
        },
        sync_to_thread=False,
    )
    def readyz(request: Request[Any, Any, Any], engines: EngineDirectory) -> Response[Readiness]:
        """200 when NATS is connected and at least one engine is up; else 503."""
        nc = getattr(request.app.state, "nats", None)
        state = readiness(nc is not None and nc.is_connected, engines)
        return Response(state, status_code=200 if state.ready else 503)

    return [healthz, readyz]


def metrics_route(metrics: GatewayMetrics) -> HTTPRouteHandler:
    """``GET /metrics`` of ``metrics`` (Prometheus text format)."""

    @get(
        "/metrics",
        opt=_OPEN,
        tags=_TAGS,
        summary="Prometheus metrics",
        media_type=MediaType.TEXT,
        sync_to_thread=False,
        name="metrics",
    )
    def serve_metrics() -> Response[bytes]:
        """Every metric in the Prometheus text format (docs/operations.md)."""
        return Response(
            exposition(metrics.registry), media_type=CONTENT_TYPE_LATEST, status_code=200
        )

    return serve_metrics


class MetricsPlugin(InitPlugin):
    """Registers the probes and metrics; binds the running components to the metrics.

    Must follow the NATS, engines and streams plugins.  With ``settings.metrics_port`` the
    metrics are served on ``metrics_host:metrics_port`` instead of the app's ``/metrics``.
    """

    def __init__(
        self, settings: GatewaySettings, metrics: GatewayMetrics, streams: StreamPlugin
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._streams = streams
        self.server: MetricsServer | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the routes and the lifespan."""
        app_config.route_handlers.extend(probe_routes())
        if not self._settings.metrics_port:
            app_config.route_handlers.append(metrics_route(self._metrics))
        app_config.lifespan.append(self._lifespan)
        app_config.signature_namespace.update(EngineDirectory=EngineDirectory)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        metrics, engines = self._metrics, app.state.engines
        events = getattr(app.state, "nats_events", None)
        metrics.bind(app.state.nats, engines, self._streams)
        engines.add_listener(metrics.on_engine)
        if events is not None:
            events.add_listener(metrics.on_nats)
        if self._settings.metrics_port:
            self.server = MetricsServer(
                metrics.registry, self._settings.metrics_host, self._settings.metrics_port
            )
            await self.server.start()
        try:
            yield
        finally:
            if self.server is not None:
                await self.server.close()
            engines.remove_listener(metrics.on_engine)
            if events is not None:
                events.remove_listener(metrics.on_nats)
            metrics.unbind()
