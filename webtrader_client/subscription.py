"""A ``/stream`` subscription as the application sees it: it outlives every socket.

Contract (as the JavaScript client's ``Subscription``):

* ``spec`` is what the protocol's ``subscribe`` takes: ``topic`` (a wildcard relative to
  ``wt.{engine}.evt.``) or ``kind`` (+ ``vt_symbol``), on ``engine`` (``None``: the
  gateway's default engine; ``"*"``: every engine the user may use).
* A subscription of durable kinds remembers the last ``seq`` it received (per engine for
  ``"*"``) and resumes from it after a reconnect.
* :attr:`Subscription.ready` completes with the first ``ack`` or fails with the error frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webtrader_client.frames import Ack, Event, is_durable

if TYPE_CHECKING:
    from webtrader_client.stream import Stream

ALL_ENGINES = "*"

EventHandler = Callable[[Event], Awaitable[None] | None]
"""Called with each event of the subscription (sync or async)."""
Resync = Callable[[str | None], Awaitable[int | None]]
"""``resync(engine)``: load the state over REST and return the seq to resume from
(``Snapshot.seq``), or ``None``."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What to subscribe to (see the module's contract)."""

    engine: str | None = None
    topic: str | None = None
    kind: str | None = None
    vt_symbol: str | None = None
    snapshot: bool = False

    def op(self) -> dict[str, Any]:
        """The ``subscribe`` frame's fields (without ``id``, ``snapshot``, ``resume_from``)."""
        op: dict[str, Any] = {"op": "subscribe"}
        for name in ("engine", "topic", "kind", "vt_symbol"):
            value = getattr(self, name)
            if value is not None:
                op[name] = value
        return op


class Subscription:
    """One subscription; made by :meth:`Stream.subscribe`."""

    def __init__(
        self,
        stream: Stream,
        spec: Spec,
        on_event: EventHandler | None = None,
        resync: Resync | None = None,
    ) -> None:
        self.stream = stream
        self.spec = spec
        self.on_event = on_event
        self.resync = resync
        self.durable = is_durable(spec.kind, spec.topic)
        self.all_engines = spec.engine == ALL_ENGINES
        self.seq: int | None = None
        """Last seq received (one engine)."""
        self.seqs: dict[str, int] = {}
        """Last seq received per engine (``engine="*"``)."""
        self.sub: str | None = None
        """The server's id on the current socket."""
        self.engine: str | None = spec.engine
        """The engine id (from the ack when the spec named none)."""
        self.failures = 0
        """Resync attempts that failed in a row."""
        self.resync_failed = False
        """The last resync gave up (the socket closed while it was retried)."""
        self._active = True
        self.ready: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self.ready.add_done_callback(_retrieve)

    def __repr__(self) -> str:
        return f"<Subscription {self.spec} sub={self.sub} seq={self.resume_point()}>"

    @property
    def active(self) -> bool:
        """False once unsubscribed (or ended by the server)."""
        return self._active

    def deactivate(self) -> None:
        """Mark the subscription ended (its events are no longer delivered)."""
        self._active = False

    def resume_point(self) -> int | dict[str, int] | None:
        """The ``resume_from`` to send, or ``None`` when there is none yet."""
        if self.all_engines:
            return dict(self.seqs) if self.seqs else None
        return self.seq

    def advance(self, engine: str, seq: int | None) -> None:
        """Record that every event up to ``seq`` of ``engine`` was received."""
        if seq is None:
            return
        if self.all_engines:
            self.seqs[engine] = max(self.seqs.get(engine, -1), seq)
        else:
            self.seq = seq if self.seq is None else max(self.seq, seq)

    def forget(self) -> None:
        """Forget the resume point (after a 410)."""
        self.seq = None
        self.seqs = {}

    def acked(self, ack: Ack) -> None:
        """Adopt a subscribe ``ack`` (called by the stream as the frame is read)."""
        self.sub = ack.sub
        if ack.engine and ack.engine != ALL_ENGINES:
            self.engine = ack.engine
        if not self.all_engines and self.seq is None and ack.seq is not None:
            self.seq = ack.seq  # events follow after this point
        if not self.ready.done():
            self.ready.set_result(ack)

    def refused(self, error: BaseException) -> None:
        """The first subscribe was refused (or the stream ended): :attr:`ready` fails."""
        if not self.ready.done():
            self.ready.set_exception(error)

    async def unsubscribe(self) -> None:
        """Stop the subscription (here and, when connected, on the server)."""
        await self.stream.unsubscribe(self)


def _retrieve(future: asyncio.Future[Ack]) -> None:
    """Mark a failed ``ready`` as seen (nobody may await it)."""
    if not future.cancelled():
        future.exception()


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the application may want to know about the stream.

    ``kind`` is one of ``state`` (``state``: connecting, open, reconnecting, closed,
    auth-required; ``delay`` before the next attempt; ``code``/``reason`` of the close),
    ``welcome`` (``frame``), ``resumed`` (``subscription`` resumed after ``seq`` on
    ``engine``), ``gap`` (``subscription``'s resume point was gone, 410: ``detail``),
    ``resync-failed`` (``error``, tried again after ``delay``), ``engine`` and ``nats``
    (``frame``: the gateway's notice), ``error`` (an error frame answering no request),
    ``undecodable`` (an event whose payload is not its kind's type: ``detail``).
    """

    kind: str
    state: str | None = None
    subscription: Subscription | None = None
    engine: str | None = None
    seq: int | dict[str, int] | None = None
    delay: float | None = None
    code: int | None = None
    reason: str | None = None
    detail: str | None = None
    error: BaseException | None = None
    frame: object | None = None


NoticeHandler = Callable[[Notice], None]

__all__ = [
    "ALL_ENGINES",
    "EventHandler",
    "Notice",
    "NoticeHandler",
    "Resync",
    "Spec",
    "Subscription",
]
