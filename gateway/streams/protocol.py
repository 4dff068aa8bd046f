"""The ``/stream`` protocol: client operations, server frames, subscription resolution.

Documented for users in ``docs/websocket.md``.  Client frames are small and rare, so they
are parsed and validated strictly here; event frames are never built here (the session
splices them from NATS payload bytes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from schemas.codec import encode
from schemas.errors import error_from_validation
from schemas.objects import split_vt_symbol
from schemas.requests import SubscribeRequest
from schemas.subjects import (
    SYMBOL_KINDS,
    EventKind,
    check_engine_id,
    events_pattern,
    symbol_pattern,
)

PROTOCOL_VERSION = 1
ALL_ENGINES = "*"
UNAUTHORIZED = 401
"""Error code: the token of a ``refresh`` is not acceptable."""
FORBIDDEN = 403
"""Error code: the user may not use that engine (or the token is another user's)."""

RequestId = str | int | None
"""The client's ``id``, echoed in the reply."""
Seq = Annotated[int, msgspec.Meta(ge=0)]
"""A stream sequence (0: before the first event)."""


class ProtocolError(Exception):
    """A client frame that cannot be served; becomes an ``error`` frame (socket stays open)."""

    def __init__(
        self,
        rid: RequestId,
        detail: str,
        field: str | None = None,
        code: int = 400,
        sub: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.rid, self.detail, self.field, self.code, self.sub = rid, detail, field, code, sub

    def frame(self) -> bytes:
        """The ``error`` frame for this error."""
        error = ErrorFrame(
            id=self.rid, detail=self.detail, field=self.field, code=self.code, sub=self.sub
        )
        return encode(error)


# --- client -> server -------------------------------------------------------------------


class SubscribeOp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{"op":"subscribe","id":"1","engine":"sim","topic":"tick.SHFE.>"}``.

    Or the sugar ``{"op":"subscribe","kind":"tick","vt_symbol":"rb2601.SHFE"}``.
    """

    op: Literal["subscribe"]
    id: RequestId = None
    engine: str | None = None
    topic: str | None = None
    kind: EventKind | None = None
    vt_symbol: str | None = None
    snapshot: bool = False
    """Durable kinds: first the current state (last event of each subject), then live."""
    resume_from: Seq | dict[str, Seq] | None = None
    """Durable kinds: every event after this stream sequence, then live (per engine for
    ``engine: "*"``: ``{"sim": 41}``)."""


class UnsubscribeOp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{"op":"unsubscribe","id":"3","sub":"s1"}``."""

    op: Literal["unsubscribe"]
    sub: str
    id: RequestId = None


class PingOp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{"op":"ping","id":"4"}``."""

    op: Literal["ping"]
    id: RequestId = None


class RefreshOp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{"op":"refresh","id":"5","token":"<new access token>"}``: extend the session."""

    op: Literal["refresh"]
    token: str
    id: RequestId = None

    def __repr__(self) -> str:
        return f"RefreshOp(id={self.id!r}, token=<redacted>)"


ClientOp = SubscribeOp | UnsubscribeOp | PingOp | RefreshOp
_OPS: dict[str, type[ClientOp]] = {
    "subscribe": SubscribeOp,
    "unsubscribe": UnsubscribeOp,
    "ping": PingOp,
    "refresh": RefreshOp,
}
_UNKNOWN_FIELD = "Object contains unknown field `"


def parse_op(raw: str | bytes) -> ClientOp:
    """Decode and validate one client frame.

    Raises:
        ProtocolError: not JSON, not an object, unknown ``op``, or a bad field (named).
    """
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProtocolError(None, f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(None, "expected a JSON object")
    rid = obj.get("id")
    if not isinstance(rid, str | int | None) or isinstance(rid, bool):
        raise ProtocolError(None, "id must be a string or a number", "id")
    op = obj.get("op")
    cls = _OPS.get(op) if isinstance(op, str) else None
    if cls is None:
        raise ProtocolError(rid, f"unknown op {op!r}; expected one of {', '.join(_OPS)}", "op")
    try:
        return msgspec.convert(obj, cls)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.startswith(_UNKNOWN_FIELD):
            raise ProtocolError(rid, text, text.split("`")[1]) from None
        err = error_from_validation(exc)
        raise ProtocolError(rid, err.detail, err.field) from None


def resolve_subscription(
    op: SubscribeOp, default_engine: str
) -> tuple[str, str, SubscribeRequest | None]:
    """``(engine, NATS pattern, market data request)`` for a subscribe operation.

    The request is set for the tick sugar (``kind`` ``tick`` with a ``vt_symbol``): the
    engine must then also be asked to subscribe that contract's market data.

    Raises:
        ProtocolError: a field is invalid or the combination makes no sense (named).
    """
    rid = op.id
    engine = op.engine or default_engine
    if engine != ALL_ENGINES:
        try:
            check_engine_id(engine)
        except ValueError as exc:
            raise ProtocolError(rid, str(exc), "engine") from None
    if op.topic is not None:
        if op.kind is not None or op.vt_symbol is not None:
            field = "kind" if op.kind is not None else "vt_symbol"
            raise ProtocolError(rid, f"give either topic or {field}, not both", field)
        try:
            return engine, events_pattern(engine, op.topic), None
        except ValueError as exc:
            raise ProtocolError(rid, str(exc), "topic") from None
    kind = op.kind
    if kind is None:
        raise ProtocolError(rid, 'give a topic (e.g. "tick.SHFE.>") or a kind', "topic")
    if op.vt_symbol is None:
        topic = (
            f"{kind.value}.>" if kind in SYMBOL_KINDS or kind is EventKind.ACCOUNT else kind.value
        )
        return engine, events_pattern(engine, topic), None
    if kind not in SYMBOL_KINDS:
        raise ProtocolError(rid, f"{kind.value} events have no vt_symbol", "vt_symbol")
    try:
        symbol, exchange = split_vt_symbol(op.vt_symbol)
    except ValueError as exc:
        raise ProtocolError(rid, str(exc), "vt_symbol") from None
    pattern = symbol_pattern(engine, kind, symbol, exchange)
    if kind is not EventKind.TICK:
        return engine, pattern, None
    if engine == ALL_ENGINES:
        raise ProtocolError(rid, "a market data subscription needs one engine, not '*'", "engine")
    return engine, pattern, SubscribeRequest(symbol=symbol, exchange=exchange)


# --- server -> client -------------------------------------------------------------------


class Welcome(msgspec.Struct, kw_only=True, tag_field="type", tag="welcome"):
    """First frame of every session."""

    protocol: int
    session: str
    user: str
    engine: str
    """The default engine (used when a subscribe names none)."""
    heartbeat: float
    """Seconds between ``heartbeat`` frames (0: none)."""
    idle_timeout: float
    """Seconds of client silence before the server closes with 4408 (0: never)."""
    queue_limit: int
    """Non-tick events that may wait for the client before it is closed with 1013."""
    batch_max: int
    """Most events in one ``events`` frame."""
    engines: dict[str, str] = msgspec.field(default_factory=dict)
    """Known engines the user may use and their status (``up``/``down``) at connection time."""
    expires: datetime | None = None
    """When the access token expires: the session is closed (1008) then unless refreshed."""


class Ack(msgspec.Struct, kw_only=True, tag_field="type", tag="ack", omit_defaults=True):
    """A subscribe or unsubscribe took effect."""

    id: RequestId
    op: str
    sub: str
    subject: str
    engine: str
    seq: int | None = None
    """Durable subscriptions of one engine: events after this stream sequence follow
    (absent when unknown: a snapshot, or ``engine: "*"``)."""
    engines: list[str] | None = None
    """``engine: "*"`` of a user limited to some engines: the engines it delivers from."""


class RefreshAck(msgspec.Struct, kw_only=True, tag_field="type", tag="ack"):
    """A ``refresh`` took effect: the session now ends at ``expires``."""

    id: RequestId
    op: Literal["refresh"]
    user: str
    expires: datetime
    dropped: list[str]
    """Subscriptions ended because the new token no longer allows them (each also got an
    ``error`` 403 naming it in ``sub``)."""


class SnapshotEnd(msgspec.Struct, kw_only=True, tag_field="type", tag="snapshot_end"):
    """A ``snapshot`` subscription delivered the current state of one engine; live follows."""

    sub: str
    engine: str
    seq: int
    """Stream sequence the snapshot is complete up to (resume from it)."""


class EngineFrame(msgspec.Struct, kw_only=True, tag_field="type", tag="engine"):
    """An engine went up or down."""

    engine_id: str
    status: Literal["up", "down"]
    reason: str


class NatsFrame(msgspec.Struct, kw_only=True, tag_field="type", tag="nats"):
    """The gateway lost or regained its NATS connection (the WebSocket stays open)."""

    status: Literal["disconnected", "reconnected"]


class ErrorFrame(msgspec.Struct, kw_only=True, tag_field="type", tag="error", omit_defaults=True):
    """A client frame was refused; ``field`` names the bad field, ``code`` is HTTP-style."""

    id: RequestId
    detail: str
    field: str | None
    code: int
    sub: str | None = None
    """A subscription that ended (``refresh`` to a token that no longer allows it)."""


class Pong(msgspec.Struct, kw_only=True, tag_field="type", tag="pong"):
    """Answer to ``ping``."""

    id: RequestId
    time: datetime


class HeartbeatFrame(msgspec.Struct, kw_only=True, tag_field="type", tag="heartbeat"):
    """Sent every ``heartbeat`` seconds."""

    time: datetime


def now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def frame(obj: Any) -> bytes:
    """Encode a server frame."""
    return encode(obj)


EVENTS_HEAD = b'{"type":"events","events":['
EVENTS_TAIL = b"]}"
DATA_KEY = b',"data":'
SEQ_KEY = b',"seq":'
_encode_str = msgspec.json.Encoder().encode


def sub_prefix(sid: str) -> bytes:
    """``{"sub":"s1","subject":`` — the constant head of one subscription's events."""
    return b'{"sub":' + _encode_str(sid) + b',"subject":'


def json_string(text: str) -> bytes:
    """``text`` as a JSON string."""
    return _encode_str(text)
