"""``Stream``: the ``/stream`` WebSocket with reconnection, resume by sequence and resync.

Contract (mirrors the JavaScript client's ``stream.js``; docs/python-client.md):

* Subscriptions belong to the client, not to one socket: each is sent again after every
  ``welcome``, so a reconnect restores all of them.
* A subscription of durable kinds resumes from the last ``seq`` it received
  (``resume_from``): every event in between is delivered, none twice.
* Its first subscribe, and a resume the gateway refuses with **410**, go through its
  ``resync(engine)`` callback when it has one (load the state over REST, return its
  ``seq``).  Without one a 410 falls back to a snapshot (when the spec asked for one) or to
  live events, with a ``gap`` notice.  A failing resync is retried with backoff.
* Reconnects back off exponentially with jitter (:class:`~webtrader_client.Backoff`),
  starting over once a connection held ``backoff.stable`` seconds.  A close ``1008`` (token
  expired) or a handshake refused with 401 refreshes the token and reconnects at once; a
  refused refresh ends the stream (``auth-required``; the iterator raises
  SessionExpiredError).
* Each new access token of the session is sent on the open socket (``{"op": "refresh"}``).
* Liveness: a ``ping`` every ``idle_timeout / 3``; no frame for three ``heartbeat`` periods
  drops the socket and reconnects.
* Delivery: each event goes to its subscription's ``on_event`` (sync or async, awaited in
  order) or, without one, to the stream's bounded queue read by ``async for event in
  stream``.  A full queue stops reading the socket (backpressure) until the application
  catches up; the gateway may then close a too-slow socket (1013) and the stream resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from webtrader_client.connection import Connection
from webtrader_client.errors import ClientError, ConnectionLostError, SessionExpiredError
from webtrader_client.frames import Event, Welcome
from webtrader_client.subscription import (
    EventHandler,
    Notice,
    NoticeHandler,
    Resync,
    Spec,
    Subscription,
)

if TYPE_CHECKING:
    from webtrader_client.client import WebTrader

log = logging.getLogger("webtrader_client.stream")

POLICY_VIOLATION = 1008
"""Close code of an expired session."""
UNAUTHORIZED = 401
MAX_FRAME = 16 * 1024 * 1024
"""Largest frame accepted (the gateway's batches are about 256 KiB)."""
OPEN_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class Stream:
    """The ``/stream`` connection of one :class:`~webtrader_client.WebTrader` session.

    Use ``async with wt.stream() as stream:`` (or :meth:`start` / :meth:`stop`).
    """

    def __init__(self, client: WebTrader, *, queue_size: int = 10_000) -> None:
        self._client = client
        self.backoff = client.backoff
        self.subscriptions: list[Subscription] = []
        self.state = "idle"
        """connecting, open, reconnecting, closed or auth-required."""
        self.connections = 0
        """Sockets that got a welcome so far."""
        self.attempt = 0
        """Failed connection attempts since the last one that held."""
        self.connection: Connection | None = None
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(queue_size)
        self._runner: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._opened = asyncio.Event()
        self._stopped = True
        self._ended = False
        self._end_error: BaseException | None = None
        self._listeners: list[NoticeHandler] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        client.session.add_listener(self._on_token)

    @property
    def stopped(self) -> bool:
        """True once stopped (or ended by the session) until :meth:`start`."""
        return self._stopped

    @property
    def welcome(self) -> Welcome | None:
        """The current socket's welcome frame (``None`` while not connected)."""
        connection = self.connection
        return None if connection is None or connection.closed else connection.welcome

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Stream:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start(self) -> None:
        """Connect (again); the subscriptions made so far are restored."""
        if self._runner is not None and not self._runner.done():
            return
        self._stopped, self._ended, self._end_error = False, False, None
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="wt-stream")

    async def stop(self) -> None:
        """Close for good (until :meth:`start`); subscriptions are kept, the iterator ends."""
        self._stopped = True
        self._wake.set()
        connection = self.connection
        if connection is not None and not connection.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.ws.close(1000, "client closed"), STOP_TIMEOUT)
        runner = self._runner
        if runner is not None and not runner.done():
            try:
                await asyncio.wait_for(asyncio.shield(runner), STOP_TIMEOUT)
            except TimeoutError:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
        if self.state != "auth-required":
            self._set_state("closed")
        self._end(None)

    def reconnect_now(self) -> None:
        """Skip the backoff wait (no-op while connected)."""
        self._wake.set()

    async def wait_open(self) -> Welcome:
        """Wait until a socket got its welcome; returns the welcome frame.

        Raises:
            SessionExpiredError: the stream ended because the session did.
            ConnectionLostError: the stream was stopped.
        """
        while True:
            if self._end_error is not None:
                raise self._end_error
            if self._ended:
                raise ConnectionLostError("the stream was stopped")
            await self._opened.wait()
            if (welcome := self.welcome) is not None:
                return welcome
            self._opened.clear()

    def on_notice(self, handler: NoticeHandler) -> None:
        """Call ``handler`` with every :class:`~webtrader_client.Notice`."""
        self._listeners.append(handler)

    # --- subscriptions ----------------------------------------------------------------------

    def subscribe(
        self,
        topic: str | None = None,
        *,
        engine: str | None = None,
        kind: str | None = None,
        vt_symbol: str | None = None,
        snapshot: bool = False,
        on_event: EventHandler | None = None,
        resync: Resync | None = None,
    ) -> Subscription:
        """Subscribe; sent now when connected, else on connect.

        Args:
            topic: a wildcard relative to ``wt.{engine}.evt.`` (``"order.>"``)...
            kind: ... or an event kind instead (``"tick"``), with
            vt_symbol: one contract (ticks: the gateway also subscribes the engine to it).
            engine: the engine (``None``: the gateway's default; ``"*"``: all).
            snapshot: durable kinds: the current state first (when there is no resume point).
            on_event: called with each event; without it events go to ``async for``.
            resync: ``resync(engine) -> seq``: load the state over REST and return the
                ``Snapshot.seq`` to resume from (first subscribe and after a 410).
        """
        spec = Spec(engine=engine, topic=topic, kind=kind, vt_symbol=vt_symbol, snapshot=snapshot)
        subscription = Subscription(self, spec, on_event, resync)
        self.subscriptions.append(subscription)
        connection = self.connection
        if connection is not None and connection.welcome is not None:
            connection.spawn(connection.send(subscription))
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription (and tell the server when connected)."""
        subscription.deactivate()
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
        connection = self.connection
        if connection is None or (sub := connection.forget(subscription)) is None:
            return
        with contextlib.suppress(ClientError):
            await connection.request({"op": "unsubscribe", "sub": sub})

    # --- delivery (Owner) -------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        """The next event of a subscription without ``on_event``.

        Raises:
            StopAsyncIteration: the stream was stopped (and every queued event was read).
            SessionExpiredError: the stream ended because the session did.
        """
        while True:
            if self._ended and self._queue.empty():
                if self._end_error is not None:
                    raise self._end_error
                raise StopAsyncIteration
            item = await self._queue.get()
            if item is not None:
                return item

    async def deliver(self, subscription: Subscription, event: Event) -> None:
        """Hand ``event`` to ``on_event``, or queue it for the iterator (waiting if full)."""
        handler = subscription.on_event
        if handler is None:
            await self._queue.put(event)
            return
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("event handler failed for %s", event.subject)

    def notify(self, notice: Notice) -> None:
        """Tell every notice handler (a failing handler is logged, not raised)."""
        for handler in list(self._listeners):
            try:
                handler(notice)
            except Exception:
                log.exception("notice handler failed")

    def opened(self, connection: Connection) -> None:
        """A socket got its welcome."""
        self.connections += 1
        self._opened.set()
        self._set_state("open")
        self.notify(Notice(kind="welcome", frame=connection.welcome))

    # --- connection loop --------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopped:
            token = self._client.session.access_token
            if token is None:
                self._need_auth("not logged in")
                return
            self._set_state("connecting")
            code, reason, held = await self._connect_once(token)
            if self.stopped:
                return
            if held >= self.backoff.stable:
                self.attempt = 0
            at_once = False
            if code in (POLICY_VIOLATION, UNAUTHORIZED):  # token expired (close or handshake)
                try:
                    await self._client.session.refresh()
                    at_once = self.attempt == 0
                except SessionExpiredError as exc:
                    self._need_auth(exc.detail)
                    return
                except ClientError:
                    pass  # no answer: back off like any failure
            delay = 0.0 if at_once else self.backoff.delay(self.attempt)
            self.attempt += 1
            self._set_state("reconnecting", delay=delay, code=code, reason=reason)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _connect_once(self, token: str) -> tuple[int | None, str, float]:
        """One socket from handshake to close: ``(close code or HTTP status, reason, held s)``."""
        began = time.monotonic()
        try:
            async with connect(
                self._client.stream_url(),
                additional_headers={"Authorization": f"Bearer {token}"},
                max_size=MAX_FRAME,
                open_timeout=OPEN_TIMEOUT,
            ) as ws:
                self.connection = Connection(ws, self)
                code, reason = await self.connection.serve()
                self._opened.clear()
                return code, reason, time.monotonic() - began
        except InvalidStatus as exc:
            status = exc.response.status_code
            return status, f"handshake refused: HTTP {status}", 0.0
        except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
            return None, f"{type(exc).__name__}: {exc}", time.monotonic() - began

    def _on_token(self, token: str | None) -> None:
        connection = self.connection
        if token is None:
            if not self._stopped:
                self._need_auth("session ended")
                if connection is not None and not connection.closed:
                    self._spawn(connection.ws.close(1000, "session ended"))
            return
        if connection is not None and connection.welcome is not None:
            connection.spawn(self._send_token(connection, token))

    async def _send_token(self, connection: Connection, token: str) -> None:
        with contextlib.suppress(ClientError):  # gone with the socket: the next one has it
            await connection.request({"op": "refresh", "token": token})

    # --- plumbing ---------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _need_auth(self, reason: str) -> None:
        self._stopped = True
        self._wake.set()
        self._set_state("auth-required", reason=reason)
        self._end(SessionExpiredError(401, f"session expired: {reason}"))

    def _end(self, error: BaseException | None) -> None:
        if self._ended:
            return
        self._ended, self._end_error = True, error
        self._opened.set()  # wake wait_open()
        for subscription in self.subscriptions:  # a `ready` never acked must not hang
            subscription.refused(error or ConnectionLostError("the stream was stopped"))
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wake the iterator (a full queue wakes it anyway)

    def _set_state(self, state: str, **extra: Any) -> None:
        self.state = state
        self.notify(Notice(kind="state", state=state, **extra))


__all__ = ["Stream"]
