"""Gateway settings: one frozen object, built once in ``main()`` from options and env."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas.config import add_option
from schemas.subjects import check_engine_id


class SettingsError(Exception):
    """The settings cannot run a gateway; the message says what to set."""


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    """Everything the gateway process is configured with; immutable after start."""

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server(s) to connect to; comma-separated for a cluster."""
    nats_connect_timeout: float = 10.0
    """Seconds to wait for the first NATS connection at start before exiting with an error."""
    host: str = "127.0.0.1"
    """Interface the HTTP server binds."""
    port: int = 8000
    """TCP port of the HTTP server."""
    default_engine: str = "sim"
    """Engine id that vnpy_webtrader's routes (``/order``, ``/ws/``...) address."""
    demo: bool = False
    """Demo mode: login ``vnpy``/``vnpy`` and a random signing key per run."""
    jwt_secret: str = ""
    """HS256 signing key for access tokens (random per run in demo mode)."""
    username: str = ""
    """The one login accepted (demo: ``vnpy``)."""
    password: str = ""
    """Its password (demo: ``vnpy``)."""
    token_ttl: float = 8 * 3600.0
    """Lifetime of an access token, in seconds."""
    request_timeout: float = 5.0
    """Seconds to wait for an engine's reply before answering 504."""
    ws_queue_limit: int = 10_000
    """Per WebSocket client: most non-tick events queued before it is disconnected (1013)."""
    ws_heartbeat: float = 10.0
    """Seconds between server heartbeats on the streaming WebSocket."""
    ws_idle_timeout: float = 30.0
    """Seconds of client silence after which the streaming WebSocket is closed."""

    def __post_init__(self) -> None:
        try:
            check_engine_id(self.default_engine)
        except ValueError as exc:
            raise SettingsError(f"--default-engine: {exc}") from None
        if self.demo:
            return
        missing = [
            f"--{name.replace('_', '-')}"
            for name in ("jwt_secret", "username", "password")
            if not getattr(self, name)
        ]
        if missing:
            raise SettingsError(
                f"outside --demo the gateway needs {', '.join(missing)} "
                "(or WEBTRADER_JWT_SECRET, WEBTRADER_USERNAME, WEBTRADER_PASSWORD); "
                'make a key with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )

    @classmethod
    def demo_settings(cls, **overrides: object) -> GatewaySettings:
        """Demo settings: ``vnpy``/``vnpy`` and a fresh random signing key."""
        values: dict[str, object] = {
            "demo": True,
            "username": "vnpy",
            "password": "vnpy",
            "jwt_secret": secrets.token_urlsafe(48),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The gateway's options; each also read from its ``WEBTRADER_*`` variable."""
    d = GatewaySettings.__dataclass_fields__
    p = argparse.ArgumentParser(prog="webtrader gateway", description=__doc__)

    def opt(name: str, help: str, type: type = str, flag: bool = False) -> None:  # noqa: A002
        default = d[name.replace("-", "_")].default
        add_option(p, f"--{name}", help=help, type=type, default=default, env=env, flag=flag)

    opt("nats-url", "NATS server URL(s), comma-separated")
    opt("nats-connect-timeout", "seconds to wait for NATS at start before giving up", float)
    opt("host", "interface to bind")
    opt("port", "HTTP port", int)
    opt("default-engine", "engine id behind the vnpy_webtrader routes")
    opt("demo", "demo mode: login vnpy/vnpy, random signing key", flag=True)
    opt("jwt-secret", "HS256 key for access tokens (required outside --demo)")
    opt("username", "login name (required outside --demo)")
    opt("password", "login password (required outside --demo; prefer the env variable)")
    opt("token-ttl", "access token lifetime, seconds", float)
    opt("request-timeout", "seconds to wait for an engine before 504", float)
    opt("ws-queue-limit", "per-client backlog of non-tick events before disconnect", int)
    opt("ws-heartbeat", "seconds between heartbeats on /stream", float)
    opt("ws-idle-timeout", "close /stream after this many silent seconds", float)
    return p


def load_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> GatewaySettings:
    """Parse ``argv`` (and the environment) into settings.

    Raises:
        SettingsError: the combination cannot run (the message says what to set).
    """
    ns = vars(build_parser(env).parse_args(argv))
    if ns["demo"]:
        ns.update(
            {
                k: v
                for k, v in GatewaySettings.demo_settings().__dict__.items()
                if k in ("username", "password", "jwt_secret") and not ns[k]
            }
        )
    return GatewaySettings(**ns)
