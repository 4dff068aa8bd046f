"""Bearer-token authentication for every HTTP route, secure by default.

Every HTTP request must carry ``Authorization: Bearer <token>`` verified by
:func:`gateway.auth.verify_token`; failures are 401 with an ErrorBody and a
``WWW-Authenticate: Bearer`` challenge.  Exempt: handlers with ``opt`` key
``exclude_from_auth`` (``POST /token``) and the OpenAPI pages under ``/schema``.
WebSocket routes are not touched here; they authenticate their own handshake.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.openapi.spec import SecurityRequirement, SecurityScheme
from litestar.types import ASGIApp

from gateway.access import Principal
from gateway.auth import AuthError, bearer_token, verify_token
from gateway.errors import NotAuthenticatedError
from gateway.settings import GatewaySettings

EXCLUDE_OPT_KEY = "exclude_from_auth"
"""Set ``opt={EXCLUDE_OPT_KEY: True}`` on a handler that must work without a token."""
OPENAPI_PATHS = r"^/schema(/|$)"

SECURITY_SCHEME_NAME = "BearerToken"
SECURITY_SCHEME = SecurityScheme(
    type="http",
    scheme="bearer",
    bearer_format="JWT",
    description="Access token from `POST /token`, sent as `Authorization: Bearer <token>`.",
)
SECURITY: list[SecurityRequirement] = [{SECURITY_SCHEME_NAME: []}]
"""The OpenAPI security requirement of every protected route."""


TOKEN_CACHE_SIZE = 4096
"""Most verified access tokens remembered (the cache is emptied when full)."""


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Verifies the bearer token; puts the Principal in ``request.user``.

    A token verified once is remembered until it expires (at most ``TOKEN_CACHE_SIZE``), so
    a client's requests after the first skip the signature check and claim parsing.  Only
    valid tokens are cached, keyed by the whole token string; an expired entry is refused
    and dropped, exactly as verification would refuse it.
    """

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        super().__init__(
            app,
            exclude=OPENAPI_PATHS,
            exclude_from_auth_key=EXCLUDE_OPT_KEY,
            scopes={ScopeType.HTTP},
        )
        self._settings = settings
        self._verified: dict[str, Principal] = {}

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Return the principal of a valid token.

        Raises:
            NotAuthenticatedError: missing, malformed, forged or expired token (401).
        """
        token = bearer_token(connection.headers.get("authorization"))
        principal = self._verified.get(token)
        if principal is not None and principal.expires_at > time.time():
            return AuthenticationResult(user=principal, auth=token)
        self._verified.pop(token, None)
        try:
            principal = verify_token(self._settings, token)
        except AuthError as exc:
            raise NotAuthenticatedError(str(exc)) from None
        if len(self._verified) >= TOKEN_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = principal
        return AuthenticationResult(user=principal, auth=token)


def auth_middleware(settings: GatewaySettings) -> DefineMiddleware:
    """The app's authentication middleware, bound to ``settings``."""
    return DefineMiddleware(BearerAuthMiddleware, settings=settings)
