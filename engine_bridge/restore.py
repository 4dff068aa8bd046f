"""Read what an engine's streams hold, for :meth:`Engine.restore` at bridge start.

From the events stream: the last message of every order, position and account subject (the
current state of each — their subjects end in the order's id, the position's direction,
the account's id) and every trade; from the ticks stream (when it exists) the last tick of
each contract.  Each is read with an ordered consumer until its ``num_pending`` is 0.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, TypeVar

from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from engine_bridge.engine import RestoredState
from schemas.codec import decode
from schemas.errors import BadRequestError
from schemas.objects import AccountData, OrderData, PositionData, TickData, TradeData
from schemas.streams import events_stream, ticks_stream, ticks_stream_subjects
from schemas.subjects import EventKind, events_pattern, parse_event_subject

logger = logging.getLogger(__name__)

T = TypeVar("T")

READ_TIMEOUT = 10.0
"""Seconds to wait for the next message of a stream being read (it is known to be there)."""

_STATE_KINDS: dict[EventKind, type[Any]] = {
    EventKind.ORDER: OrderData,
    EventKind.POSITION: PositionData,
    EventKind.ACCOUNT: AccountData,
}


async def read_stream(
    js: JetStreamContext, stream: str, subjects: list[str], policy: api.DeliverPolicy
) -> list[Msg]:
    """Every message of ``stream`` on ``subjects`` that ``policy`` delivers, in stream order.

    Raises:
        nats.js.errors.NotFoundError: no such stream.
    """
    config = api.ConsumerConfig(filter_subjects=subjects, deliver_policy=policy)
    sub = await js.subscribe(
        subjects[0], stream=stream, config=config, ordered_consumer=True, deliver_policy=policy
    )
    try:
        info = await sub.consumer_info()
        delivered = info.delivered.consumer_seq if info.delivered else 0
        if not info.num_pending and not delivered:
            return []
        msgs = []
        while True:
            msg = await sub.next_msg(timeout=READ_TIMEOUT)
            msgs.append(msg)
            if not msg.metadata.num_pending:
                return msgs
    finally:
        await sub.unsubscribe()


def _decode(msg: Msg, type_: type[T]) -> T | None:
    try:
        return decode(msg.data, type_)
    except BadRequestError as exc:
        logger.warning("skipped unreadable %s on %s: %s", type_.__name__, msg.subject, exc)
        return None


def _decode_all(msgs: list[Msg], type_: type[T]) -> list[T]:
    return [obj for msg in msgs if (obj := _decode(msg, type_)) is not None]


async def read_state(
    js: JetStreamContext, engine_id: str, last_seq: int, *, ticks: bool = True
) -> RestoredState:
    """What the engine's streams hold (``last_seq``: the events stream's last sequence)."""
    if not last_seq:
        state = RestoredState()
    else:
        stream = events_stream(engine_id)
        kinds = [EventKind.ORDER, EventKind.POSITION, EventKind.ACCOUNT]
        latest = await read_stream(
            js,
            stream,
            [events_pattern(engine_id, f"{k.value}.>") for k in kinds],
            api.DeliverPolicy.LAST_PER_SUBJECT,
        )
        trades = await read_stream(
            js, stream, [events_pattern(engine_id, "trade.>")], api.DeliverPolicy.ALL
        )
        by_kind: dict[EventKind, list[Any]] = {k: [] for k in kinds}
        for msg in latest:
            kind = parse_event_subject(msg.subject).kind
            obj = _decode(msg, _STATE_KINDS[kind])
            if obj is not None:
                by_kind[kind].append(obj)
        state = RestoredState(
            orders=by_kind[EventKind.ORDER],
            positions=by_kind[EventKind.POSITION],
            accounts=by_kind[EventKind.ACCOUNT],
            trades=_decode_all(trades, TradeData),
            last_seq=last_seq,
        )
    if ticks:
        try:
            msgs = await read_stream(
                js,
                ticks_stream(engine_id),
                ticks_stream_subjects(engine_id),
                api.DeliverPolicy.ALL,
            )
        except NotFoundError:
            msgs = []
        state = dataclasses.replace(state, ticks=_decode_all(msgs, TickData))
    return state
