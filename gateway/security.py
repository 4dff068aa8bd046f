"""Security wiring of the app, built once in ``create_app``/``main``: users, limits, CORS.

* :func:`open_user_store` — the users the gateway accepts (demo: ``vnpy``/``vnpy``);
* :func:`login_limiter` — the login rate limits of the settings;
* :func:`cors_config` — CORS for the explicit ``--cors-origins`` allow-list only (none by
  default: no CORS header at all, so browsers keep other origins out).
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from litestar.config.cors import CORSConfig

from gateway.ratelimit import LoginLimiter
from gateway.settings import GatewaySettings, SettingsError, needs
from gateway.users import UsersFileError, UserStore

log = logging.getLogger("gateway.security")

CORS_METHODS: list[str] = ["GET", "POST", "DELETE", "OPTIONS"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSED_HEADERS = ["Retry-After", "Location", "Wt-Stream-Seq", "Wt-Replayed"]


def open_user_store(settings: GatewaySettings) -> UserStore:
    """The user store: the users file's, or demo mode's ``vnpy``/``vnpy`` without a file.

    Blocking (reads the file, hashes the demo password): call at start.

    Raises:
        SettingsError: the file is unreadable or invalid, or (outside demo) has no user;
            the message says how to add one.
    """
    if not settings.users_file:
        if not settings.demo:
            raise SettingsError("outside --demo the gateway needs:\n" + needs(False, True)[0])
        return UserStore.demo()
    path = Path(settings.users_file)
    try:
        store = UserStore.from_file(path)
    except UsersFileError as exc:
        raise SettingsError(str(exc)) from None
    if not len(store):
        if settings.demo:
            return UserStore.demo()
        raise SettingsError(
            f"the users file {path} has no users; add one with: "
            f"webtrader user add NAME --role admin --engines '*' --users-file {path}"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("users file %s is readable by others (mode %o): chmod 600 it", path, mode)
    return store


def login_limiter(settings: GatewaySettings) -> LoginLimiter:
    """The per-user and per-address login limits of ``settings``."""
    return LoginLimiter(
        settings.login_user_limit, settings.login_address_limit, settings.login_window
    )


def cors_config(settings: GatewaySettings) -> CORSConfig | None:
    """CORS for the allow-listed origins; None (no CORS headers) when there are none."""
    origins = settings.cors_origin_list
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=CORS_METHODS,  # type: ignore[arg-type]
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,  # bearer tokens, no cookies
        max_age=600,
    )
