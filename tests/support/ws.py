"""WebSocket test helpers: connect to a served gateway with the ``websockets`` library."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.processes import Gateway

FRAME_TIMEOUT = 15.0
"""Seconds a test waits for an expected frame before failing (a guard, not an assertion)."""


def ws_url(gateway: Gateway, path: str, token: str | None = None) -> str:
    """``ws://127.0.0.1:PORT{path}`` with ``?token=`` when given."""
    url = f"{gateway.ws_url}{path}"
    return f"{url}?token={quote(token, safe='')}" if token is not None else url


def open_ws(url: str, **kwargs: Any) -> Any:
    """``websockets`` connect with test defaults (no size limit, no compression)."""
    kwargs.setdefault("max_size", None)
    kwargs.setdefault("compression", None)
    kwargs.setdefault("open_timeout", FRAME_TIMEOUT)
    return connect(url, **kwargs)


def small_buffer_socket(gateway: Gateway, rcvbuf: int = 4096) -> socket.socket:
    """A connected TCP socket with a tiny receive buffer (so a paused reader backs up fast)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", gateway.port))
    sock.setblocking(False)
    return sock


async def recv_json(ws: ClientConnection, timeout: float = FRAME_TIMEOUT) -> Any:
    """The next frame, parsed."""
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def recv_until(
    ws: ClientConnection,
    predicate: Callable[[Any], bool],
    timeout: float = FRAME_TIMEOUT,
    seen: list[Any] | None = None,
) -> Any:
    """Read frames until one satisfies ``predicate``; return it (others go to ``seen``)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame
            if seen is not None:
                seen.append(frame)


async def send_op(ws: ClientConnection, **op: Any) -> None:
    """Send one ``/stream`` operation."""
    await ws.send(json.dumps(op))


async def reply_to(ws: ClientConnection, rid: str, seen: list[Any] | None = None) -> Any:
    """The ack/error/pong frame answering request ``rid``."""
    return await recv_until(
        ws, lambda f: f.get("type") in ("ack", "error", "pong") and f.get("id") == rid, seen=seen
    )


async def subscribe(ws: ClientConnection, rid: str, **fields: Any) -> dict[str, Any]:
    """Subscribe and return the ack (fails on an error reply)."""
    await send_op(ws, op="subscribe", id=rid, **fields)
    reply = await reply_to(ws, rid)
    assert reply["type"] == "ack", reply
    return dict(reply)


def events_of(frame: Any) -> list[dict[str, Any]]:
    """The events of an ``events`` frame (empty for other frames)."""
    return list(frame["events"]) if frame.get("type") == "events" else []


async def login(gateway: Gateway) -> str:
    """A demo token from a gateway's ``POST /token``."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        r = await c.post("/token", data={"username": "vnpy", "password": "vnpy"})
        r.raise_for_status()
        return str(r.json()["access_token"])


async def close_draining(ws: ClientConnection) -> None:
    """Close, reading what is still queued so the close frame can get through a backlog."""

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.recv()

    reader = asyncio.ensure_future(drain())
    try:
        await ws.close()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
