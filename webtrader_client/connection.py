"""One ``/stream`` socket, from its welcome to its close: frames, requests, subscribing.

A :class:`Connection` lives as long as its socket; the long-lived
:class:`~webtrader_client.stream.Stream` makes a new one per socket.  It (re)sends every
subscription after the welcome, resuming durable ones from their last ``seq`` (or through
their ``resync`` callback, or a snapshot), and falls back to a resync after a 410.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from webtrader_client.backoff import Backoff
from webtrader_client.errors import ApiError, ConnectionLostError, api_error
from webtrader_client.frames import (
    Ack,
    EngineFrame,
    ErrorFrame,
    Event,
    EventsFrame,
    NatsFrame,
    Pong,
    RawEvent,
    SnapshotEnd,
    Welcome,
    decode_data,
    decode_frame,
    subject_parts,
)
from webtrader_client.subscription import Notice, Subscription

log = logging.getLogger("webtrader_client.stream")

GONE = 410
NO_HEARTBEAT = 4000
"""Close code the client uses for a silent (half-open) connection."""
WELCOME_TIMEOUT = 10.0
"""Seconds to wait for the welcome frame after the handshake."""


class Owner(Protocol):
    """What a connection needs from its stream."""

    backoff: Backoff
    subscriptions: list[Subscription]

    async def deliver(self, subscription: Subscription, event: Event) -> None:
        """Hand an event to the application."""

    def notify(self, notice: Notice) -> None:
        """Tell the application's notice handlers."""

    def opened(self, connection: Connection) -> None:
        """The welcome arrived."""


class Connection:
    """One socket's session (see the module's docstring)."""

    def __init__(self, ws: ClientConnection, owner: Owner) -> None:
        self.ws = ws
        self.owner = owner
        self.welcome: Welcome | None = None
        self.closed = False
        self._by_sub: dict[str, Subscription] = {}
        self._pending: dict[str, tuple[asyncio.Future[Any], Subscription | None]] = {}
        self._next_id = 1
        self._tasks: set[asyncio.Task[Any]] = set()

    async def serve(self) -> tuple[int | None, str]:
        """Read frames until the socket closes or falls silent: ``(close code, reason)``."""
        try:
            while True:
                try:
                    async with asyncio.timeout(self._silence_limit()):
                        raw = await self.ws.recv()
                except TimeoutError:
                    reason = "no frame from the server"
                    await self.ws.close(NO_HEARTBEAT, reason)
                    return NO_HEARTBEAT, reason
                await self._on_frame(raw)
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                return exc.rcvd.code, exc.rcvd.reason
            return None, str(exc)
        finally:
            self._detach()

    def _silence_limit(self) -> float | None:
        if self.welcome is None:
            return WELCOME_TIMEOUT
        return 3 * self.welcome.heartbeat if self.welcome.heartbeat > 0 else None

    def _detach(self) -> None:
        """Pending requests fail; subscriptions wait for the next socket."""
        self.closed = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for subscription in self._by_sub.values():
            subscription.sub = None
        self._by_sub.clear()
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError("connection lost"))
                future.exception()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` for as long as this socket lives."""
        if self.closed:
            if inspect.iscoroutine(coro):
                coro.close()
            return
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(_finished(self._tasks))

    # --- frames ----------------------------------------------------------------------------

    async def _on_frame(self, raw: str | bytes) -> None:
        frame = decode_frame(raw)
        if isinstance(frame, EventsFrame):
            await self._on_events(frame.events)
        elif isinstance(frame, Ack | Pong):
            self._settle(frame)
        elif isinstance(frame, ErrorFrame):
            self._on_error(frame)
        elif isinstance(frame, SnapshotEnd):
            if subscription := self._by_sub.get(frame.sub):
                subscription.advance(frame.engine, frame.seq)
        elif isinstance(frame, Welcome):
            self.welcome = frame
            if frame.idle_timeout > 0:
                self.spawn(self._keepalive(frame.idle_timeout / 3))
            self.owner.opened(self)
            for subscription in self.owner.subscriptions:
                self.spawn(self.send(subscription))
        elif isinstance(frame, EngineFrame):
            self.owner.notify(Notice(kind="engine", engine=frame.engine_id, frame=frame))
        elif isinstance(frame, NatsFrame):
            self.owner.notify(Notice(kind="nats", state=frame.status, frame=frame))

    async def _on_events(self, events: list[RawEvent]) -> None:
        for raw in events:
            subscription = self._by_sub.get(raw.sub)
            if subscription is None:
                continue
            try:
                engine, kind = subject_parts(raw.subject)
                data = decode_data(kind, raw.data)
            except (ValueError, msgspec.ValidationError, msgspec.DecodeError) as exc:
                log.error("undecodable event on %s: %s", raw.subject, exc)
                self.owner.notify(
                    Notice(kind="undecodable", subscription=subscription, detail=str(exc))
                )
                continue
            subscription.advance(engine, raw.seq)
            event = Event(subscription, engine, kind, raw.subject, raw.seq, data, bytes(raw.data))
            await self.owner.deliver(subscription, event)

    def _settle(self, frame: Ack | Pong | ErrorFrame) -> bool:
        """Resolve the request a reply answers; False if none."""
        entry = None if frame.id is None else self._pending.pop(str(frame.id), None)
        if entry is None:
            return False
        future, subscription = entry
        if isinstance(frame, ErrorFrame):
            future.set_exception(
                api_error(frame.code, {"detail": frame.detail, "field": frame.field})
            )
            return True
        if subscription is not None and isinstance(frame, Ack) and frame.sub is not None:
            # adopt the sub now, before the next frame: its events may follow at once
            self._by_sub[frame.sub] = subscription
            subscription.acked(frame)
        future.set_result(frame)
        return True

    def _on_error(self, frame: ErrorFrame) -> None:
        if frame.sub is not None and (subscription := self._by_sub.pop(frame.sub, None)):
            # the server ended it (a refreshed token no longer allows it): so do we
            subscription.deactivate()
            subscription.sub = None
            if subscription in self.owner.subscriptions:
                self.owner.subscriptions.remove(subscription)
        if not self._settle(frame):
            self.owner.notify(
                Notice(kind="error", code=frame.code, detail=frame.detail, frame=frame)
            )

    def forget(self, subscription: Subscription) -> str | None:
        """Stop routing a subscription's events; returns its ``sub`` on this socket."""
        sub, subscription.sub = subscription.sub, None
        if sub is not None:
            self._by_sub.pop(sub, None)
        return sub

    # --- requests ---------------------------------------------------------------------------

    async def request(self, op: dict[str, Any], subscription: Subscription | None = None) -> Any:
        """Send ``op`` with a fresh ``id``; returns its ``ack``/``pong``.

        Raises:
            ApiError: the ``error`` frame answering it (subclass by ``code``).
            ConnectionLostError: the socket closed first.
        """
        if self.closed or self.welcome is None:
            raise ConnectionLostError("not connected")
        rid = f"c{self._next_id}"
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (future, subscription)
        try:
            await self.ws.send(msgspec.json.encode({**op, "id": rid}).decode())
        except ConnectionClosed as exc:
            self._pending.pop(rid, None)
            raise ConnectionLostError("connection lost") from exc
        return await future

    async def send(self, subscription: Subscription, mode: str = "resume") -> None:
        """Send one subscription on this socket.

        ``mode`` "resume": from the last seq (or, the first time, via resync or snapshot);
        "resync": after a 410; "plain": no resume point at all (a second 410).
        """
        op = subscription.spec.op()
        resumed_from = subscription.resume_point() if mode == "resume" else None
        if subscription.durable and mode != "plain":
            point = resumed_from
            if point is None and subscription.resync is not None and not subscription.all_engines:
                point = await self._resync(subscription)
                if self.closed:
                    return
            if point is not None:
                op["resume_from"] = point
            elif subscription.spec.snapshot:
                op["snapshot"] = True
        if self.closed or not subscription.active:
            return
        try:
            await self.request(op, subscription)
        except ConnectionLostError:
            return
        except ApiError as error:
            await self._refused(subscription, mode, "resume_from" in op, error)
            return
        if resumed_from is not None:
            self.owner.notify(
                Notice(
                    kind="resumed",
                    subscription=subscription,
                    engine=subscription.engine,
                    seq=resumed_from,
                )
            )
        if subscription not in self.owner.subscriptions:  # unsubscribed while the ack flew
            with contextlib.suppress(ApiError, ConnectionLostError):
                await self.request({"op": "unsubscribe", "sub": self.forget(subscription)})

    async def _refused(
        self, subscription: Subscription, mode: str, resumed: bool, error: ApiError
    ) -> None:
        if error.status == GONE and resumed:
            subscription.forget()
            if mode == "resume":
                self.owner.notify(
                    Notice(
                        kind="gap",
                        subscription=subscription,
                        engine=subscription.engine,
                        detail=error.detail,
                    )
                )
            await self.send(subscription, "resync" if mode == "resume" else "plain")
            return
        subscription.refused(error)
        self.owner.notify(
            Notice(
                kind="error",
                subscription=subscription,
                code=error.status,
                detail=error.detail,
                error=error,
            )
        )

    async def _resync(self, subscription: Subscription) -> int | None:
        """The subscription's ``resync(engine)``, retried with backoff while this socket lives."""
        resync = subscription.resync
        while resync is not None and not self.closed and subscription.active:
            try:
                point = await resync(subscription.engine)
            except Exception as exc:  # noqa: BLE001 - the application's callback: report, retry
                delay = self.owner.backoff.delay(subscription.failures)
                subscription.failures += 1
                self.owner.notify(
                    Notice(
                        kind="resync-failed",
                        subscription=subscription,
                        engine=subscription.engine,
                        error=exc,
                        delay=delay,
                    )
                )
                await asyncio.sleep(delay)
                continue
            subscription.failures = 0
            if isinstance(point, int):
                subscription.seq = point
                return point
            return None
        return None

    async def _keepalive(self, interval: float) -> None:
        """A ``ping`` every ``interval`` s: the gateway closes silent clients (4408)."""
        while not self.closed:
            await asyncio.sleep(interval)
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send('{"op":"ping"}')


def _finished(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("stream task failed: %r", exc, exc_info=exc)

    return done


__all__ = ["Connection", "Owner"]
