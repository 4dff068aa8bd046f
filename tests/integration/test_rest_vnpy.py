"""vnpy_webtrader's REST routes on the default engine, through the served gateway.

The shared ``sim`` engine has history from other tests, so every assertion is about what
this test itself did (its own order ids, a unique ``reference``, before/after deltas).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

RB = "rb2601.SHFE"
RB_LIMIT_DOWN, RB_LIMIT_UP = 3255, 3745  # the simulator's bounds for rb2601 (3500 +/- 7 %)


def order(**over: Any) -> dict[str, Any]:
    """A resting buy of 1 rb2601 at the lower limit (never crosses)."""
    return {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": RB_LIMIT_DOWN,
        "offset": "OPEN",
        "reference": "t-" + uuid.uuid4().hex[:8],
        **over,
    }


async def eventually(probe: Callable[[], Awaitable[Any]], what: str, tries: int = 50) -> Any:
    """Poll ``probe`` until it returns something truthy (about 5 s at most)."""
    for _ in range(tries):
        if result := await probe():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def send(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    r = await client.post("/order", json=body)
    assert r.status_code == 200, r.text
    vt_orderid = r.json()
    assert isinstance(vt_orderid, str)
    assert re.fullmatch(r"SIM\.\d+", vt_orderid), vt_orderid
    return vt_orderid


async def test_contract_list_has_the_sim_contracts(client: httpx.AsyncClient) -> None:
    r = await client.get("/contract")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    by_symbol = {c["vt_symbol"]: c for c in r.json()}
    assert {RB, "au2606.SHFE", "IF2512.CFFEX", "600036.SSE", "BRK.B.SMART"} <= set(by_symbol)
    assert by_symbol[RB]["pricetick"] == 1.0
    assert by_symbol[RB]["product"] == "FUTURES"


async def test_contract_filter_keeps_one_contract(client: httpx.AsyncClient) -> None:
    r = await client.get("/contract", params={"vt_symbol": "BRK.B.SMART"})
    assert r.status_code == 200, r.text
    assert [c["vt_symbol"] for c in r.json()] == ["BRK.B.SMART"]


async def test_subscribe_then_ticks_appear_in_tick_list(client: httpx.AsyncClient) -> None:
    r = await client.post("/tick/IF2512.CFFEX")
    assert r.status_code == 200, r.text
    assert r.json() == {"vt_symbol": "IF2512.CFFEX"}

    async def tick() -> list[dict[str, Any]]:
        got = await client.get("/tick", params={"vt_symbol": "IF2512.CFFEX"})
        assert got.status_code == 200, got.text
        return list(got.json())

    ticks = await eventually(tick, "a tick of IF2512.CFFEX")
    assert ticks[0]["vt_symbol"] == "IF2512.CFFEX"
    assert ticks[0]["last_price"] > 0


async def test_subscribe_unknown_contract_is_404(client: httpx.AsyncClient) -> None:
    for vt_symbol in ("nope9999.SHFE", "rb2601.NOSUCH", "no-exchange"):
        r = await client.post(f"/tick/{vt_symbol}")
        assert r.status_code == 404, (vt_symbol, r.text)
        assert r.json()["detail"]


async def test_order_lifecycle_send_get_list_cancel(client: httpx.AsyncClient) -> None:
    body = order()
    vt_orderid = await send(client, body)

    one = await client.get(f"/order/{vt_orderid}")
    assert one.status_code == 200, one.text
    got = one.json()
    assert (got["vt_orderid"], got["status"], got["reference"]) == (
        vt_orderid,
        "NOTTRADED",
        body["reference"],
    )

    listed = await client.get("/order", params={"vt_symbol": RB, "active": "true"})
    assert listed.status_code == 200, listed.text
    assert vt_orderid in {o["vt_orderid"] for o in listed.json()}
    assert all(o["status"] in {"SUBMITTING", "NOTTRADED", "PARTTRADED"} for o in listed.json())

    cancelled = await client.delete(f"/order/{vt_orderid}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["vt_orderid"] == vt_orderid
    assert cancelled.json()["status"] == "CANCELLED"

    again = await client.delete(f"/order/{vt_orderid}")
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "vt_orderid"

    active = await client.get("/order", params={"active": True})
    assert vt_orderid not in {o["vt_orderid"] for o in active.json()}


async def test_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/order/SIM.99999999")).status_code == 404
    assert (await client.delete("/order/SIM.99999999")).status_code == 404


@pytest.mark.parametrize(
    ("direction", "type_", "offset"),
    [("多", "限价", "开"), ("Long", "Limit", "Open"), ("long", "limit", "OPEN")],
    ids=["chinese", "english", "any-case"],
)
async def test_vnpy_enum_values_are_accepted(
    client: httpx.AsyncClient, direction: str, type_: str, offset: str
) -> None:
    vt_orderid = await send(client, order(direction=direction, type=type_, offset=offset))
    got = (await client.get(f"/order/{vt_orderid}")).json()
    assert (got["direction"], got["type"], got["offset"]) == ("LONG", "LIMIT", "OPEN")
    assert (await client.delete(f"/order/{vt_orderid}")).status_code == 200


async def test_crossing_order_trades_and_moves_position_and_account(
    client: httpx.AsyncClient,
) -> None:
    async def long_rb() -> float:
        r = await client.get("/position", params={"vt_symbol": RB})
        assert r.status_code == 200, r.text
        return sum(p["volume"] for p in r.json() if p["direction"] == "LONG")

    async def account() -> tuple[float, float]:
        r = await client.get("/account")
        assert r.status_code == 200, r.text
        (acc,) = r.json()
        return acc["balance"], acc["frozen"]

    volume_before, account_before = await long_rb(), await account()
    vt_orderid = await send(client, order(price=RB_LIMIT_UP))  # buys whatever the ask is

    async def trades() -> list[dict[str, Any]]:
        r = await client.get("/trade", params={"vt_symbol": RB})
        return [t for t in r.json() if t["vt_orderid"] == vt_orderid]

    (trade,) = await eventually(trades, f"a trade of {vt_orderid}")
    assert (trade["direction"], trade["volume"]) == ("LONG", 1.0)
    assert (await client.get(f"/order/{vt_orderid}")).json()["status"] == "ALLTRADED"
    assert await long_rb() == volume_before + 1
    assert await account() != account_before


async def test_limit_keeps_the_newest_items(client: httpx.AsyncClient) -> None:
    ids = [await send(client, order()) for _ in range(3)]
    r = await client.get("/order", params={"limit": 2})
    assert r.status_code == 200, r.text
    assert [o["vt_orderid"] for o in r.json()] == ids[1:]
    for vt_orderid in ids:
        await client.delete(f"/order/{vt_orderid}")


@pytest.mark.parametrize("limit", ["0", "-1", "100001", "abc", "1.5", "1.0", "+1", "²"])
async def test_bad_limit_is_400_naming_it(client: httpx.AsyncClient, limit: str) -> None:
    r = await client.get("/order", params={"limit": limit})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "limit"


async def test_largest_limit_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.get("/trade", params={"limit": 100000})).status_code == 200
