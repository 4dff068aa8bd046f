"""WebSocket client worker: N connections in one process, measured over commanded windows.

Run by the suite, not by hand::

    python -m benchmarks.wsload --url ws://127.0.0.1:8000/stream?token=... --clients 50 \
        --mode stream

``--mode stream`` speaks the ``/stream`` protocol (waits for ``welcome``, subscribes to
``--topic``, answers heartbeats with ``ping``); ``--mode plain`` only reads (vnpy's ``/ws/``,
the floor's fan-out).  ``--deflate`` offers permessage-deflate, as browsers do (by default
the workers offer no compression).  ``--pause`` makes every connection stop reading once set
up (a slow client: its socket buffers fill, then the server's writes block); ``--idle`` reads
without measuring.

Once every connection is set up the worker prints ``{"ready": N, "failed": F}``; then it reads
JSON commands on stdin, one per line, and answers each with one JSON line on stdout:

* ``{"cmd": "window", "start": T0, "end": T1, "grace": G}`` (epoch seconds) - at ``T1 + G``:
  how many events whose engine timestamp (``"datetime"`` of the TickData) lies in
  ``[T0, T1)`` arrived, a latency histogram (receipt time minus engine timestamp, see
  :mod:`benchmarks.stats`), frames and bytes;
* ``{"cmd": "status"}`` - connections open and closed;
* ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from benchmarks.stats import bucket

DATETIME = re.compile(rb'"datetime":"([^"]+)"')
HEARTBEAT = b'{"type":"heartbeat"'
PING = '{"op":"ping"}'


async def small_buffer_socket(url: str) -> socket.socket:
    """A connected TCP socket with a 4 KiB receive buffer (a paused reader backs up fast)."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


class Window:
    """Counters of the current measurement window."""

    def __init__(self, clients: int) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.counts = [0] * clients
        self.hist: dict[int, int] = {}
        self.frames = 0
        self.bytes = 0

    def reset(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.counts = [0] * len(self.counts)
        self.hist = {}
        self.frames = 0
        self.bytes = 0


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.window = Window(args.clients)
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = 0
        self.close_codes: dict[str, int] = {}
        self._ts_cache: dict[bytes, float] = {}

    def timestamp(self, raw: bytes) -> float:
        ts = self._ts_cache.get(raw)
        if ts is None:
            if len(self._ts_cache) > 50_000:
                self._ts_cache.clear()
            ts = datetime.fromisoformat(raw.decode()).timestamp()
            self._ts_cache[raw] = ts
        return ts

    async def open(self, i: int, sem: asyncio.Semaphore) -> ClientConnection | None:
        async with sem:
            try:
                ws = await connect(
                    self.args.url,
                    sock=await small_buffer_socket(self.args.url) if self.args.pause else None,
                    max_size=None,
                    compression="deflate" if self.args.deflate else None,
                    ping_interval=None,
                    open_timeout=60,
                    close_timeout=2,
                    max_queue=64,
                )
                if self.args.mode == "stream":
                    await ws.recv()  # welcome
                if self.args.mode == "stream" and self.args.topic:
                    await ws.send(
                        json.dumps(
                            {
                                "op": "subscribe",
                                "id": "1",
                                "engine": "sim",
                                "topic": self.args.topic,
                            }
                        )
                    )
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("type") == "ack":
                            break
                        if frame.get("type") == "error":
                            raise RuntimeError(f"subscribe refused: {frame}")
            except (OSError, WebSocketException, RuntimeError, TimeoutError) as exc:
                print(f"connection {i} failed: {exc!r}", file=sys.stderr)
                return None
            return ws

    async def read(self, i: int, ws: ClientConnection) -> None:
        w = self.window
        measure = not self.args.idle
        stream = self.args.mode == "stream"
        timestamp = self.timestamp
        try:
            while True:
                raw = await ws.recv(decode=False)
                now = time.time()
                assert isinstance(raw, bytes)
                if w.start <= now < w.end:
                    w.frames += 1
                    w.bytes += len(raw)
                if stream and raw.startswith(HEARTBEAT):
                    await ws.send(PING)
                    continue
                if not measure:
                    continue
                start, end = w.start, w.end
                n = 0
                hist = w.hist
                for m in DATETIME.finditer(raw):
                    ts = timestamp(m.group(1))
                    if start <= ts < end:
                        n += 1
                        b = bucket(now - ts)
                        hist[b] = hist.get(b, 0) + 1
                w.counts[i] += n
        except ConnectionClosed as exc:
            self.closed += 1
            code = str(exc.rcvd.code) if exc.rcvd else "none"
            self.close_codes[code] = self.close_codes.get(code, 0) + 1

    async def setup(self) -> dict[str, Any]:
        sem = asyncio.Semaphore(self.args.connect_concurrency)
        opened = await asyncio.gather(*(self.open(i, sem) for i in range(self.args.clients)))
        failed = 0
        for i, ws in enumerate(opened):
            if ws is None:
                failed += 1
                continue
            self.sockets.append(ws)
            if self.args.pause:
                ws.transport.pause_reading()
            else:
                self.tasks.append(asyncio.create_task(self.read(i, ws)))
        return {"ready": len(self.sockets), "failed": failed}

    async def measure(self, cmd: dict[str, Any]) -> dict[str, Any]:
        w = self.window
        w.reset(float(cmd["start"]), float(cmd["end"]))
        await asyncio.sleep(max(0.0, w.end + float(cmd.get("grace", 1.0)) - time.time()))
        counts = list(w.counts)
        result = {
            "received": sum(counts),
            "per_client_min": min(counts) if counts else 0,
            "per_client_max": max(counts) if counts else 0,
            "hist": w.hist,
            "frames": w.frames,
            "bytes": w.bytes,
            "open": len(self.sockets) - self.closed,
            "closed": self.closed,
        }
        w.reset(float("inf"), float("inf"))
        return result

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.args.pause:  # a paused reader would keep the close handshake waiting
            for ws in self.sockets:
                ws.transport.abort()
            return

        async def bye(ws: ClientConnection) -> None:
            with contextlib.suppress(Exception):
                await ws.close()

        await asyncio.gather(*(bye(ws) for ws in self.sockets))


async def commands() -> Any:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield json.loads(line)


def reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main_async(args: argparse.Namespace) -> None:
    worker = Worker(args)
    reply(await worker.setup())
    async for cmd in commands():
        if cmd["cmd"] == "window":
            reply(await worker.measure(cmd))
        elif cmd["cmd"] == "status":
            reply(
                {
                    "open": len(worker.sockets) - worker.closed,
                    "closed": worker.closed,
                    "close_codes": worker.close_codes,
                }
            )
        elif cmd["cmd"] == "quit":
            break
    await worker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--mode", choices=("stream", "plain"), default="plain")
    parser.add_argument("--topic", default="tick.>")
    parser.add_argument("--pause", action="store_true")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--connect-concurrency", type=int, default=32)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415 - optional, as in the gateway

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
