"""``/stream``: the gateway's own streaming protocol (see ``docs/websocket.md``).

Clients subscribe to NATS wildcards below ``wt.{engine}.evt.`` and receive events batched:
whatever is queued when the writer wakes goes out in one ``events`` frame (at most
``BATCH_MAX`` events or about ``BATCH_BYTES``), spliced from the NATS payload bytes.
Replies (ack, error, pong) and heartbeats travel through the same outbox, so they are
ordered with the events: no event of a subscription precedes its ack, none follows the ack
of its unsubscribe.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import nats.errors

from gateway.streams.hub import Sink
from gateway.streams.protocol import (
    DATA_KEY,
    EVENTS_HEAD,
    EVENTS_TAIL,
    PROTOCOL_VERSION,
    Ack,
    HeartbeatFrame,
    PingOp,
    Pong,
    ProtocolError,
    RequestId,
    SubscribeOp,
    UnsubscribeOp,
    Welcome,
    frame,
    json_string,
    now,
    parse_op,
    resolve_subscription,
    sub_prefix,
)
from gateway.streams.session import CloseSessionError, Session
from schemas.codec import decode, encode
from schemas.errors import ERROR_CODE_HEADER, ERROR_HEADER, BadRequestError, ErrorBody
from schemas.requests import SubscribeRequest
from schemas.subjects import Op, request_subject

CLOSE_IDLE = 4408
"""The client sent nothing for ``ws_idle_timeout`` seconds."""
BATCH_MAX = 500
"""Most events in one ``events`` frame."""
BATCH_BYTES = 256 * 1024
"""An ``events`` frame is sent once it reaches this size (frames stay well below 1 MiB,
the default message limit of many WebSocket clients)."""
EVENT_OVERHEAD = len(DATA_KEY) + 2
MAX_SUBSCRIPTIONS = 1000
"""Most live subscriptions per session."""


class StreamSubscription:
    """One client subscription: its id, pattern and the constant head of its events."""

    __slots__ = ("active", "engine", "pattern", "prefix", "sid", "sink")

    def __init__(self, sid: str, engine: str, pattern: str) -> None:
        self.sid, self.engine, self.pattern = sid, engine, pattern
        self.prefix = sub_prefix(sid)
        self.active = True
        self.sink: Sink | None = None


Event = tuple[StreamSubscription, str, bytes]
StreamItem = bytes | Event
"""A complete control frame, or ``(subscription, subject, payload)``."""


def make_sink(sub: StreamSubscription, put: Any, put_latest: Any) -> Sink:
    """The hub sink of ``sub``: ticks conflated per (subscription, subject), others FIFO."""

    def sink(subject: str, payload: bytes, tick: bool) -> None:
        if tick:
            put_latest((sub, subject), (sub, subject, payload))
        else:
            put((sub, subject, payload))

    return sink


class StreamSession(Session[StreamItem]):
    """One ``/stream`` client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_id = secrets.token_hex(8)
        self._subs: dict[str, StreamSubscription] = {}
        self._count = 0

    async def start(self) -> None:
        """Queue the welcome frame."""
        s = self.settings
        welcome = Welcome(
            protocol=PROTOCOL_VERSION,
            session=self.session_id,
            user=self.principal.username,
            engine=s.default_engine,
            heartbeat=s.ws_heartbeat if s.ws_heartbeat > 0 else 0.0,
            idle_timeout=s.ws_idle_timeout if s.ws_idle_timeout > 0 else 0.0,
            queue_limit=s.ws_queue_limit,
            batch_max=BATCH_MAX,
        )
        self.outbox.put(frame(welcome))

    def timers(self) -> list[Any]:
        """The heartbeat, if enabled."""
        return [self._heartbeat()] if self.settings.ws_heartbeat > 0 else []

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ws_heartbeat)
            self.outbox.put(frame(HeartbeatFrame(time=now())))

    # --- reading ----------------------------------------------------------------------

    async def read(self) -> None:
        """Serve client frames; close with 4408 after ``ws_idle_timeout`` of silence."""
        idle = self.settings.ws_idle_timeout
        while True:
            try:
                async with asyncio.timeout(idle if idle > 0 else None):
                    message = await self.socket.receive()
            except TimeoutError:
                raise CloseSessionError(
                    CLOSE_IDLE, f"idle timeout: no frame for {idle:g} s"
                ) from None
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            if data is None:
                data = message.get("bytes")
            await self.handle(data if isinstance(data, str | bytes) else b"")

    async def handle(self, raw: str | bytes) -> None:
        """Serve one client frame; a bad one is answered with an ``error`` frame."""
        try:
            op = parse_op(raw)
            if isinstance(op, SubscribeOp):
                await self._subscribe(op)
            elif isinstance(op, UnsubscribeOp):
                await self._unsubscribe(op)
            elif isinstance(op, PingOp):
                self.outbox.put(frame(Pong(id=op.id, time=now())))
        except ProtocolError as err:
            self.outbox.put(err.frame())

    async def _subscribe(self, op: SubscribeOp) -> None:
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                op.id, f"too many subscriptions (most {MAX_SUBSCRIPTIONS})", code=429
            )
        engine, pattern, request = resolve_subscription(op, self.settings.default_engine)
        if request is not None:
            await self._engine_subscribe(op.id, engine, request)
        self._count += 1
        sub = StreamSubscription(f"s{self._count}", engine, pattern)
        sub.sink = make_sink(sub, self.outbox.put, self.outbox.put_latest)
        try:
            await self.subscribe(pattern, sub.sink)
        except nats.errors.Error as exc:
            raise ProtocolError(op.id, f"subscription failed: {exc!r}", code=503) from None
        # No await between the hub attaching the sink and the ack: the ack comes first.
        self._subs[sub.sid] = sub
        self._ack(op.id, "subscribe", sub)

    async def _unsubscribe(self, op: UnsubscribeOp) -> None:
        sub = self._subs.pop(op.sub, None)
        if sub is None or sub.sink is None:
            raise ProtocolError(op.id, f"unknown subscription {op.sub!r}", "sub", 404)
        sub.active = False  # events already queued for it are skipped by the writer
        await self.unsubscribe(sub.pattern, sub.sink)
        self._ack(op.id, "unsubscribe", sub)

    def _ack(self, rid: RequestId, op: str, sub: StreamSubscription) -> None:
        ack = Ack(id=rid, op=op, sub=sub.sid, subject=sub.pattern, engine=sub.engine)
        self.outbox.put(frame(ack))

    async def _engine_subscribe(self, rid: RequestId, engine: str, req: SubscribeRequest) -> None:
        """Ask ``engine`` for market data of ``req``; its refusal becomes our error."""
        timeout = self.settings.request_timeout
        try:
            reply = await self.hub.nc.request(
                request_subject(engine, Op.SUBSCRIBE), encode(req), timeout=timeout
            )
        except nats.errors.NoRespondersError:
            raise ProtocolError(rid, f"engine {engine!r} is not available", "engine", 503) from None
        except TimeoutError:
            detail = f"engine {engine!r} did not answer in {timeout:g} s"
            raise ProtocolError(rid, detail, "engine", 504) from None
        headers = reply.headers or {}
        code = headers.get(ERROR_CODE_HEADER)
        if not code:
            return
        try:
            body = decode(reply.data, ErrorBody)
        except BadRequestError:
            body = ErrorBody(detail=headers.get(ERROR_HEADER) or "engine error")
        field = "vt_symbol" if body.field in ("symbol", "exchange") else body.field
        raise ProtocolError(rid, body.detail, field, int(code) if code.isdigit() else 500)

    # --- writing ----------------------------------------------------------------------

    async def write(self) -> None:
        """Send control frames as they are, and events batched per wake-up."""
        take, send = self.outbox.take, self.send_text
        while True:
            parts: list[bytes] = []
            size = 0
            for item in await take(BATCH_MAX):
                if isinstance(item, bytes):
                    if parts:
                        await send(b"".join((EVENTS_HEAD, *parts, EVENTS_TAIL)))
                        parts, size = [], 0
                    await send(item)
                    continue
                sub, subject, payload = item
                if not sub.active:
                    continue
                if parts:
                    parts.append(b",")
                subject_json = json_string(subject)
                parts += (sub.prefix, subject_json, DATA_KEY, payload, b"}")
                size += len(sub.prefix) + len(subject_json) + len(payload) + EVENT_OVERHEAD
                if size >= BATCH_BYTES:
                    await send(b"".join((EVENTS_HEAD, *parts, EVENTS_TAIL)))
                    parts, size = [], 0
            if parts:
                await send(b"".join((EVENTS_HEAD, *parts, EVENTS_TAIL)))
