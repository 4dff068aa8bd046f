"""Users files made the way an operator makes them: the real ``webtrader user`` CLI."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.processes import REPO, Gateway


def user_cli(users_file: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``python -m webtrader user ARGS --users-file FILE`` (not checked)."""
    return subprocess.run(
        [sys.executable, "-m", "webtrader", "user", *args, "--users-file", str(users_file)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )


def add_user(
    users_file: Path, name: str, password: str, role: str = "trader", engines: str = "*"
) -> None:
    """``webtrader user add NAME --role ROLE --engines ENGINES``, password on stdin."""
    result = user_cli(
        users_file,
        "add",
        name,
        "--role",
        role,
        "--engines",
        engines,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert result.returncode == 0, result.stderr


def new_secret() -> str:
    """A fresh HS256 key, as the docs say to make one."""
    return secrets.token_urlsafe(48)


def secure_gateway(
    nats_url: str,
    users_file: Path,
    secret: str,
    *extra: str,
    default_engine: str = "sim",
    env: dict[str, str] | None = None,
) -> Gateway:
    """A gateway outside demo mode: users file, HS256 key from the environment (not started)."""
    return Gateway(
        nats_url,
        default_engine,
        "--users-file",
        str(users_file),
        *extra,
        env={"WEBTRADER_JWT_SECRET": secret, "WEBTRADER_DEMO": "", **(env or {})},
    )


@contextmanager
def running_secure_gateway(
    nats_url: str, users_file: Path, secret: str, *extra: str
) -> Iterator[Gateway]:
    """:func:`secure_gateway` started (ready) for the ``with`` block, stopped after it."""
    gw = secure_gateway(nats_url, users_file, secret, *extra)
    gw.start_gateway()
    try:
        yield gw
    finally:
        gw.stop()


Roster = dict[str, tuple[str, str]]
"""``{username: (role, engines)}``, all with one password."""


@contextmanager
def gateway_with_users(
    nats_url: str, directory: Path, users: Roster, password: str
) -> Iterator[Gateway]:
    """A secure gateway whose users file holds ``users`` (made with the real CLI)."""
    users_file = directory / "users.json"
    for name, (role, engines) in users.items():
        add_user(users_file, name, password, role=role, engines=engines)
    with running_secure_gateway(nats_url, users_file, new_secret()) as gw:
        yield gw


def login_all(gw: Gateway, users: Roster, password: str) -> dict[str, str]:
    """An access token per user of ``users``, from ``POST /token``."""
    out = {}
    for name in users:
        r = httpx.post(f"{gw.url}/token", data={"username": name, "password": password})
        r.raise_for_status()
        out[name] = r.json()["access_token"]
    return out


def as_user(tokens: dict[str, str], name: str) -> dict[str, str]:
    """The ``Authorization`` header of ``name``'s token."""
    return {"Authorization": f"Bearer {tokens[name]}"}
