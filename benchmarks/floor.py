"""The floor: the least a Litestar + NATS gateway can do, measured in the same run.

Three small server processes, each started by the suite on loopback::

    python -m benchmarks.floor responder --nats-url U      # trivial NATS responder
    python -m benchmarks.floor rr --nats-url U --port P     # POST /rr: one request-reply
    python -m benchmarks.floor fanout --nats-url U --port P # one subscription -> N WebSockets

* ``responder`` answers every request on ``bench.floor.rr`` with a constant ``"SIM.1"``.
* ``rr`` is a bare Litestar app: ``POST /rr`` sends the request body to the responder and
  returns the reply bytes; no auth, no validation.
* ``fanout`` is a bare Litestar app holding ONE NATS subscription (``--subject``, by default
  every tick of engine ``sim``) fanned out in process to every client of ``/fanout``: each
  client has a bounded deque and one writer task; ``?batch=1`` sends whatever is queued as
  one ``/stream``-shaped ``events`` frame (at most 500 events), ``?batch=0`` one vnpy-shaped
  frame per event.  No auth, no conflation, no per-subscription bookkeeping.

Both apps run on uvicorn exactly as the gateway does (uvloop, httptools, no access log) and
print ``floor ready http://HOST:PORT``; the responder prints ``responder ready``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats
import uvicorn
from litestar import Litestar, Request, Response, post, websocket
from litestar.connection import WebSocket
from litestar.datastructures import State

RR_SUBJECT = "bench.floor.rr"
REPLY = b'"SIM.1"'
QUEUE_LIMIT = 10_000
BATCH_MAX = 500
EVENTS_HEAD = b'{"type":"events","events":['
EVENTS_TAIL = b"]}"
PENDING_MSGS = 1_000_000
PENDING_BYTES = 512 * 1024 * 1024


async def responder(nats_url: str) -> None:
    nc = await nats.connect(nats_url)

    async def answer(msg: Any) -> None:
        await msg.respond(REPLY)

    await nc.subscribe(RR_SUBJECT, cb=answer)
    await nc.flush()
    print("responder ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await nc.drain()


def rr_app(nats_url: str) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.nc = await nats.connect(nats_url)
        try:
            yield
        finally:
            await app.state.nc.drain()

    @post("/rr", status_code=200)
    async def rr(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        msg = await state.nc.request(RR_SUBJECT, await request.body(), timeout=5)
        return Response(msg.data, media_type="application/json")

    return Litestar([rr], lifespan=[lifespan], openapi_config=None)


class FanoutClient:
    """One WebSocket client of the fan-out floor: a bounded deque and a wake-up event."""

    __slots__ = ("dropped", "queue", "wake")

    def __init__(self) -> None:
        self.queue: deque[tuple[str, bytes]] = deque()
        self.wake = asyncio.Event()
        self.dropped = 0

    def put(self, subject: str, data: bytes) -> None:
        if len(self.queue) >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self.queue.append((subject, data))
        self.wake.set()


async def send(socket: WebSocket[Any, Any, Any], frame: bytes) -> None:
    """One text frame, as the gateway sends it (bytes decoded once, no parsing)."""
    await socket.send({"type": "websocket.send", "bytes": None, "text": frame.decode()})


async def write(socket: WebSocket[Any, Any, Any], client: FanoutClient, batch: bool) -> None:
    """Send what is queued: one ``events`` frame per wake-up (batch) or one per event."""
    queue = client.queue
    while True:
        while not queue:
            client.wake.clear()
            await client.wake.wait()
        items = [queue.popleft() for _ in range(min(BATCH_MAX, len(queue)))]
        if batch:
            parts = b",".join(
                b'{"sub":"s1","subject":"' + s.encode() + b'","data":' + d + b"}" for s, d in items
            )
            await send(socket, EVENTS_HEAD + parts + EVENTS_TAIL)
        else:
            for _, d in items:
                await send(socket, b'{"topic":"eTick.","data":' + d + b"}")


async def read(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) client frames until it disconnects."""
    while (await socket.receive())["type"] != "websocket.disconnect":
        pass


def fanout_app(nats_url: str, subject: str) -> Litestar:
    clients: set[FanoutClient] = set()

    async def on_message(msg: Any) -> None:
        subj, data = msg.subject, msg.data
        for c in clients:
            c.put(subj, data)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        nc = await nats.connect(nats_url)
        await nc.subscribe(
            subject,
            cb=on_message,
            pending_msgs_limit=PENDING_MSGS,
            pending_bytes_limit=PENDING_BYTES,
        )
        try:
            yield
        finally:
            await nc.drain()

    @websocket("/fanout")
    async def fanout(socket: WebSocket[Any, Any, Any], batch: int = 1) -> None:
        await socket.accept()
        client = FanoutClient()
        clients.add(client)
        tasks = [
            asyncio.ensure_future(write(socket, client, bool(batch))),
            asyncio.ensure_future(read(socket)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            clients.discard(client)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await socket.close()

    return Litestar([fanout], lifespan=[lifespan], openapi_config=None)


class ReadyServer(uvicorn.Server):
    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"floor ready http://{host}:{port}", flush=True)


def serve(app: Litestar, port: int) -> None:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="auto",
        http="auto",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    ReadyServer(config).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=("responder", "rr", "fanout"))
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--subject", default="wt.sim.evt.tick.>")
    args = parser.parse_args()
    if args.role == "responder":
        try:
            import uvloop  # noqa: PLC0415 - optional

            uvloop.run(responder(args.nats_url))
        except ImportError:
            asyncio.run(responder(args.nats_url))
    elif args.role == "rr":
        serve(rr_app(args.nats_url), args.port)
    else:
        serve(fanout_app(args.nats_url, args.subject), args.port)


if __name__ == "__main__":
    main()
