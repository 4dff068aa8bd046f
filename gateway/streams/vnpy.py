"""``/ws/``: vnpy_webtrader's WebSocket, for its existing clients.

``ws://host/ws/?token=<jwt>`` pushes every tick, order, trade, position and account event of
the default engine, one per text frame: ``{"topic": "eTick.", "data": {...}}``.  The frame is
the NATS payload spliced between two constant byte strings; nothing is decoded.  The client
sends nothing (frames it sends are read and ignored); liveness is the server's WebSocket
ping.  Ticks are conflated per contract while the client is behind; other events are bounded
by ``ws_queue_limit`` (close 1013 past it).
"""

from __future__ import annotations

from gateway.streams.hub import Sink
from gateway.streams.session import Session
from schemas.subjects import EventKind, events_pattern

VNPY_KINDS = (
    EventKind.TICK,
    EventKind.ORDER,
    EventKind.TRADE,
    EventKind.POSITION,
    EventKind.ACCOUNT,
)
"""The events vnpy_webtrader pushes, in its topic names (``eTick.``...)."""

WRITE_BATCH = 500
"""Most frames the writer takes from the outbox at once."""

VnpyItem = tuple[bytes, bytes]
"""``(frame prefix, payload)``."""


def frame_prefix(kind: EventKind) -> bytes:
    """``{"topic":"eTick.","data":`` for ``kind``."""
    return b'{"topic":"' + kind.vnpy_topic.encode() + b'","data":'


class VnpySession(Session[VnpyItem]):
    """One vnpy_webtrader client on the default engine."""

    async def start(self) -> None:
        """Attach the five event patterns of the default engine (shared in the hub)."""
        engine = self.settings.default_engine
        for kind in VNPY_KINDS:
            await self.subscribe(events_pattern(engine, f"{kind.value}.>"), self._sink(kind))

    def _sink(self, kind: EventKind) -> Sink:
        outbox, prefix = self.outbox, frame_prefix(kind)
        if kind is EventKind.TICK:

            def tick_sink(subject: str, payload: bytes, tick: bool) -> None:
                outbox.put_latest(subject, (prefix, payload))

            return tick_sink

        def sink(subject: str, payload: bytes, tick: bool) -> None:
            outbox.put((prefix, payload))

        return sink

    async def read(self) -> None:
        """Read and ignore client frames until it disconnects."""
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return

    async def write(self) -> None:
        """Send each queued event as its own frame."""
        take, send = self.outbox.take, self.send_text
        while True:
            for prefix, payload in await take(WRITE_BATCH):
                await send(prefix + payload + b"}")
