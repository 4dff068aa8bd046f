"""Login rate limiting: failed attempts per user name and per client address.

A sliding-window log per key: the times of the last ``limit`` failures.  A key with
``limit`` failures in the last ``window`` seconds is blocked until the oldest of them
leaves the window; that wait is the 429's ``Retry-After``.  An attempt is counted when it
*starts* (so concurrent guesses cannot all slip past the check while their password
hashes run) and withdrawn if it succeeds: a successful login does not count, and it clears
its user's failures.  Memory is bounded: at most ``max_keys`` keys per table, evicting
expired keys first, then the least recently failed.  Pure in-memory, one process; no I/O.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000
"""Default bound on the keys tracked by each table."""
MAX_NAME = 64
"""Longer user names are cut to this for the key (no such user can exist anyway)."""


class SlidingWindow:
    """Failure times per key, at most ``limit`` each, for at most ``max_keys`` keys."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._log: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._log)

    def _live(self, key: str, now: float) -> deque[float] | None:
        times = self._log.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._log[key]
            return None
        return times

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: not blocked)."""
        now = self._clock()
        times = self._live(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return times[0] + self.window - now

    def hit(self, key: str) -> float:
        """Record one attempt of ``key``; returns its time (to :meth:`forgive` it)."""
        now = self._clock()
        times = self._live(key, now)
        if times is None:
            self._make_room(now)
            times = self._log[key] = deque(maxlen=self.limit)
        times.append(now)
        self._log.move_to_end(key)
        return now

    def forgive(self, key: str, stamp: float | None = None) -> None:
        """Withdraw the attempt recorded at ``stamp``, or (None) every attempt of ``key``."""
        times = self._log.get(key)
        if times is None:
            return
        if stamp is None:
            times.clear()
        else:
            try:
                times.remove(stamp)
            except ValueError:
                return
        if not times:
            del self._log[key]

    def _make_room(self, now: float) -> None:
        if len(self._log) < self.max_keys:
            return
        for key in list(self._log)[: max(1, self.max_keys // 10)]:
            self._live(key, now)  # drops the key if all its failures expired
        while len(self._log) >= self.max_keys:
            self._log.popitem(last=False)  # least recently failed


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt in progress."""

    user: str
    address: str
    stamp_user: float
    stamp_address: float


class LoginLimiter:
    """Both limits of ``POST /token``: per user name and per client address."""

    def __init__(
        self,
        per_user: int,
        per_address: int,
        window: float,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = SlidingWindow(per_user, window, max_keys, clock)
        self.addresses = SlidingWindow(per_address, window, max_keys, clock)

    def begin(self, username: str, address: str) -> tuple[Attempt | None, float]:
        """Start an attempt: ``(attempt, 0)``, or ``(None, retry_after)`` when blocked.

        A blocked attempt is not recorded (waiting ``Retry-After`` is enough).
        """
        user = username[:MAX_NAME]
        wait = max(self.users.retry_after(user), self.addresses.retry_after(address))
        if wait > 0:
            return None, wait
        return Attempt(user, address, self.users.hit(user), self.addresses.hit(address)), 0.0

    def succeeded(self, attempt: Attempt) -> None:
        """The login was right: withdraw it and clear the user's failures."""
        self.users.forgive(attempt.user)
        self.addresses.forgive(attempt.address, attempt.stamp_address)
