"""Users files made the way an operator makes them: the real ``webtrader user`` CLI."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
