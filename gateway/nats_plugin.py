"""The gateway's one NATS connection, owned by the app lifespan.

Start: connect with the process name, endless reconnects.  If no server answers within
``settings.nats_connect_timeout`` the startup fails with a clear message (the process exits
non-zero and its supervisor restarts it); it never hangs.  Once connected, a lost server is
retried forever in the background while REST answers 503.  Shutdown drains the connection
(pending replies and subscriptions finish) before the process exits.

The connected client is published as ``app.state.nats`` and as the ``nats`` dependency;
:class:`ConnectionEvents` (``app.state.nats_events``) tells listeners when the connection is
lost and when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

from litestar.di import Provide
from litestar.plugins import InitPlugin
from nats.aio.client import Client

from gateway.settings import GatewaySettings
from schemas import natsauth
from schemas.config import redact_url

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig

log = logging.getLogger("gateway.nats")

CLIENT_NAME = "webtrader-gateway"
RECONNECT_WAIT = 1
"""Seconds between reconnect attempts to one server."""
ATTEMPT_TIMEOUT = 2
"""Seconds one connection attempt may take."""
DRAIN_TIMEOUT = 5
"""Seconds shutdown waits for in-flight messages before closing anyway."""


ConnectionState = Literal["disconnected", "reconnected"]
ConnectionListener = Callable[[ConnectionState], None]
"""Told ``"disconnected"`` / ``"reconnected"``; must not block or raise."""


class NatsUnavailableError(RuntimeError):
    """No NATS server could be reached at start within the configured time."""


class ConnectionEvents:
    """Listeners of the connection's state changes (not of our own shutdown)."""

    def __init__(self) -> None:
        self._listeners: list[ConnectionListener] = []

    def add_listener(self, listener: ConnectionListener) -> None:
        """Call ``listener(state)`` on every disconnect and reconnect."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ConnectionListener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, state: ConnectionState) -> None:
        """Tell every listener."""
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                log.exception("NATS connection listener failed")


class NatsPlugin(InitPlugin):
    """Connects at startup, drains at shutdown; provides the client to handlers and plugins."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self.events = ConnectionEvents()

    @property
    def client(self) -> Client:
        """The connected client (only inside the app lifespan).

        Raises:
            RuntimeError: used before startup or after shutdown.
        """
        if self._client is None:
            raise RuntimeError("NATS client used outside the app lifespan")
        return self._client

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Register the lifespan and the ``nats`` dependency."""
        app_config.lifespan.append(self.lifespan)
        app_config.dependencies["nats"] = Provide(lambda: self.client, sync_to_thread=False)
        app_config.signature_namespace.update(Client=Client)
        return app_config

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Connect, publish ``app.state.nats``, and drain on exit."""
        client = await connect(self._settings, self.events)
        self._client = client
        app.state.nats = client
        app.state.nats_events = self.events
        try:
            yield
        finally:
            self._client = None
            await close(client)


def servers_of(nats_url: str) -> list[str]:
    """The comma-separated server URLs of ``--nats-url``."""
    return [url.strip() for url in nats_url.split(",") if url.strip()]


async def connect(settings: GatewaySettings, events: ConnectionEvents | None = None) -> Client:
    """Connect to NATS, reconnecting forever once connected; ``events`` hears the changes.

    Raises:
        NatsUnavailableError: no server reachable within ``settings.nats_connect_timeout``,
            or the server refused the credentials.
    """
    client = Client()

    async def on_error(exc: Exception) -> None:
        log.warning("NATS: %s", str(exc) or type(exc).__name__)

    async def on_disconnected() -> None:
        if client.is_closed or client.is_draining:
            return  # our own shutdown
        log.warning("NATS disconnected; reconnecting (requests answer 503 meanwhile)")
        if events is not None:
            events.notify("disconnected")

    async def on_reconnected() -> None:
        log.info("NATS reconnected to %s", _where(client))
        if events is not None:
            events.notify("reconnected")

    servers = servers_of(settings.nats_url)
    try:
        await asyncio.wait_for(
            natsauth.connect(
                client,
                settings.nats_auth,
                settings.nats_url,
                servers=servers,
                name=CLIENT_NAME,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT,
                connect_timeout=ATTEMPT_TIMEOUT,
                error_cb=on_error,
                drain_timeout=DRAIN_TIMEOUT,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            ),
            settings.nats_connect_timeout,
        )
    except natsauth.CredentialsRefusedError as exc:
        log.error("%s", exc)
        raise NatsUnavailableError(str(exc)) from None
    except TimeoutError:
        await client.close()
        msg = (
            f"cannot reach NATS at {redact_url(settings.nats_url)} within "
            f"{settings.nats_connect_timeout:g} s (is nats-server running? see --nats-url)"
        )
        log.error(msg)
        raise NatsUnavailableError(msg) from None
    log.info(
        "NATS connected to %s as %s",
        _where(client),
        settings.nats_auth.describe(settings.nats_url),
    )
    return client


def _where(client: Client) -> str:
    url = client.connected_url
    return redact_url(url.geturl()) if url is not None else "?"


async def close(client: Client) -> None:
    """Drain (finish in-flight work), falling back to close if draining fails."""
    if client.is_closed:
        return
    try:
        await client.drain()
    except Exception:  # shutdown must complete whatever NATS says
        log.warning("NATS drain failed; closing", exc_info=True)
        await client.close()
