"""Tokens: issue on login, verify on every request and WebSocket handshake, refresh.

Two kinds, never interchangeable:

* **access token** — ``aud`` ``webtrader-gateway``; claims ``sub, iss, aud, iat, exp, jti,
  role, engines`` (all required).  Short-lived (``settings.token_ttl``).
* **refresh token** — ``aud`` ``webtrader-refresh`` and ``typ`` ``refresh``; claims ``sub,
  iss, aud, iat, exp, jti, typ, pwd`` (``pwd``: fingerprint of the password hash, so a
  password change voids it).  No role or engines: a refresh re-reads them from the users
  file, so a removed user cannot refresh and a narrowed one gets the narrower token.

Both are signed with ``settings.token_keys``; verification accepts only its algorithm, so
a token with another algorithm (``none`` included), a bad signature, expired, or for
another audience is refused.  Verification is pure CPU (no I/O).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.access import ALL_ENGINES, Principal, Role
from gateway.keys import sign
from gateway.settings import GatewaySettings

ISSUER = "nats-webtrader"
AUDIENCE = "webtrader-gateway"
REFRESH_AUDIENCE = "webtrader-refresh"
REFRESH_TYPE = "refresh"
_ACCESS_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti", "role", "engines"]
_REFRESH_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti", "typ", "pwd"]


class AuthError(Exception):
    """The credentials or token are not acceptable; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """What a verified refresh token says."""

    username: str
    fingerprint: str
    """The password-hash fingerprint the token was issued under."""
    expires_at: int


def issue_token(
    settings: GatewaySettings,
    username: str,
    role: Role = Role.ADMIN,
    engines: Iterable[str] = (ALL_ENGINES,),
    now: float | None = None,
) -> str:
    """A signed access token for ``username``, valid for ``settings.token_ttl`` seconds.

    Claims: ``sub``, ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``role`` (a :class:`Role`
    value) and ``engines`` (list of engine ids, ``"*"`` for all).
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": username,
        "role": str(role),
        "engines": sorted(engines),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + int(settings.token_ttl),
        "jti": uuid.uuid4().hex,
    }
    return sign(settings.token_keys, claims)


def issue_refresh_token(
    settings: GatewaySettings,
    username: str,
    fingerprint: str,
    expires_at: int | None = None,
    now: float | None = None,
) -> str:
    """A refresh token for ``username``, bound to its password-hash ``fingerprint``.

    It expires ``settings.refresh_ttl`` after ``now``, or at ``expires_at`` (kept across
    refreshes, so a session never outlives its login).
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": username,
        "typ": REFRESH_TYPE,
        "pwd": fingerprint,
        "iss": ISSUER,
        "aud": REFRESH_AUDIENCE,
        "iat": issued,
        "exp": expires_at if expires_at is not None else issued + int(settings.refresh_ttl),
        "jti": uuid.uuid4().hex,
    }
    return sign(settings.token_keys, claims)


def _decode(
    settings: GatewaySettings, token: str, audience: str, required: list[str], kind: str
) -> dict[str, Any]:
    if not token:
        raise AuthError(f"missing {kind} token")
    keys = settings.token_keys
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            keys.verifying_key,
            algorithms=[keys.algorithm],
            audience=audience,
            issuer=ISSUER,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError(f"{kind} token expired") from None
    except jwt.InvalidTokenError:
        raise AuthError(f"invalid {kind} token") from None
    return claims


def verify_token(settings: GatewaySettings, token: str) -> Principal:
    """Verify an access token and return its principal.

    Raises:
        AuthError: missing, malformed, forged, expired, for another audience (a refresh
            token included).
    """
    claims = _decode(settings, token, AUDIENCE, _ACCESS_CLAIMS, "access")
    engines = claims["engines"]
    try:
        role = Role(claims["role"])
    except (ValueError, TypeError):
        raise AuthError("invalid access token") from None
    if (
        not isinstance(engines, list)
        or not all(isinstance(e, str) for e in engines)
        or claims.get("typ") == REFRESH_TYPE
    ):
        raise AuthError("invalid access token")
    return Principal(
        username=str(claims["sub"]),
        role=role,
        engines=frozenset(engines),
        expires_at=float(claims["exp"]),
        token_id=str(claims["jti"]),
    )


def verify_refresh_token(settings: GatewaySettings, token: str) -> RefreshGrant:
    """Verify a refresh token (signature, expiry, audience, ``typ``).

    Raises:
        AuthError: not a valid, unexpired refresh token of this gateway (an access token
            included).
    """
    claims = _decode(settings, token, REFRESH_AUDIENCE, _REFRESH_CLAIMS, "refresh")
    if claims["typ"] != REFRESH_TYPE or not isinstance(claims["pwd"], str):
        raise AuthError("invalid refresh token")
    return RefreshGrant(
        username=str(claims["sub"]),
        fingerprint=claims["pwd"],
        expires_at=int(claims["exp"]),
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' if absent)."""
    if not authorization:
        return ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
