"""Reconnect delays: exponential backoff with jitter (the JavaScript client's defaults)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays.

    ``initial`` seconds, multiplied by ``factor`` per failed attempt up to ``max``, each
    delay spread by ``±jitter`` (a fraction) so many clients do not reconnect in step.

    ``stable`` is how long a connection must have held for the next failure to start the
    sequence over (a socket closed at once keeps backing off).
    """

    initial: float = 0.5
    max: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    stable: float = 10.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before reconnect attempt ``attempt`` (0-based).

        ``rand`` returns a number in ``[0, 1)`` (tests pass a fixed one).
        """
        base = min(self.max, self.initial * self.factor ** max(0, attempt))
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))


__all__ = ["Backoff"]
