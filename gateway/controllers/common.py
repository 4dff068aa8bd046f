"""Pieces every resource controller shares: engine selection, filters, pass-through replies.

``engine`` is a dependency: the default engine on vnpy_webtrader's routes, the path's
``{engine_id}`` (resolved by the engine directory, 404 if unknown) under ``/engines/``.
It is also where REST authorization happens, in one place: an engine outside the user's
list is 403 *before* the engine is looked up, so a user cannot learn which engines exist
beyond their own (an unknown engine is 404 only for a user allowed every engine).  Routes
that trade add the :func:`trader_guard` (403 for a viewer); ``connect`` the
:func:`admin_guard` (403 for anyone but an admin).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Annotated, Any, TypeVar

from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import Reference, Schema
from litestar.params import Parameter
from litestar.typing import FieldDefinition

from gateway.access import Principal, Role
from gateway.engine_client import Reply
from gateway.engines import EngineDirectory
from gateway.errors import NotAuthenticatedError, PermissionDeniedError
from schemas.codec import convert, decode, encode
from schemas.errors import BadRequestError
from schemas.requests import Query
from schemas.streams import STREAM_SEQ_HEADER

T = TypeVar("T")

MAX_LIMIT = 100_000

Limit = Annotated[
    int | None,
    Parameter(ge=1, le=MAX_LIMIT, description=f"keep the newest N items (1..{MAX_LIMIT})"),
]
VtSymbolFilter = Annotated[
    str | None, Parameter(description="keep one contract, e.g. `rb2601.SHFE`")
]
ActiveFilter = Annotated[bool | None, Parameter(description="`true`: active orders only")]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated principal (set by the bearer-token middleware)."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthenticatedError("missing access token")
    return user


def check_engine_access(principal: Principal, engine_id: str) -> str:
    """Return ``engine_id`` if ``principal`` may use it.

    Raises:
        PermissionDeniedError: it is not in the user's engines (403 naming it).
    """
    if not principal.may_use(engine_id):
        raise PermissionDeniedError(
            f"user {principal.username!r} may not use engine {engine_id!r}", "engine_id"
        )
    return engine_id


async def whole_number_limit(request: Request[Any, Any, Any]) -> None:
    """Refuse a ``limit`` that is not a whole number (400 naming ``limit``).

    Litestar would read ``limit=1.0`` as 1, but the documented type is an integer, and the
    OpenAPI conformance run (schemathesis) treats accepting it as a bug.
    """
    raw = request.query_params.get("limit")
    if raw is not None and not (raw.isascii() and raw.isdigit()):
        raise BadRequestError(f"limit must be a whole number, not {raw[:20]!r}", field="limit")


def default_engine(engines: EngineDirectory, request: Request[Any, Any, Any]) -> str:
    """The engine behind vnpy_webtrader's routes, if the user may use it (else 403)."""
    return check_engine_access(principal_of(request), engines.default_engine)


async def path_engine(
    engine_id: str, engines: EngineDirectory, request: Request[Any, Any, Any]
) -> str:
    """The ``{engine_id}`` of an ``/engines/{engine_id}/...`` path.

    403 if the user may not use it (checked first), 404 if no such engine is known.
    """
    check_engine_access(principal_of(request), engine_id)
    return await engines.resolve(engine_id)


async def trader_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the routes that submit or cancel orders: the role must allow trading.

    ``async`` on purpose: Litestar runs a plain ``def`` guard in a worker thread, which cost
    a quarter of the gateway's CPU per order (docs/performance.md, profile notes).

    Raises:
        PermissionDeniedError: a viewer (403); the engine itself is checked by ``engine``.
    """
    principal = principal_of(connection)
    if not principal.role.may_trade:
        raise PermissionDeniedError(
            f"user {principal.username!r} has role {principal.role.value!r}, which may not "
            "submit or cancel orders"
        )


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the routes that carry venue credentials (``connect``): administrators only.

    Raises:
        PermissionDeniedError: any role but ``admin`` (403).
    """
    principal = principal_of(connection)
    if principal.role is not Role.ADMIN:
        raise PermissionDeniedError(
            f"user {principal.username!r} has role {principal.role.value!r}; only an admin "
            "may connect a venue gateway"
        )


def query_payload(
    vt_symbol: str | None = None, active: bool | None = None, limit: int | None = None
) -> bytes:
    """The request body of a list op: empty without filters, else a ``Query``."""
    if vt_symbol is None and not active and limit is None:
        return b""
    return encode(Query(vt_symbol=vt_symbol, active=bool(active), limit=limit))


def passthrough(content: bytes, status_code: int = 200) -> Response[Any]:
    """A JSON response whose body is ``content`` exactly as the engine encoded it."""
    return Response(content, status_code=status_code, media_type=MediaType.JSON)


def forward(reply: Reply, status_code: int = 200) -> Response[Any]:
    """The engine's reply as the response: its bytes, and its ``Wt-Stream-Seq`` if any."""
    response: Response[Any] = passthrough(reply.data, status_code)
    seq = reply.headers.get(STREAM_SEQ_HEADER)
    if seq is not None:
        response.headers[STREAM_SEQ_HEADER] = seq
    return response


STREAM_SEQ = [
    ResponseHeader(
        name=STREAM_SEQ_HEADER,
        description="The engine's events-stream sequence this answer includes: resume "
        "`/stream` from it (`resume_from`) to get every later change, without a gap",
        documentation_only=True,
        required=False,
    )
]
"""OpenAPI: the ``Wt-Stream-Seq`` header of state queries."""


class CodecDTO(AbstractDTO[T]):
    """Decodes a JSON request body with :func:`schemas.codec.decode` — one typed decode.

    Errors are :class:`~schemas.errors.BadRequestError` naming the field (400).  For the
    OpenAPI document the body is described as the model type itself.  Use as
    ``dto=CodecDTO[OrderRequest], return_dto=None``.
    """

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        """Not used: this DTO has no transfer model."""
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        """Not used: this DTO has no transfer model."""
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """Nothing to build: decoding is :func:`schemas.codec.decode`."""

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        """The model type's own schema."""
        result: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(cls.model_type)
        )
        return result

    def decode_bytes(self, value: bytes) -> Any:
        """Decode the raw body as the model type (400 naming the field on failure)."""
        return decode(value, self.model_type)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        """Validate already-parsed (form) data as the model type."""
        return convert(value, self.model_type)
