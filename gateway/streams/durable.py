"""One client subscription's feed of one engine's durable events: an ordered JetStream consumer.

A :class:`DurableFeed` owns an ephemeral push consumer on ``WT_{engine}_EVENTS`` (memory
storage, one replica, no acks, flow control and idle heartbeats) delivering to a private
inbox.  Its callback hands ``(tag, subject, payload bytes, stream seq)`` to the client's
outbox; the sequence numbers come from the JetStream reply subject, the payload is never
decoded.  It is *ordered*: it tracks the consumer sequence, and on a gap (a message lost on
the way, a NATS reconnect, a consumer gone with its server) it drops the consumer and makes
a new one starting right after the last stream sequence it delivered — no gap, no duplicate.
The client-visible contract is in ``docs/websocket.md`` ("Durable events").

Pacing: while a consumer is catching up — from its creation (a snapshot, a resume, the
events missed during a NATS outage) until it first delivers a message with nothing left
pending — the callback waits for room in the outbox instead of overrunning it, and answers
JetStream's flow-control requests only once the messages before them were queued, so a replay
of any length advances at the client's pace and gateway memory stays bounded.  Once caught
up, events go straight in: a client that cannot keep up with the live flow overflows its
outbox and is closed with 1013, and resumes from its last ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from gateway.streams.client_queue import Outbox
from schemas.streams import events_stream

if TYPE_CHECKING:
    from gateway.streams.feeds import DurableFeeds

log = logging.getLogger(__name__)

STATUS_HEADER = "Status"
LAST_CONSUMER_HEADER = "Nats-Last-Consumer"
STALLED_HEADER = "Nats-Consumer-Stalled"
STALL_TIMEOUT = 30.0
"""Seconds a catching-up feed waits for room before the client is deemed stuck (1013)."""


class StreamMissingError(Exception):
    """The engine's events stream does not exist (yet)."""


class Begin(enum.Enum):
    """Where a feed starts (before it has delivered anything)."""

    NEW = "new"
    """Events published from now on."""
    SNAPSHOT = "snapshot"
    """The last event of each subject (current state of each order, position, account)."""
    AFTER = "after"
    """Every event after a given stream sequence (resume)."""
    ALL = "all"
    """Every event kept (the stream did not exist when the client subscribed)."""
    SINCE = "since"
    """Every event stored since a given time (an engine found after the client subscribed)."""


@dataclass
class Start:
    """A feed's starting point; ``seq`` for AFTER, ``since`` for SINCE."""

    begin: Begin
    seq: int = 0
    since: datetime | None = None


def ack_position(reply: str) -> tuple[int, int, int] | None:
    """``(stream seq, consumer seq, pending)`` of a JetStream delivery's reply subject.

    Both layouts: ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>``
    and the one with domain and account hash after ``ACK``.  None for anything else.
    """
    tokens = reply.split(".")
    n = len(tokens)
    if n == 9:  # noqa: PLR2004
        i = 5
    elif n >= 11:  # noqa: PLR2004
        i = 7
    else:
        return None
    if tokens[0] != "$JS" or tokens[1] != "ACK":
        return None
    try:
        return int(tokens[i]), int(tokens[i + 1]), int(tokens[i + 3])
    except ValueError:
        return None


class DurableFeed:
    """One ordered JetStream consumer delivering one engine's durable events to one outbox.

    Args:
        feeds: the shared registry (NATS client, timings, background tasks, retries).
        engine: engine id (selects ``WT_{engine}_EVENTS``).
        filter_subject: the client's pattern for that engine.
        outbox: the client's outbox; items are ``(tag, subject, payload, seq)``.
        tag: first element of every item (the client subscription).
        start: where to begin.
        on_caught_up: called once with the position reached when a SNAPSHOT feed has
            delivered everything pending (the caller queues a ``snapshot_end`` frame).
    """

    def __init__(
        self,
        feeds: DurableFeeds,
        engine: str,
        *,
        filter_subject: str,
        outbox: Outbox[Any],
        tag: Any,
        start: Start,
        on_caught_up: Callable[[int], None] | None = None,
    ) -> None:
        self.feeds, self.engine, self.filter_subject = feeds, engine, filter_subject
        self.stream = events_stream(engine)
        self.outbox, self.tag, self.start = outbox, tag, start
        self._on_caught_up = on_caught_up if start.begin is Begin.SNAPSHOT else None
        self.last_seq: int | None = start.seq if start.begin is Begin.AFTER else None
        """Last stream sequence delivered (or the known position before the first one)."""
        self.position: int | None = None
        """Where delivery starts, when known at creation (the ack's ``seq``)."""
        self.gen = 0
        self.closed = False
        self.broken = False
        """No live consumer: the registry retries (NATS down, stream missing, error)."""
        self.missing = False
        self.waiting = False
        self.catching_up = False
        """Pace delivery by the outbox (a replay); False once nothing is pending."""
        self.activity = time.monotonic()
        self.attempted = 0.0
        self._dseq = 0
        self._sub: Any = None  # nats.aio.subscription.Subscription of the inbox
        self._consumer: str | None = None
        self._live = asyncio.Event()
        self._snapshot_done: int | None = None
        self._resetting = False
        self._again = False
        self._watermark = max(1, outbox.limit // 2)

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self, retry: bool = False) -> None:
        """Create the first consumer and join the registry; events wait until :meth:`go`.

        A missing stream is not an error: the feed waits for it and then delivers every
        event it holds (all of them were published after this subscription).  With
        ``retry`` a failure is not one either: the registry tries again until it works.

        Raises:
            nats.errors.Error: JetStream did not create the consumer (unavailable, timeout).
        """
        try:
            info = await self._create()
        except (nats.errors.Error, TimeoutError) as exc:
            if not retry or self.closed:
                raise
            log.info("feed %s: no consumer yet, retrying: %r", self.engine, exc)
            self.broken = True
            self.attempted = time.monotonic()
            self.feeds.register(self)
            return
        except StreamMissingError:
            self._stream_missing()
            self.position = 0
            self._snapshot_done = 0  # an empty snapshot, already complete
        else:
            known = info.delivered.stream_seq if info.delivered else 0
            if self.start.begin is Begin.NEW:
                self.last_seq = self.position = known
            elif self.start.begin is Begin.AFTER:
                self.position = self.start.seq
            elif self.start.begin is Begin.SNAPSHOT and not info.num_pending:
                self._snapshot_done = known
        self.feeds.register(self)

    def go(self) -> None:
        """Let events flow (after the caller queued the subscription's ack)."""
        if self._snapshot_done is not None:
            self._caught_up(self._snapshot_done)
        self._live.set()

    async def close(self, delete: bool = True) -> None:
        """Stop delivering and drop the consumer (``delete``: ask the server now)."""
        if self.closed:
            return
        self.closed = True
        self.gen += 1
        self.feeds.unregister(self)
        await self._drop(delete)

    def request_reset(self, reason: str) -> None:
        """Replace the consumer, resuming after the last delivered sequence (in background)."""
        if self.closed:
            return
        self.gen += 1  # stale callbacks of the current consumer ignore what they still hold
        if self._resetting:
            self._again = True
            return
        log.debug("feed %s %s: new consumer (%s)", self.engine, self.filter_subject, reason)
        self._resetting = True
        self.feeds.spawn(self._recreate())

    @property
    def resetting(self) -> bool:
        """A replacement consumer is being made."""
        return self._resetting

    async def _recreate(self) -> None:
        try:
            while not self.closed:
                self._again = False
                await self._drop(delete=True)
                self.attempted = time.monotonic()
                self.broken = True
                if self.feeds.connected:
                    try:
                        await self._create()
                        self.broken = self.missing = False
                        self.feeds.resets += 1
                    except StreamMissingError:
                        self._stream_missing()
                    except (nats.errors.Error, TimeoutError) as exc:
                        log.info("feed %s: consumer not recreated yet: %r", self.engine, exc)
                if not self._again:
                    return
        finally:
            self._resetting = False

    def _stream_missing(self) -> None:
        self.missing = self.broken = True
        self.attempted = time.monotonic()
        if self.start.begin in (Begin.NEW, Begin.SINCE) and self.last_seq is None:
            self.start = Start(Begin.ALL)  # everything it will hold is newer than us

    async def _drop(self, delete: bool) -> None:
        sub, self._sub = self._sub, None
        consumer, self._consumer = self._consumer, None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
        if consumer is not None and delete and self.feeds.connected:
            self.feeds.spawn(self.feeds.delete_consumer(self.stream, consumer))

    async def _create(self) -> Any:
        """Subscribe a fresh inbox and create the consumer delivering to it."""
        gen, nc = self.gen, self.feeds.nc
        inbox = nc.new_inbox()
        sub = await nc.subscribe(
            inbox,
            cb=self._callback(gen),
            pending_msgs_limit=self.feeds.pending_msgs_limit,
            pending_bytes_limit=self.feeds.pending_bytes_limit,
        )
        self._dseq = 0
        self.activity = time.monotonic()
        self.catching_up = True  # until the consumer says nothing is pending
        try:
            info = await self.feeds.jsm.add_consumer(
                self.stream, self._config(inbox), timeout=self.feeds.timeout
            )
        except nats.js.errors.NotFoundError:
            await _unsubscribe(sub)
            raise StreamMissingError(self.stream) from None
        except BaseException:
            await _unsubscribe(sub)
            raise
        if self.closed or gen != self.gen:  # closed or reset meanwhile: this one is stale
            await _unsubscribe(sub)
            self.feeds.spawn(self.feeds.delete_consumer(self.stream, info.name))
            raise nats.errors.Error("consumer superseded while being created")
        self._sub, self._consumer = sub, info.name
        if not info.num_pending:
            self.catching_up = False
        return info

    def _config(self, inbox: str) -> ConsumerConfig:
        config = ConsumerConfig(
            deliver_subject=inbox,
            ack_policy=AckPolicy.NONE,
            filter_subject=self.filter_subject,
            flow_control=True,
            idle_heartbeat=self.feeds.heartbeat,
            inactive_threshold=self.feeds.inactive_threshold,
            mem_storage=True,
            num_replicas=1,
        )
        start = self.start
        if self.last_seq is not None:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self.last_seq + 1
        elif start.begin is Begin.NEW:
            config.deliver_policy = DeliverPolicy.NEW
        elif start.begin is Begin.SNAPSHOT:
            config.deliver_policy = DeliverPolicy.LAST_PER_SUBJECT
        elif start.begin is Begin.SINCE:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = start.since
        else:
            config.deliver_policy = DeliverPolicy.ALL
        return config

    # --- delivery -------------------------------------------------------------------------

    def _callback(self, gen: int) -> Callable[[Msg], Awaitable[None]]:
        """The inbox callback of consumer generation ``gen`` (stale once ``gen`` moved on)."""
        live, outbox, tag = self._live, self.outbox, self.tag

        async def on_msg(msg: Msg) -> None:
            """One delivery, heartbeat or flow-control request, strictly in order."""
            if not live.is_set():
                await live.wait()
            if gen != self.gen:
                return
            self.activity = time.monotonic()
            headers = msg.headers
            if headers is not None and STATUS_HEADER in headers:
                await self._on_status(msg, headers)
                return
            position = ack_position(msg.reply)
            if position is None:
                return
            seq, dseq, pending = position
            if dseq != self._dseq + 1:
                self.request_reset(f"consumer sequence {dseq} after {self._dseq}")
                return
            self._dseq = dseq
            last = self.last_seq
            if last is not None and seq <= last:
                return  # delivered already, by the consumer this one replaced
            paced = self.catching_up and outbox.backlog >= self._watermark
            if paced and (not await self._wait_room() or gen != self.gen):
                return
            if outbox.put((tag, msg.subject, msg.data or b"null", seq)):
                self.last_seq = seq
                if not pending:
                    self._idle(seq)

        return on_msg

    def _idle(self, seq: int) -> None:
        """Nothing pending after ``seq``: caught up (a snapshot is complete)."""
        self.catching_up = False
        if self._on_caught_up is not None:
            self._caught_up(seq)

    async def _wait_room(self) -> bool:
        """Wait for room below the watermark; False if the client is gone or stuck."""
        self.waiting = True
        try:
            async with asyncio.timeout(STALL_TIMEOUT):
                return await self.outbox.wait_room(self._watermark)
        except TimeoutError:
            self.outbox.fail()
            return False
        finally:
            self.waiting = False
            self.activity = time.monotonic()

    async def _on_status(self, msg: Msg, headers: dict[str, str]) -> None:
        if headers[STATUS_HEADER] != "100":  # e.g. 409 consumer deleted
            self.request_reset(f"status {headers[STATUS_HEADER]}")
            return
        if msg.reply:  # flow control: everything before it is queued
            await self.feeds.publish(msg.reply)
            return
        stalled = headers.get(STALLED_HEADER)
        if stalled:
            await self.feeds.publish(stalled)
        last = headers.get(LAST_CONSUMER_HEADER)
        if last is not None and last.isdigit() and int(last) != self._dseq:
            self.request_reset(f"heartbeat says {last} delivered, {self._dseq} received")

    def _caught_up(self, seq: int) -> None:
        callback, self._on_caught_up = self._on_caught_up, None
        if self.last_seq is None:
            self.last_seq = seq
        if callback is not None:
            callback(seq)


async def _unsubscribe(sub: Any) -> None:
    with contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()
