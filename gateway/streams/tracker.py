"""Which WebSocket sessions are open, per endpoint, and what closed ones counted.

The metrics collector reads it at scrape time (open sessions, their outbox depths and
conflation counts); nothing here runs per event.
"""

from __future__ import annotations

from typing import Any

from gateway.streams.session import Session

ENDPOINTS = ("ws", "stream")
"""``ws``: vnpy_webtrader's ``/ws/``; ``stream``: ``/stream``."""


class SessionTracker:
    """Open sessions by endpoint, and totals that outlive them."""

    def __init__(self) -> None:
        self.live: dict[str, set[Session[Any]]] = {e: set() for e in ENDPOINTS}
        """Open sessions by endpoint."""
        self.opened: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        """Sessions accepted since start, by endpoint."""
        self.overflows: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        """Sessions closed because their outbox overflowed, by endpoint."""
        self.conflated_closed = 0
        """Ticks conflated by sessions that are closed now."""

    def open(self, endpoint: str, session: Session[Any]) -> None:
        """``session`` starts on ``endpoint``."""
        self.live[endpoint].add(session)
        self.opened[endpoint] += 1

    def close(self, endpoint: str, session: Session[Any]) -> None:
        """``session`` ended: keep what it counted."""
        self.live[endpoint].discard(session)
        self.conflated_closed += session.outbox.conflated
        if session.outbox.overflow:
            self.overflows[endpoint] += 1

    @property
    def count(self) -> int:
        """Open sessions, every endpoint."""
        return sum(len(s) for s in self.live.values())
