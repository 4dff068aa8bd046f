"""``python -m gateway``: serve the REST/WebSocket gateway with uvicorn.

Prints one stdout line ``gateway ready http://HOST:PORT`` once the server listens (the real
port when ``--port 0``).  SIGTERM/SIGINT shut down gracefully (exit 0); bad settings exit 2.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn

from gateway.app import create_app
from gateway.nats_plugin import NatsUnavailableError
from gateway.query_token import QueryTokenRedactor
from gateway.security import open_user_store
from gateway.settings import GatewaySettings, SettingsError, load_settings
from gateway.users import UserStore
from schemas.logs import configure_logging

log = logging.getLogger("gateway")

EXIT_SETTINGS = 2


class ReadyServer(uvicorn.Server):
    """A uvicorn server that announces ``gateway ready URL`` once its sockets listen."""

    scheme = "http"

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then print the ready line (unless startup failed)."""
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        # One write, newline included: with PYTHONUNBUFFERED, print() writes the text and the
        # newline separately, and the log writer thread's lines could land in between.
        sys.stdout.write(f"gateway ready {self.scheme}://{host}:{port}\n")
        sys.stdout.flush()


class _KnownStartupFailure(logging.Filter):
    """Drops the traceback uvicorn logs when NATS was unreachable (already logged clearly)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and NatsUnavailableError.__name__ in record.msg)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """Uvicorn re-raises the signal it shut down for; after a clean shutdown that is a no-op."""


def serve(settings: GatewaySettings, users: UserStore | None = None) -> int:
    """Run the gateway until SIGTERM/SIGINT; 0 after a graceful shutdown.

    With ``settings.tls_cert``/``tls_key`` it serves HTTPS and WSS only.
    """
    config = uvicorn.Config(
        QueryTokenRedactor(create_app(settings, users)),  # no ?token= in uvicorn's log lines
        host=settings.host,
        port=settings.port,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        lifespan="on",
        access_log=False,  # gateway.access logs requests (with their ids) instead
        log_config=None,  # uvicorn's loggers go through main()'s handler (text or JSON)
        log_level=settings.log_level.lower(),
        server_header=False,
        # Browsers always offer permessage-deflate; compressing every frame costs more CPU
        # than the loopback/LAN bandwidth it saves (docs/performance.md, profile notes).
        ws_per_message_deflate=False,
        ssl_certfile=settings.tls_cert or None,
        ssl_keyfile=settings.tls_key or None,
        # X-Forwarded-For is believed only from the proxies named (uvicorn's default trusts
        # 127.0.0.1, which would let any local process pick its address for the rate limits).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_signal)
    logging.getLogger("uvicorn.error").addFilter(_KnownStartupFailure())
    server = ReadyServer(config)
    server.scheme = "https" if settings.tls else "http"
    server.run()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options (``WEBTRADER_*`` env twins), set up logging, then serve."""
    try:
        settings = load_settings(argv)
    except SettingsError as exc:
        print(f"gateway: {exc}", file=sys.stderr)  # noqa: T201 - usage error
        return EXIT_SETTINGS
    with configure_logging(settings.log_level, settings.log_format):
        try:
            users = open_user_store(settings)
        except SettingsError as exc:
            print(f"gateway: {exc}", file=sys.stderr)  # noqa: T201 - usage error
            return EXIT_SETTINGS
        warn_insecure(settings, users)
        return serve(settings, users)


def warn_insecure(settings: GatewaySettings, users: UserStore) -> None:
    """Log loudly what makes this gateway unfit for real accounts."""
    if settings.demo:
        login = (
            "log in with username 'vnpy' and password 'vnpy' (admin on every engine)"
            if users.path is None
            else f"users from {users.path}"
        )
        log.warning(
            "DEMO MODE: %s; unless a key is configured, tokens are signed with a random key "
            "that changes on every start. NEVER EXPOSE THIS GATEWAY.",
            login,
        )
    public = settings.host not in ("127.0.0.1", "::1", "localhost")
    if public and not settings.metrics_port:
        log.warning(
            "/metrics is served without a token on %s: anyone reaching this port reads the "
            "metrics (engine ids, traffic); use --metrics-port to serve them apart",
            settings.host,
        )
    if not settings.tls and public:
        log.warning(
            "serving plain HTTP on %s: passwords and tokens cross the network in clear text; "
            "use --tls-cert/--tls-key or a TLS-terminating proxy",
            settings.host,
        )


if __name__ == "__main__":
    sys.exit(main())
