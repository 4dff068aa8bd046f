"""The registry of every durable feed of the gateway, and what keeps them alive.

One :class:`DurableFeeds` per app (``app.state.durable_feeds``).  It holds the JetStream
manager and the timings, runs the background work of the feeds (bounded, tracked tasks) and
one janitor task for all of them, so a feed costs no task of its own:

* after a NATS reconnect every feed gets a new consumer at once (a restarted server lost
  them; messages in flight during the outage are gone from the old push consumer);
* a feed that heard nothing — not even an idle heartbeat — for ``stale_after`` seconds gets a
  new consumer (its server or the stream's leader went away);
* a feed without consumer (NATS was down, the stream did not exist) is retried, and a feed
  waiting for an engine's stream is retried as soon as that engine comes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client

from gateway.streams.durable import DurableFeed

log = logging.getLogger(__name__)

HEARTBEAT = 2.0
"""Seconds between idle heartbeats of each consumer."""
STALE_AFTER = 5.0
"""Seconds of silence (no event, no heartbeat) after which a consumer is replaced."""
INACTIVE_THRESHOLD = 10.0
"""Seconds the server keeps a consumer nobody listens to (orphans of a lost connection)."""
JANITOR_INTERVAL = 1.0
RETRY_MISSING = 5.0
"""Seconds between attempts on a stream that did not exist (sooner when its engine comes up)."""
MAX_REPAIRS = 64
"""Consumers (re)created at once after a reconnect."""
PENDING_MSGS_LIMIT = 100_000
PENDING_BYTES_LIMIT = 64 * 1024 * 1024


class FeedStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of the durable feeds (part of ``GET /stream/stats``)."""

    consumers: int
    """Durable feeds (one JetStream consumer each)."""
    waiting: int
    """Feeds without a consumer right now (stream missing, NATS down): retried."""
    resets: int
    """Consumers replaced since start (reconnects, gaps, lost servers)."""


class DurableFeeds:
    """Shared state and upkeep of all :class:`DurableFeed` objects.

    Args:
        nc: the gateway's NATS client.
        timeout: seconds a JetStream API request may take.
    """

    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc = nc
        self.jsm = nc.jsm(timeout=timeout)
        self.timeout = timeout
        self.heartbeat = HEARTBEAT
        self.stale_after = STALE_AFTER
        self.inactive_threshold = INACTIVE_THRESHOLD
        self.pending_msgs_limit = PENDING_MSGS_LIMIT
        self.pending_bytes_limit = PENDING_BYTES_LIMIT
        self.resets = 0
        self._feeds: set[DurableFeed] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._repairs = asyncio.Semaphore(MAX_REPAIRS)
        self._janitor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """True while the NATS connection is up."""
        return bool(self.nc.is_connected)

    def start(self) -> None:
        """Start the janitor."""
        self._janitor = asyncio.ensure_future(self._upkeep())

    async def close(self) -> None:
        """Stop every feed (consumers are left to expire) and the background work."""
        if self._janitor is not None:
            self._janitor.cancel()
        for feed in list(self._feeds):
            await feed.close(delete=False)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def register(self, feed: DurableFeed) -> None:
        """Track a feed (done by the feed once opened)."""
        self._feeds.add(feed)

    def unregister(self, feed: DurableFeed) -> None:
        """Forget a closed feed."""
        self._feeds.discard(feed)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background, tracked (cancelled at close)."""
        task = asyncio.ensure_future(self._bounded(coro))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _bounded(self, coro: Coroutine[Any, Any, Any]) -> None:
        async with self._repairs:
            try:
                await coro
            except (nats.errors.Error, TimeoutError) as exc:
                log.debug("durable feed background work failed: %r", exc)
            except Exception:
                log.exception("durable feed background work failed")

    async def publish(self, subject: str) -> None:
        """An empty message (flow-control and stall replies); lost if NATS is down."""
        with contextlib.suppress(nats.errors.Error):
            await self.nc.publish(subject, b"")

    async def delete_consumer(self, stream: str, consumer: str) -> None:
        """Delete a consumer we no longer listen to (it would expire anyway)."""
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await self.jsm.delete_consumer(stream, consumer)

    def on_reconnected(self) -> None:
        """NATS is back: give every feed a new consumer from where it stopped."""
        for feed in list(self._feeds):
            feed.request_reset("NATS reconnected")

    def on_engine_up(self, engine_id: str) -> None:
        """An engine came up: feeds waiting for its stream try again now."""
        for feed in list(self._feeds):
            if feed.missing and feed.engine == engine_id and not feed.resetting:
                feed.request_reset(f"engine {engine_id} up")

    async def _upkeep(self) -> None:
        while True:
            await asyncio.sleep(JANITOR_INTERVAL)
            if self.connected:
                self.check(time.monotonic())

    def check(self, now: float) -> None:
        """One janitor round: retry feeds without consumer, replace silent ones."""
        for feed in list(self._feeds):
            if feed.resetting or feed.closed:
                continue
            if feed.broken:
                if not feed.missing or now - feed.attempted >= RETRY_MISSING:
                    feed.request_reset("retry")
            elif not feed.waiting and now - feed.activity > self.stale_after:
                feed.request_reset(f"silent for {now - feed.activity:.1f} s")

    def stats(self) -> FeedStats:
        """Current counters."""
        return FeedStats(
            consumers=len(self._feeds),
            waiting=sum(1 for f in self._feeds if f.broken),
            resets=self.resets,
        )
