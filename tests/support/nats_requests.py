"""Plain NATS helpers for tests that talk to an engine directly: inboxes and requests.

Requests go to ``request_subject(engine_id, op)`` as documented in docs/subjects.md; an
error reply carries the ``ERROR_CODE_HEADER`` and ``ERROR_HEADER`` headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas.errors import ERROR_CODE_HEADER, ERROR_HEADER
from schemas.subjects import Op, request_subject

Json = Any
WAIT = 15.0
"""Seconds a test waits for something that must happen (a guard, not a timing assertion)."""
REQUEST_TIMEOUT = 10.0
"""Seconds a request waits for its reply (a guard, not a timing assertion)."""


class Inbox:
    """Messages of one NATS subscription, kept for the test to wait on."""

    def __init__(self) -> None:
        self.msgs: list[Msg] = []
        self._arrived = asyncio.Event()

    async def put(self, msg: Msg) -> None:
        self.msgs.append(msg)
        self._arrived.set()

    async def wait(self, match: Callable[[Msg], bool], timeout: float = WAIT) -> Msg:
        """The first message (already here or still to come) that ``match`` accepts."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for msg in self.msgs[seen:]:
                    if match(msg):
                        return msg
                seen = len(self.msgs)
                self._arrived.clear()
                await self._arrived.wait()

    async def wait_json(self, match: Callable[[Json], bool], timeout: float = WAIT) -> Json:
        """The body of the first message whose JSON body ``match`` accepts."""
        return json.loads((await self.wait(lambda m: match(json.loads(m.data)), timeout)).data)


async def listen(nc: NatsClient, subject: str) -> Inbox:
    """Subscribe ``subject`` into a new :class:`Inbox`."""
    inbox = Inbox()
    await nc.subscribe(subject, cb=inbox.put)
    await nc.flush()
    return inbox


async def call(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"") -> Msg:
    """One request to the engine; a dict/list body is sent as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await nc.request(request_subject(engine_id, op), data, timeout=REQUEST_TIMEOUT)


async def ok(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"") -> Json:
    """The JSON reply of a request that must succeed."""
    msg = await call(nc, engine_id, op, body)
    assert not (msg.headers or {}).get(ERROR_CODE_HEADER), msg.data
    return json.loads(msg.data)


async def fails(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes) -> tuple[int, Json]:
    """``(code, body)`` of a request that must fail with both error headers set."""
    msg = await call(nc, engine_id, op, body)
    headers = msg.headers or {}
    assert headers.get(ERROR_CODE_HEADER), f"{op} succeeded: {msg.data[:300]!r}"
    assert headers.get(ERROR_HEADER), headers
    return int(headers[ERROR_CODE_HEADER]), json.loads(msg.data)
