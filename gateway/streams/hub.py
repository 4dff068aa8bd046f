"""Fan-out of engine events from NATS to WebSocket clients.

The hub holds ONE NATS subscription per distinct subject pattern, reference-counted over
every client interested in it: the first :meth:`Hub.add` subscribes, the last
:meth:`Hub.remove` unsubscribes.  A NATS message is handed to each sink of its pattern as
``(subject, payload bytes, is_tick)``; the payload is never decoded.  Sinks are synchronous
and must only do trivial non-blocking work (put into a bounded client outbox), so the NATS
callback costs O(sinks of that pattern) and never awaits a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats.errors

log = logging.getLogger(__name__)

Sink = Callable[[str, bytes, bool], None]
"""Receives ``(subject, payload, is_tick)``; must not block, await or raise."""

PENDING_MSGS_LIMIT = 1_000_000
"""Messages nats-py may hold per pattern before it drops them (slow consumer)."""
PENDING_BYTES_LIMIT = 512 * 1024 * 1024
"""Bytes nats-py may hold per pattern before it drops them (slow consumer)."""
CONFIRM_TIMEOUT = 5
"""Seconds to wait for NATS to confirm a new subscription."""


def is_tick_subject(subject: str) -> bool:
    """True for ``wt.{engine}.evt.tick.…`` (the engine id holds no dot)."""
    return subject.startswith(".evt.tick.", subject.find(".", 3))


def _pattern_kind_is_tick(pattern: str) -> bool | None:
    """Whether every subject the pattern matches is a tick (None: depends on the subject)."""
    tokens = pattern.split(".")
    if len(tokens) < 4 or tokens[3] in ("*", ">"):  # noqa: PLR2004
        return None
    return tokens[3] == "tick"


class HubStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of a hub, for health and metrics endpoints."""

    patterns: int
    """NATS subscriptions held (distinct patterns)."""
    sinks: int
    """Client subscriptions attached to them."""
    messages: int
    """NATS messages fanned out since start."""
    dropped: int
    """Messages nats-py dropped because the hub fell behind (slow consumer)."""


@dataclass(eq=False)
class _Pattern:
    """One NATS subscription and the sinks that share it."""

    pattern: str
    tick: bool | None
    sinks: tuple[Sink, ...] = ()
    sub: Any = None  # nats.aio.subscription.Subscription once subscribed
    handled: int = 0

    async def on_message(self, msg: Any) -> None:
        """nats-py callback: hand the raw bytes to every sink, synchronously."""
        self.handled += 1
        subject: str = msg.subject
        data: bytes = msg.data or b"null"  # an empty body is still valid JSON downstream
        tick = self.tick if self.tick is not None else is_tick_subject(subject)
        for sink in self.sinks:
            try:
                sink(subject, data, tick)
            except Exception:
                log.exception("stream sink failed on %s", subject)

    def dropped(self) -> int:
        """Messages received from the server but dropped by nats-py (pending limits)."""
        sub = self.sub
        if sub is None:
            return 0
        return max(0, int(sub.delivered) - self.handled - int(sub.pending_msgs))


@dataclass(eq=False)
class Hub:
    """Reference-counted NATS subscriptions fanned out to in-process sinks.

    Args:
        nc: a connected ``nats.aio.client.Client``.
        pending_msgs_limit: nats-py pending message limit of each subscription.
        pending_bytes_limit: nats-py pending byte limit of each subscription.
    """

    nc: Any
    pending_msgs_limit: int = PENDING_MSGS_LIMIT
    pending_bytes_limit: int = PENDING_BYTES_LIMIT
    _patterns: dict[str, _Pattern] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _messages_before: int = 0
    _dropped_before: int = 0
    _background: set[asyncio.Future[Any]] = field(default_factory=set)

    async def add(self, pattern: str, sink: Sink) -> None:
        """Attach ``sink`` to ``pattern``, subscribing on NATS if it is the first.

        When this returns the subscription is live at the NATS server, and no message was
        handed to ``sink`` yet (the caller may queue an acknowledgement first).

        Raises:
            nats.errors.Error: the subscription could not be made (connection closed...).
        """
        async with self._lock:
            entry = self._patterns.get(pattern)
            if entry is None:
                entry = _Pattern(pattern, _pattern_kind_is_tick(pattern))
                entry.sub = await self._subscribe(entry)
                self._patterns[pattern] = entry
                try:
                    await self._confirm()
                except (nats.errors.Error, TimeoutError) as exc:  # reconnecting: SUB replayed later
                    log.warning("subscribed %s, not yet confirmed by NATS: %r", pattern, exc)
                except BaseException:  # cancelled: leave nothing behind
                    await self._unsubscribe(entry)
                    raise
            entry.sinks = (*entry.sinks, sink)

    async def _subscribe(self, entry: _Pattern) -> Any:
        """``nc.subscribe`` that, if the caller is cancelled, unsubscribes what it made."""
        task = asyncio.ensure_future(
            self.nc.subscribe(
                entry.pattern,
                cb=entry.on_message,
                pending_msgs_limit=self.pending_msgs_limit,
                pending_bytes_limit=self.pending_bytes_limit,
            )
        )
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._unsubscribe_orphan)
            raise

    async def _confirm(self) -> None:
        """Return once the server processed everything this client sent before.

        A message to a private inbox travels behind the queued SUB, so its return proves the
        SUB arrived.  (``nc.flush()`` proves nothing here: nats-py writes its PING ahead of
        commands still queued for its flusher.)
        """
        inbox = self.nc.new_inbox()
        echoed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def on_echo(msg: Any) -> None:
            if not echoed.done():
                echoed.set_result(None)

        sub = await self.nc.subscribe(inbox, cb=on_echo)
        try:
            await self.nc.publish(inbox, b"")
            await asyncio.wait_for(echoed, CONFIRM_TIMEOUT)
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    def _unsubscribe_orphan(self, task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is None:
            orphan = asyncio.ensure_future(task.result().unsubscribe())
            self._background.add(orphan)
            orphan.add_done_callback(self._background.discard)

    async def remove(self, pattern: str, sink: Sink) -> None:
        """Detach ``sink`` (at once), unsubscribing on NATS if it was the last.

        Removing a sink that is not attached does nothing.
        """
        entry = self._patterns.get(pattern)
        if entry is None or sink not in entry.sinks:
            return
        sinks = list(entry.sinks)
        sinks.remove(sink)
        entry.sinks = tuple(sinks)
        if entry.sinks:
            return
        async with self._lock:
            if not entry.sinks and self._patterns.get(pattern) is entry:
                await self._unsubscribe(entry)

    async def _unsubscribe(self, entry: _Pattern) -> None:
        self._patterns.pop(entry.pattern, None)
        self._messages_before += entry.handled
        self._dropped_before += entry.dropped()
        try:
            await entry.sub.unsubscribe()
        except nats.errors.Error as exc:  # connection closed or draining: the server forgets it
            log.debug("unsubscribe %s: %r", entry.pattern, exc)

    async def close(self) -> None:
        """Drop every subscription (at shutdown, before the NATS connection closes)."""
        async with self._lock:
            for entry in list(self._patterns.values()):
                entry.sinks = ()
                await self._unsubscribe(entry)

    def refcount(self, pattern: str) -> int:
        """Sinks attached to ``pattern`` (0 if it has no NATS subscription)."""
        entry = self._patterns.get(pattern)
        return len(entry.sinks) if entry else 0

    def stats(self) -> HubStats:
        """Current counters."""
        entries = list(self._patterns.values())
        return HubStats(
            patterns=len(entries),
            sinks=sum(len(e.sinks) for e in entries),
            messages=self._messages_before + sum(e.handled for e in entries),
            dropped=self._dropped_before + sum(e.dropped() for e in entries),
        )
