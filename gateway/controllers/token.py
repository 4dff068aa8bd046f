"""``POST /token``: log in, get an access token (vnpy_webtrader's OAuth2 password flow).

Accepts the OAuth2 password form (``application/x-www-form-urlencoded`` or multipart,
fields ``username`` and ``password``, as FastAPI's ``OAuth2PasswordRequestForm``) and a
JSON object ``{"username": ..., "password": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from gateway.auth import check_password, issue_token
from gateway.auth_middleware import EXCLUDE_OPT_KEY
from gateway.errors import NotAuthenticatedError, error_responses
from gateway.settings import GatewaySettings
from schemas.codec import convert, decode

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """Credentials, from the form or the JSON body."""

    username: str
    password: str


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The access token, as OAuth2 (and vnpy_webtrader) return it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type


_LOGIN_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["username", "password"],
    properties={
        "username": Schema(type=OpenAPIType.STRING),
        "password": Schema(type=OpenAPIType.STRING, format="password"),  # type: ignore[arg-type]
    },
)


@dataclass
class _LoginOperation(Operation):
    """Documents the request body, which the handler parses itself (form or JSON)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                media: OpenAPIMediaType(schema=_LOGIN_SCHEMA)
                for media in (FORM_TYPES[0], "application/json")
            },
        )


async def read_login(request: Request[Any, Any, Any]) -> Login:
    """The credentials of a form or JSON body.

    Raises:
        BadRequestError: not JSON, or a field missing or not a string (``field`` names it).
    """
    media_type = request.content_type[0]
    if media_type in FORM_TYPES:
        form = await request.form()
        return convert({key: form.get(key) for key in form}, Login)
    return decode(await request.body(), Login)


class TokenController(Controller):
    """The login endpoint; the only route that needs no token."""

    path = "/token"
    tags = ("auth",)

    @post(
        status_code=200,
        opt={EXCLUDE_OPT_KEY: True},
        operation_class=_LoginOperation,
        responses=error_responses(400, 401),
        summary="Log in",
    )
    async def login(
        self, request: Request[Any, Any, Any], settings: GatewaySettings
    ) -> TokenResponse:
        """Exchange username and password for a bearer access token (401 if wrong)."""
        login = await read_login(request)
        if not check_password(settings, login.username, login.password):
            raise NotAuthenticatedError("incorrect username or password")
        return TokenResponse(access_token=issue_token(settings, login.username))
