"""How a process (engine bridge, gateway) authenticates to NATS: options, loading, connect.

One of, most specific first:

* ``--nats-creds FILE`` — a JWT ``.creds`` file (operator/JWT deployments; needs ``nkeys``);
* ``--nats-user NAME`` with ``--nats-password`` (give it as ``WEBTRADER_NATS_PASSWORD``, never
  on a command line) or ``--nats-password-file FILE``;
* ``user:password@`` in ``--nats-url`` (kept for compatibility; redacted in every log line).
  They are taken out of the URL and given to nats-py as options, because nats-py would not
  send them to the servers a cluster advertises (it fails over to those without them).

Each user of the project's ``nats.conf`` may receive replies only on its own inbox subjects
``_INBOX.<user>.>``, so :attr:`NatsAuth.inbox_prefix` is ``_INBOX.<user>`` whenever the user
is known (option or URL), ``--nats-inbox-prefix`` when given, else nats-py's ``_INBOX``.
Files are read once, when the settings are loaded (before the event loop runs).

:func:`connect` makes the first connection and fails fast (:class:`CredentialsRefusedError`)
when the server refuses the credentials, where nats-py would retry forever.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from schemas.config import add_option

INBOX_ROOT = "_INBOX"
"""nats-py's default inbox prefix; a known user's inboxes are ``_INBOX.<user>.*``."""

OPTION_KEYS = (
    "nats_user",
    "nats_password",
    "nats_password_file",
    "nats_creds",
    "nats_inbox_prefix",
)
"""The argparse destinations :func:`add_nats_auth_options` adds."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*")


REFUSALS = ("authorization violation", "authentication")
"""Words of the server errors that mean "these credentials are not accepted"."""


class NatsAuthError(ValueError):
    """The credential options contradict each other or a file cannot be read."""


class CredentialsRefusedError(ConnectionError):
    """The NATS server refused the credentials at the first connection."""


@dataclass(frozen=True, kw_only=True)
class NatsAuth:
    """A process's NATS credentials; secrets never appear in ``repr``."""

    user: str = ""
    """User name sent with :attr:`password` (empty: none, or the URL's)."""
    password: str = field(default="", repr=False)
    creds: str = ""
    """Path of the ``.creds`` file, for messages (its content is :attr:`creds_data`)."""
    creds_data: str = field(default="", repr=False)
    inbox_prefix: str = INBOX_ROOT
    """Prefix of this connection's reply inboxes (``nats.connect(inbox_prefix=...)``)."""

    @classmethod
    def load(
        cls,
        *,
        nats_url: str = "",
        user: str | None = None,
        password: str | None = None,
        password_file: str | Path | None = None,
        creds: str | Path | None = None,
        inbox_prefix: str | None = None,
    ) -> NatsAuth:
        """Check the options together, read the files, work out the inbox prefix.

        Raises:
            NatsAuthError: contradictory options, an unreadable or empty file, a user name
                or inbox prefix that is not a subject token, or ``--nats-creds`` without the
                ``nkeys`` package.
        """
        user, password = user or "", password or ""
        if user and not _TOKEN.fullmatch(user):
            raise NatsAuthError(f"--nats-user: 1-64 of A-Z a-z 0-9 _ -, not {user!r}")
        if not (user or password or password_file or creds):
            user, password = url_credentials(nats_url)
        if password and password_file:
            raise NatsAuthError("give one of --nats-password and --nats-password-file, not both")
        if password_file:
            password = _read(password_file, "--nats-password-file").rstrip("\r\n")
        creds_data = ""
        if creds:
            if user or password:
                raise NatsAuthError("--nats-creds replaces --nats-user/--nats-password: give one")
            if importlib.util.find_spec("nkeys") is None:
                raise NatsAuthError("--nats-creds needs the nkeys package: pip install nkeys")
            creds_data = _read(creds, "--nats-creds")
        elif user and not password:
            raise NatsAuthError(
                "--nats-user needs a password: WEBTRADER_NATS_PASSWORD or --nats-password-file"
            )
        elif password and not user:
            raise NatsAuthError("a NATS password needs --nats-user (WEBTRADER_NATS_USER)")
        return cls(
            user=user,
            password=password,
            creds=str(creds or ""),
            creds_data=creds_data,
            inbox_prefix=_inbox_prefix(inbox_prefix, user or url_user(nats_url)),
        )

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` / ``Client.connect`` (besides servers)."""
        kwargs: dict[str, Any] = {"inbox_prefix": self.inbox_prefix}
        if self.creds_data:
            from nats.aio.client import RawCredentials  # noqa: PLC0415 - only for JWT setups

            kwargs["user_credentials"] = RawCredentials(self.creds_data)
        elif self.user:
            kwargs["user"] = self.user
            kwargs["password"] = self.password
        return kwargs

    def describe(self, nats_url: str = "") -> str:
        """Who connects, for log lines (never a secret): ``user gateway``, ``creds FILE``..."""
        if self.creds:
            return f"creds {self.creds}"
        name = self.user or url_user(nats_url)
        return f"user {name}" if name else "no credentials"


def url_user(nats_url: str) -> str:
    """The user name of the first server URL in ``nats_url`` that carries one, else ``""``."""
    return url_credentials(nats_url)[0]


def url_credentials(nats_url: str) -> tuple[str, str]:
    """``(user, password)`` of the first server URL in ``nats_url`` with both, else empty.

    A URL with a user and no password carries a token: nats-py reads it from the URL.
    """
    for item in nats_url.split(","):
        try:
            split = urlsplit(item.strip())
            name, secret = split.username, split.password
        except ValueError:
            continue
        if name and secret is not None:
            return unquote(name), unquote(secret)
    return "", ""


def _inbox_prefix(explicit: str | None, user: str) -> str:
    if explicit:
        if not _PREFIX.fullmatch(explicit):
            raise NatsAuthError(
                f"--nats-inbox-prefix: not a subject without wildcards: {explicit!r}"
            )
        return explicit
    return f"{INBOX_ROOT}.{user}" if user and _TOKEN.fullmatch(user) else INBOX_ROOT


def _read(path: str | Path, option: str) -> str:
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise NatsAuthError(f"{option} {path}: {exc.strerror or exc}") from None
    if not text.strip():
        raise NatsAuthError(f"{option} {path}: the file is empty")
    return text


def add_nats_auth_options(parser: argparse.ArgumentParser, env: Mapping[str, str] | None) -> None:
    """Add the NATS credential options, each with its ``WEBTRADER_*`` twin.

    ``--nats-user``, ``--nats-password``, ``--nats-password-file``, ``--nats-creds`` and
    ``--nats-inbox-prefix``; :func:`pop_nats_auth` turns them into a :class:`NatsAuth`.
    """
    add_option(parser, "--nats-user", help="NATS user name (see docs/security/nats.md)", env=env)
    add_option(
        parser,
        "--nats-password",
        help="NATS password; give it as the environment variable, never on a command line",
        env=env,
    )
    add_option(
        parser,
        "--nats-password-file",
        help="file holding the NATS password (instead of --nats-password)",
        env=env,
        secret=False,
    )
    add_option(
        parser, "--nats-creds", help="NATS JWT credentials file (.creds; needs nkeys)", env=env
    )
    add_option(
        parser,
        "--nats-inbox-prefix",
        help="prefix of reply inboxes (unset: _INBOX.<user> when the user is known, else _INBOX)",
        env=env,
    )


def pop_nats_auth(ns: dict[str, Any]) -> NatsAuth:
    """Take the options of :func:`add_nats_auth_options` out of ``ns`` as one :class:`NatsAuth`.

    ``ns`` (``vars()`` of the parsed arguments) must hold ``nats_url``; it is left in place.

    Raises:
        NatsAuthError: see :meth:`NatsAuth.load`.
    """
    values = {key: ns.pop(key, None) for key in OPTION_KEYS}
    return NatsAuth.load(
        nats_url=str(ns.get("nats_url") or ""),
        user=values["nats_user"],
        password=values["nats_password"],
        password_file=values["nats_password_file"],
        creds=values["nats_creds"],
        inbox_prefix=values["nats_inbox_prefix"],
    )


def refused(exc: BaseException) -> bool:
    """True if ``exc`` (as given to nats-py's ``error_cb``) is a refusal of the credentials."""
    text = str(exc).lower()
    return any(word in text for word in REFUSALS)


async def connect(client: Any, auth: NatsAuth, nats_url: str, **kwargs: Any) -> None:
    """``client.connect(**kwargs)`` with ``auth``'s credentials; fail fast if refused.

    Until the first connection succeeds, a refusal of the credentials ends the attempt
    (nats-py would retry forever); later refusals (after a reconnect) are only reported to
    ``kwargs["error_cb"]`` like any other error.  Cancelling this coroutine (a timeout)
    cancels the connection attempt.

    Raises:
        CredentialsRefusedError: a server refused the credentials (the client is closed).
    """
    loop = asyncio.get_running_loop()
    refusal: asyncio.Future[BaseException] = loop.create_future()
    error_cb: Callable[[Exception], Awaitable[None]] | None = kwargs.pop("error_cb", None)

    async def on_error(exc: Exception) -> None:
        if not refusal.done() and not client.is_connected and refused(exc):
            refusal.set_result(exc)
        if error_cb is not None:
            await error_cb(exc)

    task = asyncio.ensure_future(
        client.connect(error_cb=on_error, **kwargs, **auth.connect_kwargs())
    )
    try:
        await asyncio.wait({task, refusal}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
            return
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    await client.close()
    raise CredentialsRefusedError(
        f"NATS refused the credentials ({auth.describe(nats_url)}): {refusal.result()}; "
        "check --nats-user and WEBTRADER_NATS_PASSWORD (or --nats-password-file, "
        "--nats-creds, the URL) against the server's users (docs/security/nats.md)"
    )
