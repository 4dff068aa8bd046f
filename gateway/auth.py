"""Access tokens: issue on login, verify on every request and WebSocket handshake.

HS256 only; a token signed with any other algorithm (``none`` included), with a bad
signature, expired, or missing its claims is refused.  Verification is pure CPU (no I/O).
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass

import jwt

from gateway.settings import GatewaySettings

ALGORITHM = "HS256"
ISSUER = "nats-webtrader"
AUDIENCE = "webtrader-gateway"


class AuthError(Exception):
    """The credentials or token are not acceptable; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    username: str
    expires_at: float


def check_password(settings: GatewaySettings, username: str, password: str) -> bool:
    """Constant-time check of a login against the configured one."""
    user_ok = hmac.compare_digest(username.encode(), settings.username.encode())
    pass_ok = hmac.compare_digest(password.encode(), settings.password.encode())
    return user_ok and pass_ok


def issue_token(settings: GatewaySettings, username: str, now: float | None = None) -> str:
    """A signed access token for ``username``, valid for ``settings.token_ttl`` seconds."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": username,
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
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("access token expired") from None
    except jwt.InvalidTokenError:
        raise AuthError("invalid access token") from None
    return Principal(username=str(claims["sub"]), expires_at=float(claims["exp"]))


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' if absent)."""
    if not authorization:
        return ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
