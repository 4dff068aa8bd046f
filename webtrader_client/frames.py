"""The ``/stream`` protocol's frames (version 1, docs/websocket.md), decoded with msgspec.

Server frames are a tagged union on ``type``; an unknown type (a later protocol version)
decodes to ``None`` and is ignored.  Event payloads stay raw until their subscription's
event is built, then decode into the :mod:`schemas` type of their kind (from the subject).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from schemas.messages import Heartbeat
from schemas.objects import (
    AccountData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    QuoteData,
    TickData,
    TradeData,
)
from schemas.streams import DURABLE_KINDS
from schemas.subjects import Event as EventObject
from schemas.subjects import EventKind

if TYPE_CHECKING:
    from webtrader_client.subscription import Subscription

RequestId = str | int | None


class Welcome(msgspec.Struct, tag="welcome", tag_field="type", kw_only=True):
    """The first frame of a session."""

    protocol: int
    session: str = ""
    user: str = ""
    engine: str = ""
    heartbeat: float = 0.0
    idle_timeout: float = 0.0
    queue_limit: int = 0
    batch_max: int = 0
    engines: dict[str, str] = msgspec.field(default_factory=dict)
    expires: str | None = None


class Ack(msgspec.Struct, tag="ack", tag_field="type", kw_only=True):
    """The answer of a request (``op`` says which)."""

    id: RequestId = None
    op: str = ""
    sub: str | None = None
    subject: str | None = None
    engine: str | None = None
    seq: int | None = None
    engines: list[str] | None = None
    user: str | None = None
    expires: str | None = None
    dropped: list[str] | None = None


class ErrorFrame(msgspec.Struct, tag="error", tag_field="type", kw_only=True):
    """A frame that could not be served (the socket stays open)."""

    detail: str
    code: int = 400
    id: RequestId = None
    field: str | None = None
    sub: str | None = None


class Pong(msgspec.Struct, tag="pong", tag_field="type", kw_only=True):
    """The answer of a ``ping``."""

    id: RequestId = None
    time: str | None = None


class HeartbeatFrame(msgspec.Struct, tag="heartbeat", tag_field="type", kw_only=True):
    """The server's liveness frame."""

    time: str | None = None


class RawEvent(msgspec.Struct, kw_only=True):
    """One event of an ``events`` frame, its ``data`` still JSON bytes."""

    sub: str
    subject: str
    data: msgspec.Raw
    seq: int | None = None


class EventsFrame(msgspec.Struct, tag="events", tag_field="type", kw_only=True):
    """A batch of events."""

    events: list[RawEvent]


class SnapshotEnd(msgspec.Struct, tag="snapshot_end", tag_field="type", kw_only=True):
    """A snapshot subscription delivered the state of ``engine`` up to ``seq``."""

    sub: str
    engine: str
    seq: int


class EngineFrame(msgspec.Struct, tag="engine", tag_field="type", kw_only=True):
    """An engine the user may use went ``up`` or ``down``."""

    engine_id: str
    status: str
    reason: str = ""


class NatsFrame(msgspec.Struct, tag="nats", tag_field="type", kw_only=True):
    """The gateway lost (``disconnected``) or regained (``reconnected``) NATS."""

    status: str


Frame = (
    Welcome
    | Ack
    | ErrorFrame
    | Pong
    | HeartbeatFrame
    | EventsFrame
    | SnapshotEnd
    | EngineFrame
    | NatsFrame
)
_frames = msgspec.json.Decoder(Frame)


def decode_frame(raw: str | bytes) -> Frame | None:
    """Decode one server frame; ``None`` for a frame this client does not know."""
    try:
        frame: Frame = _frames.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return frame


DATA_TYPES: dict[EventKind, type[Any]] = {
    EventKind.TICK: TickData,
    EventKind.ORDER: OrderData,
    EventKind.TRADE: TradeData,
    EventKind.POSITION: PositionData,
    EventKind.CONTRACT: ContractData,
    EventKind.ACCOUNT: AccountData,
    EventKind.LOG: LogData,
    EventKind.HEARTBEAT: Heartbeat,
    EventKind.QUOTE: QuoteData,
}
"""The :mod:`schemas` type each event kind carries (docs/subjects.md)."""

_DURABLE = frozenset(kind.value for kind in DURABLE_KINDS)
_WILDCARDS = frozenset({"*", ">"})


def subject_parts(subject: str) -> tuple[str, EventKind]:
    """The engine id and kind of an event subject ``wt.{engine}.evt.{kind}...``.

    Raises:
        ValueError: not an event subject of a known kind.
    """
    tokens = subject.split(".", 4)
    if len(tokens) < 4:  # noqa: PLR2004
        raise ValueError(f"not an event subject: {subject!r}")
    return tokens[1], EventKind(tokens[3])


def decode_data(kind: EventKind, data: bytes) -> EventObject | Heartbeat:
    """Decode an event's payload as its kind's type.

    Raises:
        msgspec.ValidationError, msgspec.DecodeError: not a valid payload of that kind.
    """
    return msgspec.json.decode(data, type=DATA_TYPES[kind])  # type: ignore[no-any-return]


def is_durable(kind: str | None, topic: str | None) -> bool:
    """Whether a subscription (``kind`` sugar or ``topic``) may cover durable kinds."""
    if kind:
        return kind in _DURABLE
    first = (topic or ">").split(".", 1)[0]
    return first in _DURABLE or first in _WILDCARDS


@dataclass(frozen=True, slots=True)
class Event:
    """One event as delivered to the application.

    Attributes:
        subscription: the subscription it arrived on.
        engine: the engine that published it.
        kind: its kind (``order``, ``tick``...).
        subject: the full NATS subject (symbols escaped).
        seq: the engine's stream sequence (durable kinds), else ``None``.
        data: the decoded object (``OrderData``, ``TickData``... ``Heartbeat``).
        raw: the payload's JSON bytes as the engine encoded them.
    """

    subscription: Subscription = field(repr=False)
    engine: str
    kind: EventKind
    subject: str
    seq: int | None
    data: EventObject | Heartbeat
    raw: bytes = field(repr=False)


__all__ = [
    "DATA_TYPES",
    "Ack",
    "EngineFrame",
    "ErrorFrame",
    "Event",
    "EventsFrame",
    "Frame",
    "HeartbeatFrame",
    "NatsFrame",
    "Pong",
    "RawEvent",
    "SnapshotEnd",
    "Welcome",
    "decode_data",
    "decode_frame",
    "is_durable",
    "subject_parts",
]
