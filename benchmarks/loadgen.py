"""HTTP load worker: C keep-alive clients (httpx, HTTP/1.1) each sending R requests in turn.

Run by the suite, not by hand::

    python -m benchmarks.loadgen --base http://127.0.0.1:8000 --method POST --path /order \
        --bodies bodies.json --token JWT --concurrency 8 --requests 150

Bodies (a JSON list of JSON values, or of ``{"form": {...}}`` for a form post) are sent in
rotation.  The worker sends ``--warmup`` requests per client, prints ``{"ready": C}``, waits
for ``{"cmd": "go"}`` on stdin, then answers with one JSON line: every latency (ms, in send
order), status counts, response bytes and the wall-clock start/end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def request_kwargs(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, dict) and set(body) == {"form"}:
        return {"data": body["form"]}
    return {
        "content": json.dumps(body, separators=(",", ":")).encode(),
        "headers": {"content-type": "application/json"},
    }


class Client:
    def __init__(self, args: argparse.Namespace, bodies: list[Any], offset: int) -> None:
        headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
        self.http = httpx.AsyncClient(
            base_url=args.base,
            headers=headers,
            timeout=30,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.args = args
        self.kwargs = [request_kwargs(b) for b in bodies] or [{}]
        self.offset = offset
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.bytes = 0

    async def run(self, n: int, record: bool) -> None:
        method, path, kwargs = self.args.method, self.args.path, self.kwargs
        for i in range(n):
            kw = kwargs[(self.offset + i) % len(kwargs)]
            t = time.perf_counter()
            try:
                r = await self.http.request(method, path, **kw)
                status, size = str(r.status_code), len(r.content)
            except httpx.HTTPError as exc:
                status, size = type(exc).__name__, 0
            if record:
                self.latencies.append((time.perf_counter() - t) * 1000)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.bytes += size
        self.offset += n


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
    bodies: list[Any] = json.loads(Path(args.bodies).read_text()) if args.bodies else []
    clients = [Client(args, bodies, args.offset + i * 7919) for i in range(args.concurrency)]
    await asyncio.gather(*(c.run(args.warmup, record=False) for c in clients))
    reply({"ready": len(clients)})
    async for cmd in commands():
        if cmd["cmd"] == "go":
            started = time.time()
            await asyncio.gather(*(c.run(args.requests, record=True) for c in clients))
            ended = time.time()
            statuses: dict[str, int] = {}
            for c in clients:
                for k, v in c.statuses.items():
                    statuses[k] = statuses.get(k, 0) + v
            reply(
                {
                    "latencies_ms": [x for c in clients for x in c.latencies],
                    "statuses": statuses,
                    "bytes": sum(c.bytes for c in clients),
                    "started": started,
                    "ended": ended,
                }
            )
        elif cmd["cmd"] == "quit":
            break
    await asyncio.gather(*(c.http.aclose() for c in clients))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", required=True)
    parser.add_argument("--bodies")
    parser.add_argument("--token")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415 - optional

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
