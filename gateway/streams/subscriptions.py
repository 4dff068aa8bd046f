"""``/stream`` subscriptions: their sources, and the durable feeds they open.

A :class:`StreamSubscription` is served by up to two sources (see :mod:`routing`): sinks on
the shared core hub for non-durable kinds, and :class:`DurableFeed` objects — one JetStream
consumer per engine — for order, trade, position and account events.  This module decides
where each feed starts (``snapshot``, ``resume_from``, or new events) and checks that a
resume point is still in the stream.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import nats.errors
import nats.js.errors

from gateway.engines import EngineDirectory
from gateway.streams.durable import Begin, DurableFeed, Start
from gateway.streams.feeds import DurableFeeds
from gateway.streams.hub import Sink
from gateway.streams.protocol import (
    ALL_ENGINES,
    FORBIDDEN,
    ProtocolError,
    RequestId,
    SnapshotEnd,
    SubscribeOp,
    frame,
    sub_prefix,
)
from gateway.streams.routing import Route, with_engine
from schemas.streams import events_stream
from schemas.subjects import check_engine_id

log = logging.getLogger(__name__)

GONE = 410
"""Error code of a ``resume_from`` the stream can no longer (or never could) honour."""


class StreamSubscription:
    """One client subscription: its id, pattern, sources and the constant head of its events."""

    __slots__ = (
        "active",
        "created",
        "engine",
        "engines",
        "feeds",
        "op",
        "opening",
        "pattern",
        "prefix",
        "route",
        "sid",
        "sink",
    )

    def __init__(
        self,
        sid: str,
        engine: str,
        pattern: str,
        route: Route,
        op: SubscribeOp | None = None,
        *,
        engines: frozenset[str] | None = None,
    ) -> None:
        self.sid, self.engine, self.pattern, self.route, self.op = sid, engine, pattern, route, op
        self.engines = engines if engine == ALL_ENGINES else frozenset((engine,))
        """Engines this subscription may deliver from (None: every engine).  Set from the
        principal when subscribing and never wider than what the principal may use."""
        self.prefix = sub_prefix(sid)
        self.active = True
        self.sink: Sink | None = None
        self.feeds: dict[str, DurableFeed] = {}
        """Durable feeds by engine id."""
        self.opening: set[str] = set()
        """Engines whose feed is being opened (``engine: "*"``)."""
        self.created = datetime.now(UTC)

    def covers(self, engine_id: str) -> bool:
        """True if events of ``engine_id`` may be delivered to this subscription."""
        return self.engines is None or engine_id in self.engines

    def durable_filter(self, engine: str) -> str:
        """The durable pattern for one engine (``wt.*.…`` becomes ``wt.{engine}.…``)."""
        assert self.route.durable is not None  # noqa: S101 - only called for durable routes
        return with_engine(self.route.durable, engine)

    async def close_feeds(self) -> None:
        """Close every durable feed (their consumers are deleted)."""
        feeds, self.feeds = list(self.feeds.values()), {}
        await asyncio.gather(*(f.close() for f in feeds), return_exceptions=True)


def check_durable_options(op: SubscribeOp, engine: str, route: Route) -> None:
    """Refuse ``snapshot`` / ``resume_from`` where they make no sense.

    Raises:
        ProtocolError: both given; no durable kind in the pattern; a number with
            ``engine: "*"`` or a map without it; a map key that is not an engine id.
    """
    rid, resume = op.id, op.resume_from
    if op.snapshot and resume is not None:
        raise ProtocolError(rid, "give snapshot or resume_from, not both", "resume_from")
    if not op.snapshot and resume is None:
        return
    if route.durable is None:
        field = "snapshot" if op.snapshot else "resume_from"
        raise ProtocolError(
            rid, "only order, trade, position and account events have a stream sequence", field
        )
    if isinstance(resume, dict):
        if engine != ALL_ENGINES:
            raise ProtocolError(rid, 'a map of sequences needs engine "*"', "resume_from")
        for key in resume:
            try:
                check_engine_id(key)
            except ValueError as exc:
                raise ProtocolError(rid, str(exc), "resume_from") from None
    elif resume is not None and engine == ALL_ENGINES:
        raise ProtocolError(
            rid,
            'sequences are per engine: with engine "*" give {"engine id": seq, ...}',
            "resume_from",
        )


async def check_resume(feeds: DurableFeeds, rid: RequestId, engine: str, after: int) -> None:
    """Refuse a resume point the engine's stream cannot continue from without a gap.

    Raises:
        ProtocolError: 410 if events after ``after`` were already removed (older than the
            retention), if ``after`` is beyond the stream's end (the stream was recreated),
            or if the stream does not exist while ``after`` > 0; 503 if JetStream is
            unavailable.
    """
    name = events_stream(engine)
    try:
        info = await feeds.jsm.stream_info(name)
    except nats.js.errors.NotFoundError:
        if after:
            raise ProtocolError(
                rid, f"engine {engine!r} has no event stream; resync over REST", "resume_from", GONE
            ) from None
        return
    except (nats.errors.Error, TimeoutError) as exc:
        raise ProtocolError(rid, f"event stream unavailable: {exc!r}", None, 503) from None
    first, last = info.state.first_seq, info.state.last_seq
    if after + 1 < first:
        raise ProtocolError(
            rid,
            f"events after {after} are no longer kept in {engine!r}'s stream (it starts at "
            f"{first}); resync over REST or subscribe with snapshot",
            "resume_from",
            GONE,
        )
    if after > last:
        raise ProtocolError(
            rid,
            f"resume_from {after} is beyond {engine!r}'s stream (last {last}): the stream was "
            "recreated; resync over REST or subscribe with snapshot",
            "resume_from",
            GONE,
        )


def start_of(op: SubscribeOp, engine: str, later: datetime | None = None) -> Start:
    """Where a feed of ``engine`` starts for ``op`` (``later``: an engine found afterwards)."""
    if op.snapshot:
        return Start(Begin.SNAPSHOT)
    resume = op.resume_from
    if isinstance(resume, dict):
        resume = resume.get(engine)
    if resume is not None:
        return Start(Begin.AFTER, seq=resume)
    if later is not None:
        return Start(Begin.SINCE, since=later)
    return Start(Begin.NEW)


class FeedOpener:
    """Opens and follows the durable feeds of one session's subscriptions.

    Args:
        feeds: the app's durable feed registry.
        engines: the engine directory (which engines ``"*"`` covers).
        outbox: the session's outbox (events and ``snapshot_end`` frames go there).
    """

    def __init__(self, feeds: DurableFeeds, engines: EngineDirectory, outbox: Any) -> None:
        self.feeds, self.engines, self.outbox = feeds, engines, outbox
        self.ended = False
        """The session ended: open nothing more."""

    async def open(self, sub: StreamSubscription) -> None:
        """Open the feed of ``sub``'s engine; for ``"*"`` of every engine up or named.

        Only engines ``sub`` covers (those its user may use) get a feed.  An engine of
        ``"*"`` that is down gets its feed when it comes up (:meth:`follow`),
        starting at this subscription's time.  The feeds are opened, not started: the
        caller queues the ack, then calls ``go()`` on each.

        Raises:
            ProtocolError: a resume point is gone (410) or JetStream is unavailable (503);
                the feeds opened meanwhile are left in ``sub.feeds`` for the caller to close.
        """
        op = sub.op or SubscribeOp(op="subscribe")
        if sub.engine != ALL_ENGINES:
            engines = [sub.engine]
        else:
            named = op.resume_from if isinstance(op.resume_from, dict) else {}
            up = (e for e, status in self.engines.known().items() if status == "up")
            engines = sorted(e for e in {*up, *named} if sub.covers(e))
        opened = await asyncio.gather(
            *(self._open(sub, e, op) for e in engines), return_exceptions=True
        )
        error: BaseException | None = None
        for engine, result in zip(engines, opened, strict=True):
            if isinstance(result, BaseException):
                error = error or result
            else:
                sub.feeds[engine] = result
        if error is not None:
            raise error

    def follow(self, sub: StreamSubscription, engine_id: str, status: str) -> None:
        """Give a durable ``"*"`` subscription a feed of ``engine_id`` (if covered) once up."""
        if (
            status == "up"
            and not self.ended
            and sub.engine == ALL_ENGINES
            and sub.active
            and sub.covers(engine_id)
            and sub.route.durable is not None
            and engine_id not in sub.feeds
            and engine_id not in sub.opening
        ):
            sub.opening.add(engine_id)
            self.feeds.spawn(self._add_engine(sub, engine_id))

    async def _add_engine(self, sub: StreamSubscription, engine: str) -> None:
        """Open the feed of an engine found after ``sub`` was made (retried until it works)."""
        op = sub.op or SubscribeOp(op="subscribe")
        try:
            feed = await self._open(sub, engine, op, later=sub.created)
        except ProtocolError as err:
            log.warning("feed of %s for %s not opened: %s", engine, sub.pattern, err.detail)
            return
        finally:
            sub.opening.discard(engine)
        if not sub.active or self.ended:
            await feed.close()
            return
        sub.feeds[engine] = feed
        feed.go()

    async def _open(
        self, sub: StreamSubscription, engine: str, op: SubscribeOp, later: datetime | None = None
    ) -> DurableFeed:
        if not sub.covers(engine):  # never: callers only pass covered engines
            raise ProtocolError(op.id, f"engine {engine!r} is not allowed", "engine", FORBIDDEN)
        start = start_of(op, engine, later)
        if start.begin is Begin.AFTER:
            await check_resume(self.feeds, op.id, engine, start.seq)
        outbox = self.outbox

        def caught_up(seq: int) -> None:
            outbox.put(frame(SnapshotEnd(sub=sub.sid, engine=engine, seq=seq)))

        feed = DurableFeed(
            self.feeds,
            engine,
            filter_subject=sub.durable_filter(engine),
            outbox=outbox,
            tag=sub,
            start=start,
            on_caught_up=caught_up,
        )
        try:
            await feed.open(retry=later is not None)
        except (nats.errors.Error, TimeoutError) as exc:
            raise ProtocolError(op.id, f"event stream unavailable: {exc!r}", None, 503) from None
        return feed
