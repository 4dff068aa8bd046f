"""The bridge: one engine on NATS — events out, requests in, heartbeat, clean shutdown.

``run_bridge`` connects (reconnecting forever); :meth:`Bridge.start` creates or updates the
engine's JetStream streams and KV bucket, restores the engine from its events stream,
starts it with an :class:`~engine_bridge.publisher.EventPublisher` as its listener, serves
every op of ``docs/subjects.md`` as a ``nats.micro`` service and publishes a heartbeat at
start and every :data:`~schemas.messages.HEARTBEAT_INTERVAL` seconds, until told to stop.

:meth:`Bridge.stop` lets in-flight requests finish (new ones are answered ``503``), stops
the engine after its current step, waits for every event to be acknowledged by JetStream,
then drains the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.micro.request import Request
from nats.micro.service import Service, ServiceConfig

from engine_bridge.engine import Engine
from engine_bridge.eventlog import DurableLog
from engine_bridge.handlers import VERSION, Handler, Operations
from engine_bridge.idempotency import ClientOrders
from engine_bridge.jetstream import StreamOptions, ensure_layout, retry_transient
from engine_bridge.metrics import BridgeMetrics, BridgeService
from engine_bridge.publisher import EventPublisher
from engine_bridge.replies import error_headers, log_request, request_id_of, respond, with_id
from engine_bridge.restore import read_state
from engine_bridge.settings import BridgeSettings
from schemas import natsauth
from schemas.codec import encode
from schemas.errors import ErrorBody, WebTraderError
from schemas.logs import request_id
from schemas.messages import HEARTBEAT_INTERVAL, SERVICE_NAME, Heartbeat
from schemas.streams import events_stream
from schemas.subjects import EventKind, Op, event_subject, request_group, request_subject

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error in the engine bridge (see its log)"
STOPPING = "engine bridge stopping; retry shortly"
STOP_WAIT = 10.0
"""Seconds :meth:`Bridge.stop` waits for in-flight requests, then for acknowledgements."""
MAX_CONCURRENT_REQUESTS = 64
"""Most requests served at once; further ones wait in NATS (back-pressure on the endpoint)."""


class Bridge:
    """One engine served on one NATS connection under one engine id."""

    def __init__(
        self,
        nc: NatsClient,
        engine: Engine,
        engine_id: str,
        options: StreamOptions | None = None,
    ) -> None:
        self.nc = nc
        self.engine = engine
        self.engine_id = engine_id
        self.options = options or StreamOptions()
        self.started = datetime.now(UTC)
        self.js = nc.jetstream()
        self.log = DurableLog(nc, events_stream(engine_id), on_missing_stream=self.ensure_layout)
        self.client_orders = ClientOrders(nc, self.js, engine, engine_id)
        self.ops = Operations(
            engine, engine_id, self.started, log=self.log, client_orders=self.client_orders
        )
        self.publisher = EventPublisher(nc, engine_id, self.log)
        self.service: Service | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._beats = 0
        self._stopping = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[object]] = set()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
        self._requests: set[asyncio.Task[None]] = set()
        self._serving = False
        self.metrics = BridgeMetrics(self)
        """Request stats (``$SRV`` STATS) and the Prometheus registry of this bridge."""

    @property
    def serving(self) -> bool:
        """True from the end of :meth:`start` until :meth:`stop` begins."""
        return self._serving

    @property
    def in_flight(self) -> int:
        """Requests being served now."""
        return self._in_flight

    @property
    def beats(self) -> int:
        """Heartbeats published since start."""
        return self._beats

    async def ensure_layout(self) -> int:
        """Create or update the engine's streams and bucket; the events stream's last seq."""
        return await ensure_layout(self.js, self.engine_id, self.options)

    async def start(self) -> None:
        """Set up JetStream, restore the engine, start it, serve, publish the first heartbeat.

        Waits (retrying) while JetStream is not available.
        """
        last_seq = await retry_transient("stream setup", self.ensure_layout)
        state = await retry_transient(
            "restore",
            lambda: read_state(
                self.js, self.engine_id, last_seq, ticks=self.options.tick_snapshots
            ),
        )
        await self.engine.restore(state)
        await self.client_orders.open()
        await self.log.start(last_seq)
        await self.engine.start(self.publisher)
        self.service = BridgeService(
            self.nc,
            ServiceConfig(
                name=SERVICE_NAME,
                version=VERSION,
                description=f"webtrader engine bridge ({self.engine.kind})",
                metadata={"engine_id": self.engine_id, "engine": self.engine.kind},
            ),
            self.metrics.requests,
        )
        await self.service.start()
        group = self.service.add_group(name=request_group(self.engine_id))
        for op, handler in self.ops.handlers().items():
            await group.add_endpoint(
                name=op.value, subject=op.value, handler=functools.partial(self.serve, op, handler)
            )
        await self._check_serving()
        await self.beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="heartbeat")
        self._serving = True

    async def _check_serving(self) -> None:
        """Answer our own ``info`` once: proof the server routes requests to our endpoints.

        ``flush()`` is no such proof: nats-py writes its PING ahead of queued SUBs.  A
        request on the same connection is queued behind them, so its reply is.
        """
        await self.nc.request(request_subject(self.engine_id, Op.INFO), b"", timeout=10)

    def reconnected(self) -> None:
        """After a reconnection: ensure the streams again (a restarted server may lack them)."""
        task: asyncio.Task[object] = asyncio.create_task(
            retry_transient("stream setup after reconnect", self.ensure_layout)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Finish in-flight requests, stop the engine, wait for acknowledgements, drain NATS.

        Requests arriving meanwhile (and those queued behind the in-flight ones, answered
        while the connection drains) get ``503``.
        """
        self._stopping = True
        self._serving = False
        try:
            async with asyncio.timeout(STOP_WAIT):
                await self._idle.wait()
        except TimeoutError:
            logger.warning("%d requests still running at stop", self._in_flight)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for task in list(self._tasks):
            task.cancel()
        try:
            async with asyncio.timeout(STOP_WAIT):  # its current step may wait for JetStream
                await self.engine.stop()
        except TimeoutError:
            logger.error("engine did not stop within %g s (JetStream unreachable?)", STOP_WAIT)
        await self.log.close(STOP_WAIT)
        await self.client_orders.close(STOP_WAIT)
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except NatsError as exc:  # e.g. reconnecting right now: close without draining
                logger.warning("could not drain the NATS connection (%s); closing it", exc)
                await self.nc.close()

    # ---------------------------------------------------------------------- heartbeat

    async def beat(self) -> None:
        """Publish one heartbeat."""
        self._beats += 1
        hb = Heartbeat(
            engine_id=self.engine_id,
            time=datetime.now(UTC),
            seq=self._beats,
            info=await self.ops.engine_info(),
        )
        subject = event_subject(self.engine_id, EventKind.HEARTBEAT)
        await self.publisher.publish(subject, encode(hb), EventKind.HEARTBEAT)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            try:
                await self.beat()
            except Exception:
                logger.exception("heartbeat failed")

    # ------------------------------------------------------------------------ requests

    async def serve(self, op: Op, handler: Handler, request: Request) -> None:
        """Run ``handler`` on ``request`` in its own task and reply; never raises.

        Requests are served concurrently, at most :data:`MAX_CONCURRENT_REQUESTS` at once
        (an endpoint's subscription waits for a free slot, so NATS holds the rest).  Most of
        a request's time is spent waiting for JetStream acknowledgements, which overlap.

        A :class:`WebTraderError` becomes an error reply with its code and body; anything
        else is logged with its traceback and answered ``500`` with a generic message.
        While stopping, requests are answered ``503`` at once.  Every request is recorded
        (:class:`~engine_bridge.metrics.RequestStats`) and logged with its request id.
        """
        if self._stopping:
            started, rid = time.perf_counter(), request_id_of(request)
            body = encode(ErrorBody(detail=STOPPING))
            status = await respond(request, body, error_headers(503, STOPPING, rid))
            self._done(op, status, STOPPING, time.perf_counter() - started, rid)
            return
        await self._slots.acquire()
        self._in_flight += 1
        self._idle.clear()
        task = asyncio.create_task(self._serve_in_slot(op, handler, request))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _serve_in_slot(self, op: Op, handler: Handler, request: Request) -> None:
        started, rid = time.perf_counter(), request_id_of(request)
        request_id.set(rid)  # this task's context: the engine's log lines carry it too
        try:
            status, error = await self._serve(op, handler, request, rid)
            self._done(op, status, error, time.perf_counter() - started, rid)
        finally:
            self._slots.release()
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _serve(
        self, op: Op, handler: Handler, request: Request, rid: str | None
    ) -> tuple[int, str]:
        """Handle and reply; the status sent and the error message (if any)."""
        try:
            reply = await handler(request.data)
        except WebTraderError as exc:
            headers = error_headers(exc.code, exc.detail, rid)
            return await respond(request, encode(exc.body()), headers), exc.detail
        except Exception:
            logger.exception("request %s failed", op.value)
            detail = INTERNAL_ERROR if rid is None else f"{INTERNAL_ERROR}; request id {rid}"
            body = encode(ErrorBody(detail=detail))
            return await respond(request, body, error_headers(500, detail, rid)), detail
        sent = reply.headers if rid is None else with_id(dict(reply.headers or {}), rid)
        return await respond(request, reply.body, sent), ""

    def _done(self, op: Op, status: int, error: str, seconds: float, rid: str | None) -> None:
        """Record a request answered with ``status`` and log it."""
        self.metrics.requests.record(op.value, status, seconds, error)
        log_request(self.engine_id, op, status, error=error, seconds=seconds, rid=rid)


async def connect(
    settings: BridgeSettings, on_reconnected: Callable[[], None] | None = None
) -> NatsClient:
    """Connect to NATS as ``engine-bridge <id>``, reconnecting forever.

    ``on_reconnected`` is called after every reconnection.

    Raises:
        schemas.natsauth.CredentialsRefusedError: the server refused the credentials.
    """

    async def on_error(exc: Exception) -> None:
        logger.warning("NATS: %s", exc)

    async def on_disconnected() -> None:
        logger.info("NATS disconnected")

    async def reconnected_cb() -> None:
        logger.info("NATS reconnected")
        if on_reconnected is not None:
            on_reconnected()

    client = NatsClient()
    await natsauth.connect(
        client,
        settings.nats_auth,
        settings.nats_url,
        servers=settings.nats_servers,
        name=f"engine-bridge {settings.engine_id}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=reconnected_cb,
    )
    return client
