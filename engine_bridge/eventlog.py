"""The engine's durable event log: ordered, acknowledged, pipelined publishing to JetStream.

Every order/trade/position/account event goes to the engine's events stream with a
``Nats-Msg-Id`` of ``{run_id}:{n}`` (``run_id`` random per bridge process, ``n`` counting
its events) and is *pipelined*: :meth:`DurableLog.publish` sends it and returns without
waiting for its acknowledgement, so the several events of one action cost one round trip,
not one each.  :meth:`DurableLog.settle` waits until every event handed over so far is
acknowledged; the bridge calls it before replying to an action, so a reply is only ever
sent for events JetStream has stored.

Order is guaranteed by chaining: each event carries ``Nats-Expected-Last-Msg-Id`` with the
id of the event sent before it (the first one after a start or a recovery
``Nats-Expected-Last-Sequence``), so JetStream stores an event only right after its
predecessor — the stream holds a prefix of what was sent, never a later event without an
earlier one, whatever else writes to it.  When an acknowledgement fails or does not come
(timeout, NATS down, stream leader election, stream missing) the log *recovers*: it stops
taking events (the engine waits: back-pressure, never a silent drop), waits for the
connection, finds out which of its unacknowledged events the stream holds (by their
``Nats-Msg-Id``), republishes the others one by one in order, and then resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from schemas.streams import MSG_ID_HEADER

logger = logging.getLogger(__name__)

EXPECTED_LAST_SEQ_HEADER = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID_HEADER = "Nats-Expected-Last-Msg-Id"
ACK_TIMEOUT = 1.0
"""Seconds to wait for an acknowledgement before recovering."""
API_TIMEOUT = 1.0
"""Seconds a JetStream API call of a recovery may take before it is tried again."""
WINDOW = 1024
"""Most events in flight (sent, not yet acknowledged) before :meth:`publish` waits."""
SCAN_LIMIT = 256
"""Most messages at the stream's end read back when finding which events it holds."""
_BACKOFF_MAX = 1.0
_POLL = 0.05


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_decode_ack = msgspec.json.Decoder(_PubAck).decode
_NO_RESPONDERS = _PubAck(error=_ApiError(code=503, description="no responders (no stream)"))


class _RetryError(Exception):
    """An acknowledgement failed during recovery; resynchronise and try again."""


@dataclass(slots=True)
class _Pending:
    """An event handed over and not yet acknowledged."""

    n: int
    msg_id: str
    subject: str
    payload: bytes
    ack: asyncio.Future[_PubAck]
    sent_at: float = 0.0


class DurableLog:
    """Ordered, acknowledged publishing of one engine's durable events (see module doc).

    ``on_missing_stream`` is awaited when the stream does not answer (no responders or
    not found) during recovery, to create it again.
    """

    def __init__(
        self,
        nc: NatsClient,
        stream: str,
        *,
        on_missing_stream: Callable[[], Awaitable[object]] | None = None,
        window: int = WINDOW,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self.nc = nc
        self._api = nc.jetstream(timeout=API_TIMEOUT)
        self.stream = stream
        self.run_id = secrets.token_hex(6)
        self.window = window
        self.ack_timeout = ack_timeout
        self.on_missing_stream = on_missing_stream
        self.last_seq = 0
        """Sequence of the last acknowledged event (the stream's end as this log knows it)."""
        self.recoveries = 0
        self.lost = 0
        """Events given up at close because they could not be acknowledged."""
        self._expected = 0
        self._chain = ""
        self._issued = 0
        self._acked = 0
        self._sends = 0
        self._pending: deque[_Pending] = deque()
        self._futures: dict[str, asyncio.Future[_PubAck]] = {}
        self._recovering = False
        self._closed = False
        self._progress = asyncio.Event()
        self._wake = asyncio.Event()
        self._trouble = asyncio.Event()
        self._inbox = ""
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------------- lifecycle

    async def start(self, last_seq: int) -> None:
        """Start from the stream's current last sequence ``last_seq``."""
        self.last_seq = self._expected = last_seq
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)
        self._task = asyncio.create_task(self._run(), name=f"eventlog {self.stream}")

    async def close(self, wait: float = 10.0) -> None:
        """Wait (up to ``wait`` seconds) for every event to be acknowledged, then stop."""
        try:
            async with asyncio.timeout(wait):
                await self.settle()
        except TimeoutError:
            self.lost += self._issued - self._acked
            logger.error("%d events not acknowledged by %s at close", self.lost, self.stream)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sub is not None and not self.nc.is_closed:
            with contextlib.suppress(NatsError):
                await self._sub.unsubscribe()
        self._advance(self._issued)

    # ------------------------------------------------------------------------- publish

    @property
    def in_flight(self) -> int:
        """Events handed over and not yet acknowledged."""
        return self._issued - self._acked

    @property
    def issued(self) -> int:
        """Events handed over since start."""
        return self._issued

    @property
    def acked(self) -> int:
        """Events acknowledged by JetStream (or found stored by a recovery) since start."""
        return self._acked

    @property
    def sends(self) -> int:
        """Publications to JetStream since start: :attr:`issued` plus every resend."""
        return self._sends

    async def publish(self, subject: str, payload: bytes) -> None:
        """Hand one event over; returns once it is sent (waits while recovering or full)."""
        while (self._recovering or len(self._pending) >= self.window) and not self._closed:
            await self._progress.wait()
        if self._closed:
            self.lost += 1
            logger.error("event log closed; event on %s not published", subject)
            return
        self._issued += 1
        n = self._issued
        loop = asyncio.get_running_loop()
        pending = _Pending(n, f"{self.run_id}:{n}", subject, payload, loop.create_future())
        self._pending.append(pending)
        if self._chain:
            headers = {MSG_ID_HEADER: pending.msg_id, EXPECTED_LAST_MSG_ID_HEADER: self._chain}
        else:
            headers = {MSG_ID_HEADER: pending.msg_id, EXPECTED_LAST_SEQ_HEADER: str(self._expected)}
        self._chain = pending.msg_id
        await self._send(pending, headers)
        self._wake.set()

    async def settle(self) -> int:
        """Wait until every event handed over so far is acknowledged; return :attr:`last_seq`."""
        target = self._issued
        while self._acked < target:
            await self._progress.wait()
        return self.last_seq

    async def _send(self, pending: _Pending, headers: dict[str, str]) -> None:
        self._sends += 1
        reply = f"{self._inbox}.{self._sends}"
        ack: asyncio.Future[_PubAck] = asyncio.get_running_loop().create_future()
        self._futures[reply] = ack
        pending.ack = ack
        pending.sent_at = asyncio.get_running_loop().time()
        try:
            await self.nc.publish(pending.subject, pending.payload, reply=reply, headers=headers)
        except NatsError as exc:  # buffer full while reconnecting, closing: no ack will come
            logger.debug("event on %s not sent (%s); will recover", pending.subject, exc)

    async def _on_ack(self, msg: Msg) -> None:
        ack = self._futures.pop(msg.subject, None)
        if ack is None or ack.done():
            return
        if not msg.data:
            status = (msg.headers or {}).get("Status", "")
            ack.set_result(
                _NO_RESPONDERS
                if status == "503"
                else _PubAck(error=_ApiError(description=f"status {status}"))
            )
        else:
            try:
                ack.set_result(_decode_ack(msg.data))
            except msgspec.DecodeError:
                ack.set_result(_PubAck(error=_ApiError(description="unreadable acknowledgement")))
        if not self._recovering:
            self._take_acks()

    def _take_acks(self) -> None:
        """Acknowledge the pending events, oldest first, whose good acknowledgement is here.

        Runs in the acknowledgement callback (no task hop on the reply's path); a failed
        acknowledgement wakes the watchdog task, which recovers.
        """
        while self._pending and self._pending[0].ack.done():
            ack = self._pending[0].ack.result()
            if ack.error is not None or ack.seq <= 0:
                self._trouble.set()
                return
            self._acknowledge(ack)

    def _advance(self, acked: int) -> None:
        self._acked = max(self._acked, acked)
        progress, self._progress = self._progress, asyncio.Event()
        progress.set()

    def _acknowledge(self, ack: _PubAck) -> None:
        head = self._pending.popleft()
        self.last_seq = ack.seq
        self._advance(head.n)

    # ------------------------------------------------------------------ acknowledgements

    async def _run(self) -> None:
        """Watchdog: recover when the oldest pending event fails or times out."""
        while True:
            try:
                await self._watch()
            except Exception:  # a bug here must not leave the engine waiting forever
                logger.exception("events stream %s: acknowledging failed", self.stream)
                await asyncio.sleep(_BACKOFF_MAX)

    async def _watch(self) -> None:
        self._trouble.clear()
        if not self._pending:
            self._wake.clear()
            await self._wake.wait()
            return
        head = self._pending[0]
        if not head.ack.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(head.sent_at + self.ack_timeout):
                    await self._trouble.wait()
        self._take_acks()
        if self._pending and self._pending[0] is head:  # failed, or no acknowledgement in time
            await self._recover(_describe(head.ack.result() if head.ack.done() else None))

    async def _recover(self, reason: str) -> None:
        """Bring the stream and the log back in line; see the module docstring."""
        self._recovering = True
        self.recoveries += 1
        logger.warning(
            "events stream %s: %s; recovering %d unacknowledged events",
            self.stream,
            reason,
            len(self._pending),
        )
        failures = 0
        while self._pending:
            self._futures.clear()  # acknowledgements of earlier sends are ignored from now on
            try:
                await self._wait_connected()
                await self._resync()
                while self._pending:
                    head = self._pending[0]
                    expected = {EXPECTED_LAST_SEQ_HEADER: str(self.last_seq)}
                    await self._send(head, {MSG_ID_HEADER: head.msg_id, **expected})
                    await asyncio.wait({head.ack}, timeout=self.ack_timeout)
                    ack = head.ack.result() if head.ack.done() else None
                    if ack is None or ack.error is not None or ack.seq <= 0:
                        raise _RetryError(_describe(ack))
                    self._acknowledge(ack)
            except (_RetryError, NatsError) as exc:  # NATS down, no leader, stream missing
                failures += 1
                if failures % 10 == 1:
                    logger.warning("events stream %s: still recovering (%s)", self.stream, exc)
                missing = isinstance(exc, NotFoundError) or "no responders" in str(exc)
                if missing:
                    await self._recreate_stream()
                await asyncio.sleep(min(_POLL * 2**failures, _BACKOFF_MAX))
            except _ClosedError:
                self.lost += len(self._pending)
                logger.error(
                    "NATS connection closed; %d events not acknowledged", len(self._pending)
                )
                self._pending.clear()
                break
        self._expected, self._chain = self.last_seq, ""
        self._recovering = False
        self._advance(self._issued if not self._pending else self._acked)
        logger.info("events stream %s: recovered at seq %d", self.stream, self.last_seq)

    async def _recreate_stream(self) -> None:
        if self.on_missing_stream is None:
            return
        try:
            await self.on_missing_stream()
        except Exception as exc:  # noqa: BLE001 - retried on the next failure
            logger.warning("events stream %s: could not ensure it (%s)", self.stream, exc)

    async def _wait_connected(self) -> None:
        # nats-py has no awaitable connection state: poll it.
        while not self.nc.is_connected:
            if self.nc.is_closed or self._closed:
                raise _ClosedError
            await asyncio.sleep(_POLL)

    async def _resync(self) -> None:
        """Drop from the pending events those the stream already holds; move to its end."""
        info = await self._api.stream_info(self.stream)
        end = int(info.state.last_seq)
        if end < self.last_seq:
            logger.warning(
                "events stream %s went back from seq %d to %d (purged or recreated)",
                self.stream,
                self.last_seq,
                end,
            )
        low = self.last_seq + 1 if end >= self.last_seq else end - len(self._pending) + 1
        start = max(low, int(info.state.first_seq), 1, end - SCAN_LIMIT + 1)
        held: dict[str, int] = {}
        for seq in range(start, end + 1):
            try:
                raw = await self._api.get_msg(self.stream, seq=seq)
            except NotFoundError:
                continue
            msg_id = (raw.headers or {}).get(MSG_ID_HEADER, "")
            if msg_id.startswith(f"{self.run_id}:"):
                held[msg_id] = seq
        for pending in list(self._pending):
            if pending.msg_id not in held:
                break
            self._acknowledge(_PubAck(seq=held[pending.msg_id]))
        if any(p.msg_id in held for p in self._pending):
            logger.warning("events stream %s holds events out of order", self.stream)
            self._pending = deque(p for p in self._pending if p.msg_id not in held)
        self.last_seq = end


class _ClosedError(Exception):
    """The connection or the log is closed: nothing more can be acknowledged."""


def _describe(ack: _PubAck | None) -> str:
    if ack is None:
        return "no acknowledgement in time"
    if ack.error is not None:
        return f"error {ack.error.code}/{ack.error.err_code} {ack.error.description}"
    return f"unexpected acknowledgement {ack}"
