"""The login session: the access and refresh tokens, and refreshing before expiry.

Contract (as the JavaScript client's ``auth.js``):

* :meth:`Session.login` posts the OAuth2 password form (or JSON) to ``POST /token``; the
  answer is ``{access_token, token_type, refresh_token?, expires_in?}``.
* While logged in, a background task refreshes the access token at 80 % of its life (at
  least 5 s before it expires) with ``POST /token/refresh``; each new token is handed to the
  listeners (an open ``/stream`` forwards it with ``{"op": "refresh"}``).
* A refresh the gateway refuses (or no refresh token at all) ends the session: the
  listeners get ``None`` and :meth:`Session.refresh` raises :class:`SessionExpiredError`.
  A network failure keeps the session and is retried shortly.
* Tokens are kept in memory only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from webtrader_client.errors import ApiError, ClientError, SessionExpiredError, UnauthorizedError
from webtrader_client.models import TokenReply

log = logging.getLogger("webtrader_client.session")

REFRESH_AT = 0.8
"""Fraction of the access token's life after which it is refreshed."""
MIN_LEAD = 5.0
"""Refresh at least this many seconds before the access token expires."""
RETRY_AFTER_FAILURE = 5.0
"""Seconds before retrying a refresh that met a network failure (or half the time left)."""

TokenListener = Callable[[str | None], None]
"""Called with each new access token, and ``None`` when the session ends."""
Poster = Callable[[str, dict[str, str], bool], Awaitable[TokenReply]]
"""``post(path, fields, as_json)``: one unauthenticated token request (raises ApiError)."""


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT in seconds since the epoch (unverified: scheduling only)."""
    try:
        payload = token.split(".")[1]
        claims = msgspec.json.decode(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, msgspec.DecodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens held, with when the access token was issued and expires (epoch s)."""

    access_token: str
    refresh_token: str | None
    issued_at: float
    expires_at: float | None
    username: str

    def refresh_delay(self, now: float) -> float | None:
        """Seconds from ``now`` until the access token should be refreshed (``None``: never).

        At 80 % of its life, and at least :data:`MIN_LEAD` seconds before it expires.
        """
        if self.expires_at is None:
            return None
        life = self.expires_at - self.issued_at
        at = min(self.issued_at + life * REFRESH_AT, self.expires_at - MIN_LEAD)
        return max(0.0, at - now)


def tokens_from(reply: TokenReply, username: str, now: float, previous: Tokens | None) -> Tokens:
    """The tokens of a login or refresh answer (a refresh may omit the refresh token)."""
    expires = now + reply.expires_in if reply.expires_in is not None else None
    return Tokens(
        access_token=reply.access_token,
        refresh_token=reply.refresh_token or (previous.refresh_token if previous else None),
        issued_at=now,
        expires_at=expires if expires is not None else jwt_expiry(reply.access_token),
        username=username,
    )


class Session:
    """Holds the tokens and keeps the access token fresh (see the module's contract)."""

    def __init__(self, post: Poster, clock: Callable[[], float] = time.time) -> None:
        self._post = post
        self._clock = clock
        self.tokens: Tokens | None = None
        self._listeners: list[TokenListener] = []
        self._timer: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Future[str] | None = None

    @property
    def access_token(self) -> str | None:
        """The current access token, or ``None`` when logged out."""
        return self.tokens.access_token if self.tokens else None

    def add_listener(self, listener: TokenListener) -> Callable[[], None]:
        """Call ``listener`` on every new token (``None``: session over); returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def login(self, username: str, password: str, *, as_json: bool = False) -> Tokens:
        """``POST /token`` with the password form (or JSON); starts the refresh timer.

        Raises:
            UnauthorizedError: wrong login.
            TooManyRequestsError: too many failed logins (``retry_after``).
            ConnectionFailedError: no answer.
        """
        reply = await self._post("token", {"username": username, "password": password}, as_json)
        return self._accept(reply, username)

    async def refresh(self) -> str:
        """A new access token from the refresh token; concurrent callers share one request.

        Raises:
            SessionExpiredError: no refresh token, or the gateway refused it (the session ends).
            ConnectionFailedError: no answer (the session is kept; retried by the timer).
        """
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._do_refresh())
            self._refreshing.add_done_callback(self._refresh_done)
        return await asyncio.shield(self._refreshing)

    def _refresh_done(self, future: asyncio.Future[str]) -> None:
        self._refreshing = None
        if not future.cancelled():
            future.exception()  # retrieved: a refresh nobody awaited must not warn

    async def _do_refresh(self) -> str:
        tokens = self.tokens
        if tokens is None or tokens.refresh_token is None:
            self.end("no refresh token: log in again")
            raise SessionExpiredError(401, "session expired: log in again")
        try:
            reply = await self._post("token/refresh", {"refresh_token": tokens.refresh_token}, True)
        except ApiError as exc:
            if exc.status < 500:  # noqa: PLR2004 - a refusal, not a hiccup
                self.end(exc.detail)
                raise SessionExpiredError(exc.status, exc.detail, exc.field, exc.body) from exc
            self._schedule(self._retry_delay())
            raise
        except ClientError:
            self._schedule(self._retry_delay())
            raise
        return self._accept(reply, tokens.username).access_token

    def logout(self) -> None:
        """Forget the tokens (no request is made); listeners get ``None``."""
        self.end("logged out")

    def end(self, reason: str) -> None:
        """End the session: stop the timer, forget the tokens, tell the listeners."""
        if self.tokens is not None:
            log.info("session ended: %s", reason)
        self.tokens = None
        self._cancel_timer()
        for listener in list(self._listeners):
            listener(None)

    async def aclose(self) -> None:
        """Stop the refresh timer (the tokens are kept)."""
        self._cancel_timer()

    def require(self) -> str:
        """The access token.

        Raises:
            UnauthorizedError: not logged in.
        """
        if self.tokens is None:
            raise UnauthorizedError(401, "not logged in")
        return self.tokens.access_token

    # --- internals -----------------------------------------------------------------------

    def _accept(self, reply: TokenReply, username: str) -> Tokens:
        self.tokens = tokens_from(reply, username, self._clock(), self.tokens)
        delay = self.tokens.refresh_delay(self._clock())
        if delay is not None:
            self._schedule(delay)
        for listener in list(self._listeners):
            listener(self.tokens.access_token)
        return self.tokens

    def _retry_delay(self) -> float:
        tokens = self.tokens
        left = (tokens.expires_at - self._clock()) if tokens and tokens.expires_at else None
        return RETRY_AFTER_FAILURE if left is None else max(0.5, min(RETRY_AFTER_FAILURE, left / 2))

    def _schedule(self, delay: float) -> None:
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().create_task(self._refresh_later(delay))

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _refresh_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        tokens = self.tokens
        if tokens is not None and tokens.refresh_token is None:
            self.end("access token expired")
            return
        with contextlib.suppress(ClientError):  # ended, or rescheduled by _do_refresh
            await self.refresh()


__all__ = ["Session", "TokenListener", "Tokens", "jwt_expiry", "tokens_from"]
