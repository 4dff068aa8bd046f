"""Engine events to NATS: each object encoded once and published on its subject.

Durable kinds (orders, trades, positions, accounts) go to the engine's events stream
through its :class:`~engine_bridge.eventlog.DurableLog` (acknowledged, in order); ticks,
contracts, logs and heartbeats are core NATS messages (ticks also land in the ticks stream,
which captures their subjects).
"""

from __future__ import annotations

import asyncio
import functools
import logging

from nats.aio.client import Client as NatsClient
from nats.errors import ConnectionClosedError, ConnectionDrainingError, OutboundBufferLimitError

from engine_bridge.engine import EngineEvent
from engine_bridge.eventlog import DurableLog
from schemas.codec import encode
from schemas.enums import Exchange
from schemas.objects import TickData
from schemas.streams import is_durable
from schemas.subjects import EventKind, subject_for, tick_subject

logger = logging.getLogger(__name__)

_RECONNECT_POLL = 0.05


def subject_of(engine_id: str, kind: EventKind, obj: EngineEvent) -> str:
    """The subject ``obj`` (an event of ``kind``) is published on.

    Ticks (the hot path) cache the subject per contract; other kinds build it each time.
    """
    if isinstance(obj, TickData):
        return _tick_subject(engine_id, obj.symbol, obj.exchange)
    return subject_for(engine_id, kind, obj)


@functools.lru_cache(maxsize=16_384)
def _tick_subject(engine_id: str, symbol: str, exchange: Exchange) -> str:
    return tick_subject(engine_id, symbol, exchange)


class EventPublisher:
    """The bridge's :class:`~engine_bridge.engine.EventListener`: publish every event.

    While NATS reconnects, the client buffers publications (bounded by its pending size);
    when that buffer is full a tick is dropped (counted), any other event waits for the
    connection to come back and is then published, holding the engine back meanwhile.
    Once the connection is closed (shutdown), events are dropped with a debug log.
    With a ``log``, durable kinds go to it instead (see the module docstring).
    """

    def __init__(self, nc: NatsClient, engine_id: str, log: DurableLog | None = None) -> None:
        self.nc = nc
        self.engine_id = engine_id
        self.log = log
        self.published = 0
        self.counts: dict[EventKind, int] = dict.fromkeys(EventKind, 0)
        """Events published, by kind (read by the metrics at scrape time)."""
        self.dropped_ticks = 0

    async def __call__(self, kind: EventKind, obj: EngineEvent, /) -> None:
        """Encode ``obj`` once and publish it on its subject."""
        await self.publish(subject_of(self.engine_id, kind, obj), encode(obj), kind)

    async def publish(self, subject: str, payload: bytes, kind: EventKind) -> None:
        """Publish already-encoded ``payload`` (see the class docstring for failures)."""
        if self.log is not None and is_durable(kind):
            await self.log.publish(subject, payload)
            self.published += 1
            self.counts[kind] += 1
            return
        while True:
            try:
                await self.nc.publish(subject, payload)
            except OutboundBufferLimitError:
                if kind is EventKind.TICK:
                    self.dropped_ticks += 1
                    return
                logger.warning("NATS buffer full while reconnecting; holding a %s event", kind)
                # nats-py has no awaitable connection state: poll it.
                while not self.nc.is_connected and not self.nc.is_closed:  # noqa: ASYNC110
                    await asyncio.sleep(_RECONNECT_POLL)
                continue
            except (ConnectionClosedError, ConnectionDrainingError):
                logger.debug("connection closing; %s event on %s not published", kind, subject)
                return
            self.published += 1
            self.counts[kind] += 1
            return
