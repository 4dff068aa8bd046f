"""JetStream names and layout: the durable side of the subject grammar.

Per engine (``{e}`` is the engine id, already a safe token):

* ``WT_{e}_EVENTS`` — file stream of ``order``, ``trade``, ``position``, ``account`` and
  ``quote`` events (:data:`DURABLE_KINDS`). Every such event is published with JetStream
  acknowledgement and a ``Nats-Msg-Id``; its stream sequence is the ``seq`` that WebSocket
  frames carry and that clients resume from. Because order, quote and position subjects end
  in the order's or quote's id and the position's direction, "last message per subject" is
  the current state of each order, quote, position and account: the snapshot is read from
  the same log as the live feed, with the same sequence numbers, so snapshot-then-live has
  no gap.
* ``WT_{e}_TICKS`` — memory stream of ``tick`` subjects keeping one message per subject:
  the latest tick of each contract (ticks themselves stay on core NATS).
* KV bucket ``wt_{e}_client_orders`` — ``client_order_id`` -> ``vt_orderid``, kept for
  :data:`DEFAULT_IDEMPOTENCY_TTL` at least.
"""

from __future__ import annotations

import base64

from schemas.subjects import EventKind, check_engine_id, events_pattern

DURABLE_KINDS = (
    EventKind.ORDER,
    EventKind.TRADE,
    EventKind.POSITION,
    EventKind.ACCOUNT,
    EventKind.QUOTE,
)
"""Event kinds kept in the engine's events stream."""

DEFAULT_EVENT_RETENTION = 7 * 24 * 3600.0
"""Seconds an event stays in ``WT_{e}_EVENTS`` by default."""

DEFAULT_IDEMPOTENCY_TTL = 48 * 3600.0
"""Seconds a ``client_order_id`` mapping is kept by default (at least 24 h is promised)."""

DUPLICATE_WINDOW = 120.0
"""Seconds JetStream de-duplicates a re-published ``Nats-Msg-Id``."""

MSG_ID_HEADER = "Nats-Msg-Id"
STREAM_SEQ_HEADER = "Wt-Stream-Seq"
"""Reply header of bridge queries: the last events-stream sequence the answer includes."""


def events_stream(engine_id: str) -> str:
    """Name of the engine's durable events stream."""
    return f"WT_{check_engine_id(engine_id)}_EVENTS"


def events_stream_subjects(engine_id: str) -> list[str]:
    """Subjects captured by :func:`events_stream`."""
    return [events_pattern(engine_id, f"{kind.value}.>") for kind in DURABLE_KINDS]


def ticks_stream(engine_id: str) -> str:
    """Name of the engine's last-tick-per-contract stream."""
    return f"WT_{check_engine_id(engine_id)}_TICKS"


def ticks_stream_subjects(engine_id: str) -> list[str]:
    """Subjects captured by :func:`ticks_stream`."""
    return [events_pattern(engine_id, f"{EventKind.TICK.value}.>")]


def client_orders_bucket(engine_id: str) -> str:
    """KV bucket mapping ``client_order_id`` to ``vt_orderid`` for one engine."""
    return f"wt_{check_engine_id(engine_id)}_client_orders"


def client_order_key(client_order_id: str) -> str:
    """A KV-safe, reversible key for a ``client_order_id`` (unpadded base64url)."""
    return base64.urlsafe_b64encode(client_order_id.encode()).decode().rstrip("=")


def is_durable(kind: EventKind) -> bool:
    """True for kinds kept in the events stream (they carry a stream sequence)."""
    return kind in DURABLE_KINDS
