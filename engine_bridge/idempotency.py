"""Idempotent submit: the same ``client_order_id`` on the same engine is the same order.

The mapping ``client_order_id`` -> ``vt_orderid`` lives in the engine's KV bucket
(``schemas.streams.client_orders_bucket``), kept for the idempotency TTL.  A submit with a
``client_order_id``:

1. returns the order the engine already has with that ``client_order_id``, as it is now,
   creating nothing (a replay; no round trip: the engine keeps an index);
2. is checked against its contract (a ``422`` reserves and creates nothing);
3. *reserves* the id: creates its key with an empty value, only if the key does not exist
   (one round trip — the only one added to a new order);
4. if the key exists with a ``vt_orderid`` (an order the engine did not find by its id),
   returns that order (a replay), or ``409`` if the engine does not know it either;
5. if it exists but is empty, an earlier attempt reserved it and stopped before its order
   reached the engine (a bridge killed mid-way; the engine, restored from the events
   stream, would have found the order in step 1): this attempt goes on;
6. sends the order, then writes its ``vt_orderid`` to the key in the background, retried
   until stored (off the reply's path: until it lands, step 1 finds the order).

Rejected orders are orders: the same id returns the same rejected order.  Submits of one
bridge are served one at a time (one nats.micro endpoint), so two retries of one id never
interleave inside a bridge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError, KeyNotFoundError
from nats.js.kv import KeyValue

from engine_bridge.engine import Engine
from schemas.errors import ConflictError, NotFoundError, WebTraderError
from schemas.objects import OrderData
from schemas.requests import OrderRequest
from schemas.streams import client_order_key, client_orders_bucket

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXPECTED_LAST_SUBJECT_SEQ_HEADER = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = 10071
"""JetStream error code: the key already exists (its last sequence is not 0)."""
LAST_SEQUENCE_NOT_READY = 10164
"""JetStream error code: 'expected last sequence per subject temporarily unavailable' (no
quorum): retried until the submit's deadline, then answered 503."""
KV_DEADLINE = 3.0
"""Seconds a submit keeps retrying the KV (leader election, reconnect) before a 503."""
_BACKOFF = 0.1
_PUT_BACKOFF_MAX = 2.0


class UnavailableError(WebTraderError):
    """The idempotency store cannot be reached now; the client retries with the same id."""

    code = 503


class ClientOrders:
    """The ``client_order_id`` mappings of one engine (see the module docstring)."""

    def __init__(
        self, nc: NatsClient, js: JetStreamContext, engine: Engine, engine_id: str
    ) -> None:
        self.nc = nc
        self.js = js
        self.engine = engine
        self.bucket = client_orders_bucket(engine_id)
        self._prefix = f"$KV.{self.bucket}."
        self._kv: KeyValue | None = None
        self._writes: dict[str, asyncio.Task[None]] = {}
        self._attempts: dict[str, tuple[asyncio.Lock, int]] = {}  # cid -> (lock, holders)

    async def open(self) -> None:
        """Bind to the bucket (created by :func:`engine_bridge.jetstream.ensure_layout`)."""
        self._kv = await self.js.key_value(self.bucket)

    async def close(self, wait: float = 10.0) -> None:
        """Wait (up to ``wait`` seconds) for mappings still being written, then give up.

        A mapping not written is not lost: its reservation stays, and the engine is asked.
        """
        writes = list(self._writes.values())
        if not writes:
            return
        _, pending = await asyncio.wait(writes, timeout=wait)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d client_order_id mappings not written at stop", len(pending))

    async def submit(
        self, req: OrderRequest, send: Callable[[OrderRequest], Awaitable[OrderData]]
    ) -> tuple[OrderData, bool]:
        """Send ``req`` once per ``client_order_id``; return the order and whether it is a replay.

        Raises:
            UnprocessableError: the contract cannot take the order (nothing reserved).
            ConflictError: the id maps to an order the engine no longer knows.
            UnavailableError: the KV bucket did not answer within :data:`KV_DEADLINE`.
        """
        # Requests are served concurrently: a retry arriving while the first attempt of the
        # same id is still in flight waits for it here, so it finds that attempt's order
        # instead of taking its reservation for a crashed attempt's and sending again.
        cid = req.client_order_id
        lock, holders = self._attempts.get(cid) or (asyncio.Lock(), 0)
        self._attempts[cid] = (lock, holders + 1)
        try:
            async with lock:
                return await self._submit_once(req, send)
        finally:
            lock, holders = self._attempts[cid]
            if holders == 1:
                del self._attempts[cid]
            else:
                self._attempts[cid] = (lock, holders - 1)

    async def _submit_once(
        self, req: OrderRequest, send: Callable[[OrderRequest], Awaitable[OrderData]]
    ) -> tuple[OrderData, bool]:
        cid = req.client_order_id
        known = await self.engine.find_by_client_order_id(cid)
        if known is not None:
            return known, True
        key = client_order_key(cid)
        await self.engine.check_order(req)
        try:
            async with asyncio.timeout(KV_DEADLINE):
                replay = await self._claim(cid, key)
        except TimeoutError:
            raise UnavailableError(
                f"idempotency store {self.bucket} unavailable; retry with the same client_order_id",
                field="client_order_id",
            ) from None
        if replay is not None:
            return replay, True
        order = await send(req)
        self._remember(key, order.vt_orderid)
        return order, False

    async def _claim(self, cid: str, key: str) -> OrderData | None:
        """Reserve ``key`` for a new order (None), or return the order it already means."""
        while not await self._kv_call(self._reserve, key):
            value = await self._kv_call(self._lookup, key)
            if value is None:  # expired between the two calls: reserve again
                continue
            return await self._replay(cid, key, value.decode())
        return None

    async def _replay(self, cid: str, key: str, vt_orderid: str) -> OrderData | None:
        """The order an earlier attempt made, or None if it never reached the engine."""
        if vt_orderid:
            try:
                return await self.engine.get_order(vt_orderid)
            except NotFoundError:
                pass
        order = await self.engine.find_by_client_order_id(cid)
        if order is not None:
            if not vt_orderid:
                self._remember(key, order.vt_orderid)
            return order
        if vt_orderid:
            raise ConflictError(
                f"client_order_id {cid!r} is order {vt_orderid}, which the engine no longer knows",
                field="client_order_id",
            )
        return None

    # ------------------------------------------------------------------------------ KV

    async def _kv_call(self, call: Callable[[str], Awaitable[T]], key: str) -> T:
        """``call(key)``, retried on NATS failures (bounded by the caller's deadline)."""
        backoff = _BACKOFF
        while True:
            try:
                return await call(key)
            except NatsError as exc:
                retryable = not isinstance(exc, APIError) or (
                    (exc.code or 0) >= 500  # noqa: PLR2004
                    or exc.err_code == LAST_SEQUENCE_NOT_READY
                )
                if not retryable:
                    raise
                logger.warning("client orders bucket %s: %s; retrying", self.bucket, exc)
                await asyncio.sleep(backoff)
                backoff *= 2

    async def _reserve(self, key: str) -> bool:
        """Create ``key`` empty if it does not exist; False if it exists."""
        try:
            await self.js.publish(
                self._prefix + key,
                b"",
                timeout=1.0,
                headers={EXPECTED_LAST_SUBJECT_SEQ_HEADER: "0"},
            )
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                return False
            raise
        return True

    async def _lookup(self, key: str) -> bytes | None:
        """The value of ``key`` (``b""`` when reserved), or None if it does not exist."""
        if self._kv is None:
            await self.open()
        kv = self._kv
        if kv is None:  # pragma: no cover - open() sets it or raises
            return None
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return None
        return entry.value or b""

    def _remember(self, key: str, vt_orderid: str) -> None:
        """Write ``key`` -> ``vt_orderid`` in the background, retried until stored."""
        if key not in self._writes:
            task = asyncio.create_task(self._write(key, vt_orderid), name=f"map {key}")
            self._writes[key] = task
            task.add_done_callback(lambda _: self._writes.pop(key, None))

    async def _write(self, key: str, vt_orderid: str) -> None:
        backoff = _BACKOFF
        while True:
            try:
                await self.js.publish(self._prefix + key, vt_orderid.encode(), timeout=2.0)
            except NatsError as exc:
                if self.nc.is_closed:
                    logger.error("mapping %s -> %s not stored: NATS closed", key, vt_orderid)
                    return
                logger.warning("mapping %s -> %s not stored yet (%s)", key, vt_orderid, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _PUT_BACKOFF_MAX)
            else:
                return
