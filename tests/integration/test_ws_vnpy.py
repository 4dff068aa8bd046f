"""``/ws/``, vnpy_webtrader's WebSocket, against the served gateway and the ``sim`` bridge."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import InvalidStatus

from gateway.auth import AUDIENCE, ISSUER
from tests.support.processes import Gateway
from tests.support.ws import open_ws, recv_json, recv_until, ws_url

VNPY_TOPICS = {"eTick.", "eOrder.", "eTrade.", "ePosition.", "eAccount."}
FORGED = jwt.encode(
    {"sub": "vnpy", "iss": ISSUER, "aud": AUDIENCE, "iat": 1_700_000_000, "exp": 4_102_444_800},
    "not-the-gateway-key-" * 3,
    algorithm="HS256",
)


def is_one_event(frame: Any) -> bool:
    """vnpy_webtrader's frame: exactly a topic and one object."""
    return set(frame) == {"topic", "data"} and isinstance(frame["data"], dict)


@pytest.mark.parametrize("path", ["/ws/", "/ws"])
async def test_ticks_arrive_as_etick_frames_after_subscribing(
    gateway: Gateway, token: str, client: httpx.AsyncClient, path: str
) -> None:
    async with open_ws(ws_url(gateway, path, token)) as ws:
        assert (await client.post("/tick/IF2512.CFFEX")).status_code == 200
        frame = await recv_until(
            ws, lambda f: f["topic"] == "eTick." and f["data"]["vt_symbol"] == "IF2512.CFFEX"
        )
    assert is_one_event(frame)
    assert frame["data"]["exchange"] == "CFFEX"
    assert frame["data"]["last_price"] > 0


async def test_crossing_order_pushes_order_trade_position_and_account(
    gateway: Gateway, token: str, client: httpx.AsyncClient
) -> None:
    contract = (await client.get("/contract", params={"vt_symbol": "rb2601.SHFE"})).json()[0]
    order = {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "多",
        "type": "限价",
        "offset": "开",
        "volume": 1,
        "price": contract["limit_up"],
        "reference": "ws-test",
    }
    async with open_ws(ws_url(gateway, "/ws/", token)) as ws:
        r = await client.post("/order", json=order)
        assert r.status_code == 200, r.text
        vt_orderid = r.json()
        wanted = {"eOrder.", "eTrade.", "ePosition.", "eAccount."}
        seen: dict[str, dict[str, Any]] = {}

        def fills_in(frame: Any) -> bool:
            assert is_one_event(frame)
            assert frame["topic"] in VNPY_TOPICS
            data, topic = frame["data"], frame["topic"]
            if topic in ("eOrder.", "eTrade.") and data["vt_orderid"] != vt_orderid:
                return False
            if topic == "ePosition." and data["vt_symbol"] != "rb2601.SHFE":
                return False
            if topic == "eOrder." and data["status"] != "ALLTRADED":
                return False
            seen.setdefault(topic, data)
            return wanted <= set(seen)

        await recv_until(ws, fills_in)
    assert seen["eOrder."]["traded"] == 1
    assert seen["eTrade."]["price"] <= contract["limit_up"]
    assert seen["ePosition."]["direction"] == "LONG"
    assert seen["eAccount."]["frozen"] >= 0


@pytest.mark.parametrize(
    "query", [None, "", "not-a-jwt", FORGED], ids=["missing", "empty", "malformed", "forged"]
)
async def test_bad_token_is_refused_and_the_gateway_stays_healthy(
    gateway: Gateway, token: str, client: httpx.AsyncClient, query: str | None
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(ws_url(gateway, "/ws/", query)):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["detail"]
    assert (await client.get("/engines")).status_code == 200
    async with open_ws(ws_url(gateway, "/ws/", token)) as ws:
        assert (await client.post("/tick/IF2512.CFFEX")).status_code == 200
        assert is_one_event(await recv_json(ws))


async def test_query_token_never_reaches_the_gateway_log(gateway: Gateway, token: str) -> None:
    start = len(gateway.lines)
    async with open_ws(ws_url(gateway, "/ws/", token)):
        pass
    with pytest.raises(InvalidStatus):
        async with open_ws(ws_url(gateway, "/ws/", "not-a-jwt")):
            pass
    await asyncio.to_thread(gateway.wait_for, r"WebSocket /ws/?\?token=redacted\" 401", 10, start)
    logged = "\n".join(gateway.lines[start:])
    assert "[accepted]" in logged
    assert token not in logged
    assert "not-a-jwt" not in logged
