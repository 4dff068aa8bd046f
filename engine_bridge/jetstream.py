"""The engine's JetStream layout (``schemas.streams``), created or updated at bridge start.

Per engine: the events stream (file), the ticks stream (memory, last tick per contract;
optional) and the KV bucket of ``client_order_id`` mappings.  :func:`ensure_layout` is
idempotent — it creates what is missing and updates what exists to the configured
retention and replicas — and is run again after every reconnection, since a standalone
nats-server forgets memory streams when it restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from engine_bridge.settings import BridgeSettings
from schemas.streams import (
    DEFAULT_EVENT_RETENTION,
    DEFAULT_IDEMPOTENCY_TTL,
    DUPLICATE_WINDOW,
    client_orders_bucket,
    events_stream,
    events_stream_subjects,
    ticks_stream,
    ticks_stream_subjects,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

STREAM_NAME_IN_USE = 10058
"""JetStream error code: a stream of that name exists with another configuration."""

TRANSIENT_ERRORS = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    ServiceUnavailableError,
)
"""JetStream API failures worth retrying: no JetStream yet, no meta leader, a reconnect.

Other API errors (e.g. 3 replicas on a single server) are configuration errors: raised."""

_RETRY_MAX = 2.0


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    """How the engine's streams and bucket are configured (from the bridge's settings)."""

    replicas: int = 1
    event_retention: float = DEFAULT_EVENT_RETENTION
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL
    tick_snapshots: bool = True

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> StreamOptions:
        """The options ``settings`` name."""
        return cls(
            replicas=settings.js_replicas,
            event_retention=settings.event_retention,
            idempotency_ttl=settings.idempotency_ttl,
            tick_snapshots=settings.tick_snapshots,
        )


def events_config(engine_id: str, opts: StreamOptions) -> api.StreamConfig:
    """``WT_{e}_EVENTS``: file storage, retention by age, de-duplication by ``Nats-Msg-Id``."""
    return api.StreamConfig(
        name=events_stream(engine_id),
        description=f"order/trade/position/account/quote events of engine {engine_id}",
        subjects=events_stream_subjects(engine_id),
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=opts.event_retention,
        duplicate_window=min(DUPLICATE_WINDOW, opts.event_retention),
        num_replicas=opts.replicas,
        allow_direct=True,
    )


def ticks_config(engine_id: str, opts: StreamOptions) -> api.StreamConfig:
    """``WT_{e}_TICKS``: memory storage, one message (the latest tick) per contract."""
    return api.StreamConfig(
        name=ticks_stream(engine_id),
        description=f"latest tick of each contract of engine {engine_id}",
        subjects=ticks_stream_subjects(engine_id),
        storage=api.StorageType.MEMORY,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_msgs_per_subject=1,
        num_replicas=opts.replicas,
        allow_direct=True,
    )


def client_orders_config(engine_id: str, opts: StreamOptions) -> api.StreamConfig:
    """The stream of KV bucket ``wt_{e}_client_orders`` (as nats-py's KV would build it).

    One value per key, each kept for the idempotency TTL after its last write.
    """
    bucket = client_orders_bucket(engine_id)
    return api.StreamConfig(
        name=f"KV_{bucket}",
        description=f"client_order_id -> vt_orderid of engine {engine_id}",
        subjects=[f"$KV.{bucket}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.NEW,
        allow_rollup_hdrs=True,
        deny_delete=True,
        max_age=opts.idempotency_ttl,
        duplicate_window=min(DUPLICATE_WINDOW, opts.idempotency_ttl),
        max_msgs_per_subject=1,
        max_msgs=-1,
        max_bytes=-1,
        max_msg_size=-1,
        max_consumers=-1,
        num_replicas=opts.replicas,
        allow_direct=False,  # reads go to the leader: a replica may not have the latest yet
    )


async def ensure_stream(js: JetStreamContext, config: api.StreamConfig) -> api.StreamInfo:
    """Create the stream of ``config``, or update the existing one to it."""
    try:
        return await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != STREAM_NAME_IN_USE:
            raise
    logger.info("updating stream %s to the configured options", config.name)
    return await js.update_stream(config)


async def ensure_layout(js: JetStreamContext, engine_id: str, opts: StreamOptions) -> int:
    """Create or update the engine's streams and bucket; return the events stream's last seq.

    Without tick snapshots an existing ticks stream is deleted.
    """
    events = await ensure_stream(js, events_config(engine_id, opts))
    await ensure_stream(js, client_orders_config(engine_id, opts))
    if opts.tick_snapshots:
        await ensure_stream(js, ticks_config(engine_id, opts))
    else:
        try:
            await js.delete_stream(ticks_stream(engine_id))
            logger.info("tick snapshots off: deleted stream %s", ticks_stream(engine_id))
        except NotFoundError:
            pass
    return int(events.state.last_seq)


async def retry_transient(
    what: str, attempt: Callable[[], Awaitable[T]], *, interval: float = 0.2
) -> T:
    """Run ``attempt`` until it does not fail with one of :data:`TRANSIENT_ERRORS`.

    Waits ``interval`` (doubling up to 2 s) between attempts and logs a warning on the first
    failure and then every 10 attempts; any other exception is raised.
    """
    failures = 0
    while True:
        try:
            return await attempt()
        except TRANSIENT_ERRORS as exc:
            if failures % 10 == 0:
                logger.warning(
                    "%s: JetStream not available yet (%s: %s); retrying (is JetStream enabled?)",
                    what,
                    type(exc).__name__,
                    exc,
                )
            failures += 1
            await asyncio.sleep(interval)
            interval = min(interval * 2, _RETRY_MAX)
