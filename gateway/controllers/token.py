"""``POST /token`` (log in) and ``POST /token/refresh`` (a new access token).

Login accepts the OAuth2 password form (``application/x-www-form-urlencoded`` or multipart,
fields ``username`` and ``password``, as FastAPI's ``OAuth2PasswordRequestForm``) and a
JSON object ``{"username": ..., "password": ...}``.  The answer keeps vnpy_webtrader's
``access_token``/``token_type`` and adds ``refresh_token`` and ``expires_in``.  Failed
logins are rate limited per user name and client address (429 with ``Retry-After``).

Refresh takes ``{"refresh_token": ...}`` (JSON or form) and answers the same shape, with
the role and engines read again from the users file: a removed user, or one whose password
changed, must log in again.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Controller, Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from gateway.auth import AuthError, issue_refresh_token, issue_token, verify_refresh_token
from gateway.auth_middleware import EXCLUDE_OPT_KEY
from gateway.errors import (
    NotAuthenticatedError,
    TooManyRequestsError,
    document_retry_after,
    error_responses,
)
from gateway.ratelimit import LoginLimiter
from gateway.settings import GatewaySettings
from gateway.users import User, UserStore, fingerprint
from schemas.codec import convert, decode

log = logging.getLogger("gateway.login")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
T = TypeVar("T")


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """Credentials, from the form or the JSON body."""

    username: str
    password: str


class Refresh(msgspec.Struct, frozen=True, kw_only=True):
    """A refresh request, from the form or the JSON body."""

    refresh_token: str


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The tokens, as OAuth2 (and, for the first two fields, vnpy_webtrader) return them."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    """Seconds the access token is valid."""
    refresh_token: str
    """For ``POST /token/refresh``; never accepted as an access token."""


def _body_schema(**fields: Schema) -> Schema:
    return Schema(type=OpenAPIType.OBJECT, required=list(fields), properties=dict(fields))


_LOGIN_SCHEMA = _body_schema(
    username=Schema(type=OpenAPIType.STRING),
    password=Schema(type=OpenAPIType.STRING, format="password"),  # type: ignore[arg-type]
)
_REFRESH_SCHEMA = _body_schema(refresh_token=Schema(type=OpenAPIType.STRING))


def _request_body(schema: Schema) -> RequestBody:
    return RequestBody(
        required=True,
        content={
            media: OpenAPIMediaType(schema=schema) for media in (FORM_TYPES[0], "application/json")
        },
    )


@dataclass
class _LoginOperation(Operation):
    """Documents the body (parsed by the handler: form or JSON) and 429's ``Retry-After``."""

    def __post_init__(self) -> None:
        self.request_body = _request_body(_LOGIN_SCHEMA)
        document_retry_after(self.responses)


@dataclass
class _RefreshOperation(Operation):
    """Documents the body (parsed by the handler: form or JSON)."""

    def __post_init__(self) -> None:
        self.request_body = _request_body(_REFRESH_SCHEMA)


async def read_body(request: Request[Any, Any, Any], model: type[T]) -> T:
    """The form or JSON body as ``model``.

    Raises:
        BadRequestError: not JSON, or a field missing or not a string (``field`` names it).
    """
    if request.content_type[0] in FORM_TYPES:
        form = await request.form()
        return convert({key: form.get(key) for key in form}, model)
    return decode(await request.body(), model)


def client_address(request: Request[Any, Any, Any]) -> str:
    """The peer address as the ASGI server reports it."""
    return request.client.host if request.client else "unknown"


def tokens(
    settings: GatewaySettings, username: str, user: User, session_end: int | None = None
) -> TokenResponse:
    """An access token with the user's current role and engines, and a refresh token."""
    return TokenResponse(
        access_token=issue_token(settings, username, user.role, user.engines),
        expires_in=int(settings.token_ttl),
        refresh_token=issue_refresh_token(settings, username, fingerprint(user), session_end),
    )


class TokenController(Controller):
    """Log in and refresh: the only routes that need no access token."""

    path = "/token"
    tags = ("auth",)

    @post(
        status_code=200,
        opt={EXCLUDE_OPT_KEY: True},
        operation_class=_LoginOperation,
        responses=error_responses(400, 401, 413, 429),
        summary="Log in",
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        settings: GatewaySettings,
        users: UserStore,
        login_limiter: LoginLimiter,
    ) -> TokenResponse:
        """Exchange username and password for tokens (401 if wrong, 429 if too many tries)."""
        login = await read_body(request, Login)
        address = client_address(request)
        attempt, wait = login_limiter.begin(login.username, address)
        if attempt is None:
            raise TooManyRequestsError("too many failed logins: try again later", wait)
        user = await users.authenticate(login.username, login.password)
        if user is None:
            log.warning("failed login for %r from %s", login.username[:64], address)
            raise NotAuthenticatedError("incorrect username or password")
        login_limiter.succeeded(attempt)
        return tokens(settings, login.username, user)

    @post(
        "/refresh",
        status_code=200,
        opt={EXCLUDE_OPT_KEY: True},
        operation_class=_RefreshOperation,
        responses=error_responses(400, 401, 413),
        summary="Refresh the access token",
    )
    async def refresh(
        self, request: Request[Any, Any, Any], settings: GatewaySettings, users: UserStore
    ) -> TokenResponse:
        """New tokens for a valid refresh token, with the user's current role and engines.

        401 if the refresh token is invalid or expired, the user was removed, or their
        password changed since it was issued.  The session's end does not move.
        """
        body = await read_body(request, Refresh)
        try:
            grant = verify_refresh_token(settings, body.refresh_token)
        except AuthError as exc:
            raise NotAuthenticatedError(str(exc)) from None
        user = await users.lookup(grant.username)
        if user is None or not hmac.compare_digest(fingerprint(user), grant.fingerprint):
            raise NotAuthenticatedError("the session is no longer valid: log in again")
        return tokens(settings, grant.username, user, grant.expires_at)
