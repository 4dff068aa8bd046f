"""``/stream``: the gateway's own streaming protocol (see ``docs/websocket.md``).

Clients subscribe to NATS wildcards below ``wt.{engine}.evt.`` and receive events batched:
whatever is queued when the writer wakes goes out in one ``events`` frame (at most
``BATCH_MAX`` events or about ``BATCH_BYTES``), spliced from the NATS payload bytes.
Replies (ack, error, pong), heartbeats and notices (engine up/down, NATS lost/back) travel
through the same outbox, so they are ordered with the events: no event of a subscription
precedes its ack, none follows the ack of its unsubscribe.

Order, trade, position and account events come from JetStream (one consumer per client
subscription and engine, :mod:`gateway.streams.durable`) and carry their stream ``seq``;
everything else comes from the shared core hub.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

import nats.errors

from gateway.auth import AuthError, verify_token
from gateway.engines import EngineDirectory
from gateway.nats_plugin import ConnectionState
from gateway.streams.authz import coverage, forbidden, still_allowed
from gateway.streams.feeds import DurableFeeds
from gateway.streams.hub import Sink
from gateway.streams.protocol import (
    ALL_ENGINES,
    DATA_KEY,
    EVENTS_HEAD,
    EVENTS_TAIL,
    FORBIDDEN,
    PROTOCOL_VERSION,
    SEQ_KEY,
    UNAUTHORIZED,
    Ack,
    EngineFrame,
    HeartbeatFrame,
    NatsFrame,
    PingOp,
    Pong,
    ProtocolError,
    RefreshAck,
    RefreshOp,
    RequestId,
    SubscribeOp,
    UnsubscribeOp,
    Welcome,
    frame,
    json_string,
    now,
    parse_op,
    resolve_subscription,
)
from gateway.streams.routing import for_engines, route
from gateway.streams.session import CloseSessionError, Session
from gateway.streams.subscriptions import FeedOpener, StreamSubscription, check_durable_options
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

log = logging.getLogger(__name__)

Event = tuple[StreamSubscription, str, bytes]
DurableEvent = tuple[StreamSubscription, str, bytes, int]
StreamItem = bytes | Event | DurableEvent
"""A complete control frame, ``(subscription, subject, payload)`` from the core hub, or
``(subscription, subject, payload, stream seq)`` from JetStream."""


def expiry(expires_at: float) -> datetime:
    """A token's expiry as an aware UTC datetime."""
    return datetime.fromtimestamp(expires_at, UTC)


def make_sink(sub: StreamSubscription, put: Any, put_latest: Any) -> Sink:
    """The hub sink of ``sub``: ticks conflated per (subscription, subject), others FIFO."""

    def sink(subject: str, payload: bytes, tick: bool) -> None:
        if tick:
            put_latest((sub, subject), (sub, subject, payload))
        else:
            put((sub, subject, payload))

    return sink


class StreamSession(Session[StreamItem]):
    """One ``/stream`` client.

    Args:
        feeds: the app's durable feeds (JetStream consumers).
        engines: the engine directory (engines for ``"*"``, the welcome's statuses).
        *args, **kwargs: as :class:`Session`.
    """

    def __init__(
        self, *args: Any, feeds: DurableFeeds, engines: EngineDirectory, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.engines = engines
        self.opener = FeedOpener(feeds, engines, self.outbox)
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
            engines={
                e: status for e, status in self.engines.known().items() if self.principal.may_use(e)
            },
            expires=expiry(self.principal.expires_at),
        )
        self.outbox.put(frame(welcome))

    async def cleanup(self) -> None:
        """Close every durable feed (the hub sinks are released by the base class)."""
        self.opener.ended = True
        subs, self._subs = list(self._subs.values()), {}
        for sub in subs:
            sub.active = False
            await sub.close_feeds()

    # --- notices ----------------------------------------------------------------------

    def on_engine(self, engine_id: str, status: str, reason: str) -> None:
        """An engine went up or down: tell the client; ``"*"`` feeds pick up new engines.

        Only about engines the user may use.
        """
        if not self.principal.may_use(engine_id):
            return
        notice = EngineFrame(engine_id=engine_id, status=status, reason=reason)  # type: ignore[arg-type]
        self.outbox.put(frame(notice))
        for sub in self._subs.values():
            self.opener.follow(sub, engine_id, status)

    def on_nats(self, state: ConnectionState) -> None:
        """The gateway's NATS connection was lost or is back."""
        self.outbox.put(frame(NatsFrame(status=state)))

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
            elif isinstance(op, RefreshOp):
                await self._refresh(op)
        except ProtocolError as err:
            self.outbox.put(err.frame())

    async def _subscribe(self, op: SubscribeOp) -> None:
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                op.id, f"too many subscriptions (most {MAX_SUBSCRIPTIONS})", code=429
            )
        engine, pattern, request = resolve_subscription(op, self.settings.default_engine)
        sources = route(pattern)
        check_durable_options(op, engine, sources)
        covered = coverage(self.principal, op, engine)
        if engine == ALL_ENGINES and covered is not None:
            sources = for_engines(sources, covered)  # the user's engines only
        if request is not None:
            await self._engine_subscribe(op.id, engine, request)
        self._count += 1
        sub = StreamSubscription(f"s{self._count}", engine, pattern, sources, op, engines=covered)
        try:
            if sources.durable is not None:
                await self.opener.open(sub)
            if sources.core:
                sub.sink = make_sink(sub, self.outbox.put, self.outbox.put_latest)
                await self._attach(op.id, sub)
        except BaseException:
            sub.active = False
            await sub.close_feeds()
            raise
        # No await between the hub attaching the sink and the ack: the ack comes first.
        self._subs[sub.sid] = sub
        position = sub.feeds[engine].position if engine in sub.feeds else None
        self._ack(op.id, "subscribe", sub, position)
        for feed in sub.feeds.values():
            feed.go()
        if engine == ALL_ENGINES and sources.durable is not None:
            for engine_id, status in self.engines.known().items():  # came up meanwhile
                self.opener.follow(sub, engine_id, status)

    async def _attach(self, rid: RequestId, sub: StreamSubscription) -> None:
        """Attach the sink to every core pattern of ``sub`` (all or none)."""
        assert sub.sink is not None  # noqa: S101
        attached: list[str] = []
        try:
            for pattern in sub.route.core:
                await self.subscribe(pattern, sub.sink)
                attached.append(pattern)
        except BaseException as exc:
            for pattern in attached:
                await self.unsubscribe(pattern, sub.sink)
            if isinstance(exc, nats.errors.Error):
                raise ProtocolError(rid, f"subscription failed: {exc!r}", code=503) from None
            raise

    async def _unsubscribe(self, op: UnsubscribeOp) -> None:
        sub = self._subs.pop(op.sub, None)
        if sub is None:
            raise ProtocolError(op.id, f"unknown subscription {op.sub!r}", "sub", 404)
        sub.active = False  # events already queued for it are skipped by the writer
        await self._end(sub)
        self._ack(op.id, "unsubscribe", sub)

    async def _end(self, sub: StreamSubscription) -> None:
        """Detach an ended subscription from the hub and close its feeds."""
        if sub.sink is not None:
            for pattern in sub.route.core:
                await self.unsubscribe(pattern, sub.sink)
        await sub.close_feeds()

    async def _refresh(self, op: RefreshOp) -> None:
        """Replace the principal with the new token's; end what it no longer allows.

        A bad token, or one of another user, changes nothing (the old expiry stands).
        """
        try:
            principal = verify_token(self.settings, op.token)
        except AuthError as exc:
            raise ProtocolError(op.id, str(exc), "token", UNAUTHORIZED) from None
        if principal.username != self.principal.username:
            detail = f"the token is not {self.principal.username!r}'s"
            raise ProtocolError(op.id, detail, "token", FORBIDDEN)
        ended = [s for s in self._subs.values() if not still_allowed(s.engines, principal)]
        for sub in ended:  # before any await: nothing more of theirs is sent
            sub.active = False
            del self._subs[sub.sid]
        self.renew(principal)
        for sub in ended:
            rid = sub.op.id if sub.op is not None else None
            lost = sorted(e for e in sub.engines or ("*",) if not principal.may_use(e))
            detail = f"subscription {sub.sid} ended: {forbidden(principal, ', '.join(lost))}"
            self.outbox.put(ProtocolError(rid, detail, "engine", FORBIDDEN, sub.sid).frame())
            await self._end(sub)
        ack = RefreshAck(
            id=op.id,
            op="refresh",
            user=principal.username,
            expires=expiry(principal.expires_at),
            dropped=[sub.sid for sub in ended],
        )
        self.outbox.put(frame(ack))

    def _ack(
        self, rid: RequestId, op: str, sub: StreamSubscription, seq: int | None = None
    ) -> None:
        engines = None
        if sub.engine == ALL_ENGINES and sub.engines is not None:
            engines = sorted(sub.engines)
        ack = Ack(
            id=rid,
            op=op,
            sub=sub.sid,
            subject=sub.pattern,
            engine=sub.engine,
            seq=seq,
            engines=engines,
        )
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
                sub, subject, payload = item[0], item[1], item[2]
                if not sub.active:
                    continue
                if parts:
                    parts.append(b",")
                subject_json = json_string(subject)
                if len(item) == 4:  # noqa: PLR2004 - a durable event: with its stream seq
                    head = subject_json + SEQ_KEY + str(item[3]).encode()
                    parts += (sub.prefix, head, DATA_KEY, payload, b"}")
                    size += len(head) - len(subject_json)
                else:
                    parts += (sub.prefix, subject_json, DATA_KEY, payload, b"}")
                size += len(sub.prefix) + len(subject_json) + len(payload) + EVENT_OVERHEAD
                if size >= BATCH_BYTES:
                    await send(b"".join((EVENTS_HEAD, *parts, EVENTS_TAIL)))
                    parts, size = [], 0
            if parts:
                await send(b"".join((EVENTS_HEAD, *parts, EVENTS_TAIL)))
