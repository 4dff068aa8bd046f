"""Access tokens: issue on login, verify on every request and WebSocket handshake.

HS256 only; a token signed with any other algorithm (``none`` included), with a bad
signature, expired, or missing its claims is refused.  Verification is pure CPU (no I/O).
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Iterable

import jwt

from gateway.access import ALL_ENGINES, Principal, Role
from gateway.settings import GatewaySettings

ALGORITHM = "HS256"
ISSUER = "nats-webtrader"
AUDIENCE = "webtrader-gateway"


class AuthError(Exception):
    """The credentials or token are not acceptable; the message is safe to show."""


def check_password(settings: GatewaySettings, username: str, password: str) -> bool:
    """Constant-time check of a login against the configured one."""
    user_ok = hmac.compare_digest(username.encode(), settings.username.encode())
    pass_ok = hmac.compare_digest(password.encode(), settings.password.encode())
    return user_ok and pass_ok


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
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def verify_token(settings: GatewaySettings, token: str) -> Principal:
    """Verify ``token`` and return its principal.

    Raises:
        AuthError: missing, malformed, forged, expired, or for another audience.
    """
    if not token:
        raise AuthError("missing access token")
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss", "aud", "jti", "role", "engines"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("access token expired") from None
    except jwt.InvalidTokenError:
        raise AuthError("invalid access token") from None
    engines = claims["engines"]
    try:
        role = Role(claims["role"])
    except (ValueError, TypeError):
        raise AuthError("invalid access token") from None
    if not isinstance(engines, list) or not all(isinstance(e, str) for e in engines):
        raise AuthError("invalid access token")
    return Principal(
        username=str(claims["sub"]),
        role=role,
        engines=frozenset(engines),
        expires_at=float(claims["exp"]),
        token_id=str(claims["jti"]),
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' if absent)."""
    if not authorization:
        return ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
