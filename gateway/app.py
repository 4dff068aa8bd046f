"""The Litestar application: ``create_app(settings)``; nothing happens at import time."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components

from gateway.allow import AllowHeader
from gateway.auth_middleware import SECURITY_SCHEME, SECURITY_SCHEME_NAME, auth_middleware
from gateway.controllers import route_handlers
from gateway.engine_plugin import EnginesPlugin
from gateway.errors import EXCEPTION_HANDLERS, MAX_BODY_SIZE
from gateway.health import MetricsPlugin
from gateway.metrics import GatewayMetrics
from gateway.nats_plugin import NatsPlugin
from gateway.ratelimit import LoginLimiter
from gateway.request_context import RequestObserver
from gateway.security import cors_config, login_limiter, open_user_store
from gateway.settings import GatewaySettings
from gateway.streams.plugin import StreamPlugin
from gateway.users import UserStore

API_VERSION = "0.1.0"


def create_app(settings: GatewaySettings, users: UserStore | None = None) -> Litestar:
    """The gateway app: NATS, engines and streams plugins, REST controllers, auth, OpenAPI.

    ``users``: the user store (default: :func:`~gateway.security.open_user_store`).
    """
    users = users or open_user_store(settings)
    limiter = login_limiter(settings)
    metrics = GatewayMetrics()
    streams = StreamPlugin(settings)
    openapi = OpenAPIConfig(
        title="nats-webtrader gateway",
        version=API_VERSION,
        description="vnpy_webtrader's REST API, served from trading engines over NATS.",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(), JsonRenderPlugin()],
        components=Components(security_schemes={SECURITY_SCHEME_NAME: SECURITY_SCHEME}),
    )
    app = Litestar(
        route_handlers=route_handlers(),
        plugins=[
            NatsPlugin(settings),
            EnginesPlugin(settings, metrics),
            streams,  # needs app.state.nats: after NatsPlugin
            MetricsPlugin(settings, metrics, streams),  # reads all of the above: last
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "users": Provide(lambda: users, sync_to_thread=False),
            "login_limiter": Provide(lambda: limiter, sync_to_thread=False),
        },
        cors_config=cors_config(settings),
        middleware=[auth_middleware(settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_SIZE,  # larger bodies: 413 ErrorBody
        before_send=[AllowHeader()],  # OPTIONS lists every method of the path
        openapi_config=openapi,
        logging_config=None,  # main() configures logging once, for every logger
        signature_namespace={
            "GatewaySettings": GatewaySettings,
            "UserStore": UserStore,
            "LoginLimiter": LoginLimiter,
        },
    )
    # Outermost: every HTTP response (Litestar's own 404/405 too) gets its request id and
    # is timed; nothing inside the app needs to know.
    app.asgi_handler = RequestObserver(app.asgi_handler, metrics, log_access=settings.access_log)
    return app
