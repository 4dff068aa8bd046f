"""Helpers of the behavioural suite: NATS inboxes and requests, polling, prices from ticks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas.errors import ERROR_CODE_HEADER
from schemas.subjects import Op, request_subject

Json = Any
RB = "rb2601.SHFE"
BRK = "BRK.B.SMART"
WAIT = 15.0
"""Seconds a test waits for something that must happen (a guard, not a timing assertion)."""


class Inbox:
    """Messages of one NATS subscription, kept for the test to wait on."""

    def __init__(self) -> None:
        self.msgs: list[Msg] = []
        self._arrived = asyncio.Event()

    async def put(self, msg: Msg) -> None:
        self.msgs.append(msg)
        self._arrived.set()

    async def wait_json(self, match: Callable[[Json], bool], timeout: float = WAIT) -> Json:
        """The first JSON body (already here or still to come) that ``match`` accepts."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for msg in self.msgs[seen:]:
                    body = json.loads(msg.data)
                    if match(body):
                        return body
                seen = len(self.msgs)
                self._arrived.clear()
                await self._arrived.wait()


async def listen(nc: NatsClient, subject: str) -> Inbox:
    """Subscribe ``subject`` into a new :class:`Inbox`."""
    inbox = Inbox()
    await nc.subscribe(subject, cb=inbox.put)
    await nc.flush()
    return inbox


async def call(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"") -> Msg:
    """One request to the engine; a dict/list body is sent as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await nc.request(request_subject(engine_id, op), data, timeout=10)


async def ok(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes = b"") -> Json:
    """The JSON reply of a request that must succeed."""
    msg = await call(nc, engine_id, op, body)
    assert not (msg.headers or {}).get(ERROR_CODE_HEADER), msg.data
    return json.loads(msg.data)


async def fails(nc: NatsClient, engine_id: str, op: Op, body: Json | bytes) -> tuple[int, Json]:
    """``(code, body)`` of a request that must fail."""
    msg = await call(nc, engine_id, op, body)
    code = (msg.headers or {}).get(ERROR_CODE_HEADER)
    assert code, f"{op} succeeded: {msg.data[:300]!r}"
    return int(code), json.loads(msg.data)


async def eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll ``probe`` until it returns something truthy (fails after :data:`WAIT` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while loop.time() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def latest_tick(rest: httpx.AsyncClient, vt_symbol: str) -> Json:
    """Subscribe ``vt_symbol`` over REST and return its first tick from ``GET /tick``."""
    r = await rest.post(f"/tick/{vt_symbol}")
    assert r.status_code == 200, r.text

    async def tick() -> Json:
        got = await rest.get("/tick", params={"vt_symbol": vt_symbol})
        assert got.status_code == 200, got.text
        return got.json()[0] if got.json() else None

    return await eventually(tick, f"a tick of {vt_symbol}")


def order_body(vt_symbol: str, price: float, **over: Any) -> Json:
    """A one-lot LIMIT open buy of ``vt_symbol`` at ``price``, tagged with a unique reference."""
    symbol, _, exchange = vt_symbol.rpartition(".")
    return {
        "symbol": symbol,
        "exchange": exchange,
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": price,
        "offset": "OPEN",
        "reference": "b-" + uuid.uuid4().hex[:8],
        **over,
    }


async def place(rest: httpx.AsyncClient, body: Json) -> str:
    """``POST /order`` (vnpy_webtrader's route): the ``vt_orderid``."""
    r = await rest.post("/order", json=body)
    assert r.status_code == 200, r.text
    vt_orderid = r.json()
    assert isinstance(vt_orderid, str), vt_orderid
    return vt_orderid
