"""Events from VeighNa's threads to the bridge's asyncio loop, without blocking the loop.

VeighNa calls its handlers on the ``EventEngine`` thread.  A :class:`Handoff` takes each
event there and hands it to one consumer task on the loop, which awaits the engine's
processing (caches, then the bridge's listener) one item at a time, in arrival order.

* **One FIFO, bounded.**  Items wait in a deque.  Orders, trades, positions, accounts,
  contracts, quotes, logs and fences each take one of ``capacity`` slots (a
  ``threading.Semaphore``), released once the consumer has processed the item.  When no
  slot is free, :meth:`Handoff.put` waits **on the calling (VeighNa) thread** until one is
  — back-pressure reaches the gateway the way a slow VeighNa handler would; these items
  are never dropped (only once the handoff is closed, with a warning).
* **Ticks conflated per contract.**  :meth:`Handoff.put_tick` never waits: the newest tick
  of each ``vt_symbol`` is kept aside and the FIFO holds one marker per contract with a
  tick pending.  A tick arriving while its contract's previous tick is still pending
  replaces it and counts in :attr:`Handoff.dropped_ticks`.  Markers are bounded by the
  number of contracts, so the FIFO holds at most ``capacity`` + contracts items.
* **Waking the loop.**  The producer appends, then wakes the consumer with
  ``loop.call_soon_threadsafe`` only when it is asleep, so a busy consumer costs the
  producer no syscall per event.  The loop never waits on a lock the producer holds for
  longer than a dict operation.

Nothing here runs a blocking call on the loop: the consumer only pops and awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from schemas.objects import TickData

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CAPACITY = 10_000
"""Non-tick items in flight at most before VeighNa's thread waits."""

_WAIT_STEP = 0.5
"""Seconds a waiting producer sleeps between checks that the handoff is still open."""


class _TickSlot:
    """FIFO marker: "the pending tick of ``key`` goes here"."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


class Handoff(Generic[T]):
    """A bounded, order-keeping handoff from other threads to one consumer on ``loop``.

    ``process`` is awaited on the loop for every item (ticks as :class:`TickData`, the
    rest as put); it should not raise — if it does, the error is logged and the consumer
    goes on.  Call :meth:`run` as a task; :meth:`close` makes it return once every item
    put before is processed.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        process: Callable[[T | TickData], Awaitable[None]],
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._loop = loop
        self._process = process
        self._items: deque[T | _TickSlot | None] = deque()
        self._slots = threading.Semaphore(capacity)
        self._ticks: dict[str, TickData] = {}
        self._ticks_lock = threading.Lock()
        self._asleep = False
        self._wake = asyncio.Event()
        self._closed = False
        self.capacity = capacity
        self.dropped_ticks = 0
        """Ticks replaced by a newer tick of their contract before they were processed."""
        self.waits = 0
        """Times a producer found no free slot and had to wait."""

    # ------------------------------------------------------------- producer side (threads)

    def put(self, item: T) -> bool:
        """Queue ``item``, waiting on this thread while the handoff is full.

        Never call it on the loop's thread (it may wait).  Returns False if the handoff
        was closed before the item could be queued (the item is dropped, with a warning).
        """
        if not self._slots.acquire(blocking=False):
            self.waits += 1
            while not self._slots.acquire(timeout=_WAIT_STEP):
                if self._closed:
                    logger.warning("handoff closed while full: an event was not delivered")
                    return False
        if self._closed:
            self._slots.release()
            logger.warning("handoff closed: an event was not delivered")
            return False
        self._items.append(item)
        self._notify()
        return True

    def put_tick(self, tick: TickData) -> None:
        """Queue ``tick``, replacing its contract's pending tick if there is one; never waits."""
        key = tick.vt_symbol
        with self._ticks_lock:
            pending = key in self._ticks
            self._ticks[key] = tick
            if pending:
                self.dropped_ticks += 1
                return
        if self._closed:
            return
        self._items.append(_TickSlot(key))
        self._notify()

    def _notify(self) -> None:
        if self._asleep:
            self._asleep = False
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    # ----------------------------------------------------------------- consumer side (loop)

    @property
    def pending(self) -> int:
        """Items queued and not yet processed (markers of pending ticks included)."""
        return len(self._items)

    def close(self) -> None:
        """No more items; :meth:`run` returns after processing those already queued.

        Call it on the loop's thread.
        """
        if self._closed:
            return
        self._closed = True
        self._items.append(None)
        self._asleep = False
        self._wake.set()

    async def run(self) -> None:
        """Process items in order until :meth:`close`; run it as one task on the loop."""
        items = self._items
        while True:
            while items:
                item = items.popleft()
                if item is None:
                    return
                if isinstance(item, _TickSlot):
                    with self._ticks_lock:
                        tick = self._ticks.pop(item.key)
                    await self._safely(tick)
                    continue
                try:
                    await self._safely(item)
                finally:
                    self._slots.release()
            self._wake.clear()
            self._asleep = True
            if items:  # appended after the inner loop looked, before we said we sleep
                self._asleep = False
                continue
            await self._wake.wait()

    async def _safely(self, item: T | TickData) -> None:
        try:
            await self._process(item)
        except Exception:
            logger.exception("processing a VeighNa event failed")
