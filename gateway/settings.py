"""Gateway settings: one frozen object, built once in ``main()`` from options and env."""

from __future__ import annotations

import argparse
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.keys import HS256, MAKE_KEY_PAIR, MAKE_SECRET, KeyConfigError, TokenKeys, load_keys
from schemas.config import add_option
from schemas.logs import add_log_options, check_log_options
from schemas.natsauth import NatsAuth, NatsAuthError, add_nats_auth_options, pop_nats_auth
from schemas.subjects import check_engine_id


class SettingsError(Exception):
    """The settings cannot run a gateway; the message says what to set."""


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    """Everything the gateway process is configured with; immutable after start."""

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server(s) to connect to; comma-separated for a cluster."""
    nats_auth: NatsAuth = field(default_factory=NatsAuth)
    """How to authenticate to NATS (``schemas.natsauth``: user/password, creds file, URL)."""
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
    users_file: str = ""
    """The users file (``webtrader user add``); required outside demo mode."""
    jwt_secret: str = ""
    """HS256 signing key for tokens (random per run in demo mode when no key is set)."""
    jwt_secret_file: str = ""
    """File holding the HS256 key (instead of ``jwt_secret``)."""
    jwt_private_key: str = ""
    """PEM private key file: sign with RS256, ES256 or EdDSA instead of HS256."""
    jwt_public_key: str = ""
    """PEM public key file; optional, must be the private key's pair."""
    jwt_algorithm: str = ""
    """HS256, RS256, ES256 or EdDSA; empty: HS256 for a secret, else the private key's."""
    token_ttl: float = 0.0
    """Lifetime of an access token, seconds; 0: 15 minutes (8 hours in demo mode)."""
    refresh_ttl: float = 8 * 3600.0
    """Lifetime of a refresh token (and so of a login session), seconds."""
    login_user_limit: int = 5
    """Failed logins per user name within ``login_window`` before 429."""
    login_address_limit: int = 20
    """Failed logins per client address within ``login_window`` before 429."""
    login_window: float = 60.0
    """Seconds of the sliding window of the login rate limits."""
    cors_origins: str = ""
    """Comma-separated origins allowed by CORS (``https://app.example.com``); empty: no CORS."""
    tls_cert: str = ""
    """PEM certificate (chain) file: serve HTTPS/WSS (with ``tls_key``)."""
    tls_key: str = ""
    """PEM private key file of ``tls_cert``."""
    forwarded_allow_ips: str = ""
    """Proxies (comma-separated IPs, ``*``) whose ``X-Forwarded-For``/``-Proto`` are trusted
    for the client address (rate limits, logs); empty: none, the peer address is used."""
    request_timeout: float = 5.0
    """Seconds to wait for an engine's reply before answering 504."""
    ws_queue_limit: int = 10_000
    """Per WebSocket client: most non-tick events queued before it is disconnected (1013)."""
    ws_heartbeat: float = 10.0
    """Seconds between server heartbeats on the streaming WebSocket."""
    ws_idle_timeout: float = 30.0
    """Seconds of client silence after which the streaming WebSocket is closed."""
    log_level: str = "INFO"
    """Level of the log lines written to stderr."""
    log_format: str = "text"
    """``text`` or ``json`` (one object per line), see :mod:`schemas.logs`."""
    access_log: bool = True
    """Log one ``gateway.access`` line per HTTP request (method, path, status, time, id)."""
    metrics_port: int = 0
    """0: ``/metrics`` on the HTTP port; else a listener of its own on this port."""
    metrics_host: str = "127.0.0.1"
    """Interface of the ``metrics_port`` listener."""

    token_keys: TokenKeys = field(init=False, repr=False, compare=False)
    """The signing and verifying keys, loaded once from the options above."""

    def __post_init__(self) -> None:
        try:
            check_engine_id(self.default_engine)
        except ValueError as exc:
            raise SettingsError(f"--default-engine: {exc}") from None
        check_security(self)
        try:
            keys = load_keys(
                algorithm=self.jwt_algorithm,
                secret=self.jwt_secret,
                secret_file=self.jwt_secret_file,
                private_key=self.jwt_private_key,
                public_key=self.jwt_public_key,
                demo=self.demo,
            )
        except KeyConfigError as exc:
            raise SettingsError(str(exc)) from None
        if keys is None and self.demo:
            random_key = secrets.token_urlsafe(48)
            keys = TokenKeys(HS256, random_key, random_key)
        missing = [] if self.demo else needs(keys is None, not self.users_file)
        if missing:
            raise SettingsError("outside --demo the gateway needs:\n" + "\n".join(missing))
        assert keys is not None  # noqa: S101 - needs() refused a missing key
        object.__setattr__(self, "token_keys", keys)
        if self.token_ttl <= 0:
            object.__setattr__(self, "token_ttl", DEMO_TOKEN_TTL if self.demo else TOKEN_TTL)

    @property
    def cors_origin_list(self) -> list[str]:
        """``cors_origins`` as a list (empty: CORS off)."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def tls(self) -> bool:
        """True when the gateway serves HTTPS."""
        return bool(self.tls_cert)

    @classmethod
    def demo_settings(cls, **overrides: object) -> GatewaySettings:
        """Demo settings: ``vnpy``/``vnpy`` and a fresh random signing key."""
        values: dict[str, object] = {"demo": True}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


TOKEN_TTL = 15 * 60.0
"""Default access-token lifetime outside demo mode."""
DEMO_TOKEN_TTL = 8 * 3600.0
"""Default access-token lifetime in demo mode (a browser session without refreshing)."""
_ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def needs(no_key: bool, no_users: bool) -> list[str]:
    """Lines saying how to create what a production gateway lacks."""
    lines = []
    if no_key:
        lines.append(
            "  * a token signing key: --jwt-secret-file FILE or WEBTRADER_JWT_SECRET "
            f"(--jwt-secret), made with: {MAKE_SECRET}; "
            f"or --jwt-private-key FILE (RS256/ES256/EdDSA), made with: {MAKE_KEY_PAIR}"
        )
    if no_users:
        lines.append(
            "  * a users file: --users-file FILE (or WEBTRADER_USERS_FILE), with a user made "
            "with: webtrader user add NAME --role admin --engines '*' --users-file FILE"
        )
    return lines


def check_security(s: GatewaySettings) -> None:
    """Validate the TLS, CORS and login-limit options.

    Raises:
        SettingsError: naming the option.
    """
    if bool(s.tls_cert) != bool(s.tls_key):
        raise SettingsError("--tls-cert and --tls-key go together")
    for option, path in (("--tls-cert", s.tls_cert), ("--tls-key", s.tls_key)):
        if path and not Path(path).is_file():
            raise SettingsError(f"{option}: no such file {path}")
    for origin in s.cors_origin_list:
        if not _ORIGIN_RE.fullmatch(origin):
            raise SettingsError(
                f"--cors-origins: {origin!r} is not an origin like https://app.example.com "
                "(scheme://host[:port], no path, no '*')"
            )
    if s.login_user_limit < 1 or s.login_address_limit < 1 or s.login_window <= 0:
        raise SettingsError("--login-user-limit, --login-address-limit, --login-window: > 0")
    if s.refresh_ttl <= 0 or s.token_ttl < 0:
        raise SettingsError("--token-ttl and --refresh-ttl must be positive")
    problem = check_log_options(s.log_level, s.log_format)
    if problem:
        raise SettingsError(problem)
    if not 0 <= s.metrics_port <= 65535 or (s.metrics_port and s.metrics_port == s.port):  # noqa: PLR2004
        raise SettingsError("--metrics-port: 0 (on the HTTP port) or another port, up to 65535")


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The gateway's options; each also read from its ``WEBTRADER_*`` variable."""
    d = GatewaySettings.__dataclass_fields__
    p = argparse.ArgumentParser(prog="webtrader gateway", description=__doc__)

    def opt(name: str, help: str, type: type = str, flag: bool = False) -> None:  # noqa: A002
        default = d[name.replace("-", "_")].default
        add_option(p, f"--{name}", help=help, type=type, default=default, env=env, flag=flag)

    opt("nats-url", "NATS server URL(s), comma-separated")
    opt("nats-connect-timeout", "seconds to wait for NATS at start before giving up", float)
    add_nats_auth_options(p, env)
    opt("host", "interface to bind")
    opt("port", "HTTP port", int)
    opt("default-engine", "engine id behind the vnpy_webtrader routes")
    opt("demo", "demo mode: login vnpy/vnpy, random signing key", flag=True)
    opt("users-file", "users file, made with 'webtrader user add' (required outside --demo)")
    opt("jwt-secret", "HS256 token key (or a key file or key pair; prefer the env variable)")
    opt("jwt-secret-file", "file holding the HS256 token key")
    opt("jwt-private-key", "PEM private key file: sign tokens with RS256/ES256/EdDSA")
    opt("jwt-public-key", "PEM public key file (optional; must pair the private key)")
    opt("jwt-algorithm", "HS256, RS256, ES256 or EdDSA (default: from the key)")
    opt("token-ttl", "access token lifetime, seconds (0: 900; demo 28800)", float)
    opt("refresh-ttl", "refresh token (login session) lifetime, seconds", float)
    opt("login-user-limit", "failed logins per user name per window before 429", int)
    opt("login-address-limit", "failed logins per client address per window before 429", int)
    opt("login-window", "login rate-limit window, seconds", float)
    opt("cors-origins", "comma-separated origins allowed by CORS (default: none, no CORS)")
    opt("tls-cert", "PEM certificate file: serve HTTPS (with --tls-key)")
    opt("tls-key", "PEM private key file of --tls-cert")
    opt("forwarded-allow-ips", "trusted proxies' IPs for X-Forwarded-For (default: none)")
    opt("request-timeout", "seconds to wait for an engine before 504", float)
    opt("ws-queue-limit", "per-client backlog of non-tick events before disconnect", int)
    opt("ws-heartbeat", "seconds between heartbeats on /stream", float)
    opt("ws-idle-timeout", "close /stream after this many silent seconds", float)
    add_log_options(p, env)
    opt("access-log", "log one line per HTTP request (method, path, status, time, id)", flag=True)
    opt("metrics-port", "serve /metrics on this port instead of the HTTP port (0: HTTP port)", int)
    opt("metrics-host", "interface of the --metrics-port listener")
    return p


def load_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> GatewaySettings:
    """Parse ``argv`` (and the environment) into settings.

    Raises:
        SettingsError: the combination cannot run (the message says what to set).
    """
    ns = vars(build_parser(env).parse_args(argv))
    try:
        nats_auth = pop_nats_auth(ns)
    except NatsAuthError as exc:
        raise SettingsError(str(exc)) from None
    return GatewaySettings(**ns, nats_auth=nats_auth)
