"""The per-client outbox: bounded, conflating for ticks, failing loudly when overrun.

Producers (the hub's NATS callbacks, the session itself) put synchronously and never wait;
one writer task per client takes batches and sends them.  Two bounds:

* ticks are *conflated* once the client is behind: :meth:`Outbox.put_latest` queues every
  tick while fewer than ``conflate_after`` ticks wait (a healthy client gets them all), and
  past that keeps only the newest item per key (subject), so their number is bounded by
  ``conflate_after`` plus the distinct keys;
* everything else (orders, trades, positions, accounts, logs, control frames...) is a FIFO
  of at most ``limit`` items.

Overrunning either bound never drops silently: the outbox *fails* — it discards its content,
refuses further items, wakes the writer (whose :meth:`Outbox.take` raises
:class:`OutboxOverflowError`) and sets :attr:`Outbox.failed` so the session disconnects the client
(WebSocket close code 1013).  Items are taken in arrival order; a superseded tick moves to
the position of its newest version.

A producer that can wait (a JetStream consumer catching up, whose source keeps the events)
paces itself with :meth:`Outbox.wait_room` instead of overrunning the bound.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_CONFLATE_AFTER = 256
"""Ticks queued unconflated before conflation starts (about 0.25 s of a 1k ticks/s feed)."""


class OutboxOverflowError(Exception):
    """The client fell too far behind; ``backlog`` events were waiting for it."""

    def __init__(self, backlog: int) -> None:
        super().__init__(f"too slow: {backlog} events backlog")
        self.backlog = backlog


class Outbox(Generic[T]):
    """Bounded outbox of one client.

    Args:
        limit: most FIFO (non-tick) items held; one more fails the outbox.
        conflate_limit: most distinct conflation keys held (default: ``limit``).
        conflate_after: ticks queued as they come before newer ones replace older ones of
            the same key (0: always conflate).
    """

    __slots__ = (
        "_fifo",
        "_fifo_ticks",
        "_latest",
        "_room",
        "_seq",
        "_wakeup",
        "conflate_after",
        "conflate_limit",
        "conflated",
        "failed",
        "limit",
        "overflow",
    )

    def __init__(
        self,
        limit: int,
        conflate_limit: int | None = None,
        conflate_after: int = DEFAULT_CONFLATE_AFTER,
    ) -> None:
        if limit < 1:
            raise ValueError("outbox limit must be at least 1")
        self.limit = limit
        self.conflate_limit = conflate_limit or limit
        self.conflate_after = conflate_after
        self._fifo: deque[tuple[int, T, bool]] = deque()  # (seq, item, is_tick)
        self._fifo_ticks = 0
        self._latest: OrderedDict[Hashable, tuple[int, T]] = OrderedDict()
        self._seq = 0
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self.failed = asyncio.Event()
        """Set once the outbox overflowed."""
        self.overflow = 0
        """Backlog at the moment of overflow (0 while healthy)."""
        self.conflated = 0
        """Items superseded by a newer one with the same key before being taken."""

    def __len__(self) -> int:
        return len(self._fifo) + len(self._latest)

    def put(self, item: T) -> bool:
        """Queue ``item`` in the FIFO; False if the outbox is (now) failed."""
        if self.overflow:
            return False
        if len(self._fifo) - self._fifo_ticks >= self.limit:
            self._fail()
            return False
        self._seq += 1
        self._fifo.append((self._seq, item, False))
        self._wakeup.set()
        return True

    def put_latest(self, key: Hashable, item: T) -> bool:
        """Queue tick ``item``; once behind, replace a queued item of the same ``key``.

        Returns False if the outbox is (now) failed.
        """
        if self.overflow:
            return False
        latest = self._latest
        self._seq += 1
        if self._fifo_ticks < self.conflate_after and key not in latest:
            self._fifo.append((self._seq, item, True))
            self._fifo_ticks += 1
        elif key in latest:
            self.conflated += 1
            latest[key] = (self._seq, item)
            latest.move_to_end(key)
        elif len(latest) >= self.conflate_limit:
            self._fail()
            return False
        else:
            latest[key] = (self._seq, item)
        self._wakeup.set()
        return True

    @property
    def backlog(self) -> int:
        """FIFO (non-tick) items waiting."""
        return len(self._fifo) - self._fifo_ticks

    async def wait_room(self, below: int) -> bool:
        """Wait until fewer than ``below`` non-tick items wait; False if the outbox failed."""
        while self.backlog >= below and not self.overflow:
            self._room.clear()
            await self._room.wait()
        return not self.overflow

    def fail(self) -> None:
        """Give up on the client now, as an overrun would (the session closes with 1013)."""
        if not self.overflow:
            self._fail()

    def _fail(self) -> None:
        self.overflow = len(self) + 1
        self._fifo.clear()
        self._fifo_ticks = 0
        self._latest.clear()
        self._wakeup.set()
        self._room.set()
        self.failed.set()

    async def take(self, max_items: int) -> list[T]:
        """Wait for items and return up to ``max_items`` of them, oldest first.

        Raises:
            OutboxOverflowError: the outbox failed (now or while waiting).
        """
        while not (self._fifo or self._latest or self.overflow):
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.overflow:
            raise OutboxOverflowError(self.overflow)
        return self.take_nowait(max_items)

    def take_nowait(self, max_items: int) -> list[T]:
        """Up to ``max_items`` queued items, oldest first (possibly none)."""
        fifo, latest = self._fifo, self._latest
        out: list[T] = []
        if fifo:
            self._room.set()
        ticks = 0
        if not latest:
            while fifo and len(out) < max_items:
                _, item, is_tick = fifo.popleft()
                out.append(item)
                ticks += is_tick
            self._fifo_ticks -= ticks
            return out
        while len(out) < max_items:
            if fifo and (not latest or fifo[0][0] < next(iter(latest.values()))[0]):
                _, item, is_tick = fifo.popleft()
                out.append(item)
                ticks += is_tick
            elif latest:
                out.append(latest.popitem(last=False)[1][1])
            else:
                break
        self._fifo_ticks -= ticks
        return out
