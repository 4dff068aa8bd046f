"""Helpers of the behavioural suite: polling, prices from ticks, order bodies.

NATS inboxes and requests are in :mod:`tests.support.nats_requests`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support.nats_requests import WAIT, Json

RB = "rb2601.SHFE"
BRK = "BRK.B.SMART"


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
