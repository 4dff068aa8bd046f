"""Contracts and market data, the same on both engines: REST, both WebSockets, plain NATS."""

from __future__ import annotations

import httpx
from nats.aio.client import Client as NatsClient

from schemas.enums import Exchange
from schemas.subjects import Op, tick_subject
from tests.behaviour.conftest import EngineUnderTest
from tests.behaviour.helpers import BRK, RB, eventually
from tests.support.nats_requests import listen, ok
from tests.support.ws import events_of, open_ws, recv_json, recv_until, subscribe, ws_url


async def test_contracts_are_listed_over_rest_and_nats(
    engine: EngineUnderTest, rest: httpx.AsyncClient, nc: NatsClient
) -> None:
    r = await rest.get("/contract")
    assert r.status_code == 200, r.text
    by_symbol = {c["vt_symbol"]: c for c in r.json()}
    assert {RB, "600036.SSE", BRK} <= set(by_symbol)
    rb = by_symbol[RB]
    assert (rb["product"], rb["pricetick"], rb["gateway_name"]) == (
        "FUTURES",
        1.0,
        engine.gateway_name,
    )
    one = await rest.get("/contract", params={"vt_symbol": BRK})
    assert [c["symbol"] for c in one.json()] == ["BRK.B"]

    over_nats = await ok(nc, engine.engine_id, Op.CONTRACTS)
    assert [c["vt_symbol"] for c in over_nats] == list(by_symbol)
    info = await ok(nc, engine.engine_id, Op.INFO)
    assert (info["engine"], info["gateway_name"]) == (engine.kind, engine.gateway_name)
    assert {"SHFE", "SSE", "SMART"} <= set(info["exchanges"])


async def test_subscribed_ticks_reach_rest_both_websockets_and_nats(
    engine: EngineUnderTest, rest: httpx.AsyncClient, nc: NatsClient
) -> None:
    on_nats = await listen(nc, tick_subject(engine.engine_id, "BRK.B", Exchange.SMART))
    async with (
        open_ws(ws_url(engine.web, "/ws/", engine.token)) as vnpy_ws,
        open_ws(ws_url(engine.web, "/stream", engine.token)) as stream,
    ):
        assert (await recv_json(stream))["type"] == "welcome"
        ack = await subscribe(stream, "1", kind="tick", vt_symbol=BRK)
        assert ack["subject"] == f"wt.{engine.engine_id}.evt.tick.SMART.BRK%2EB"

        r = await rest.post(f"/tick/{BRK}")
        assert (r.status_code, r.json()) == (200, {"vt_symbol": BRK})

        frame = await recv_until(
            vnpy_ws, lambda f: f["topic"] == "eTick." and f["data"]["vt_symbol"] == BRK
        )
        assert set(frame) == {"topic", "data"}
        streamed = await recv_until(stream, lambda f: bool(events_of(f)))
    tick = events_of(streamed)[0]["data"]
    assert (tick["symbol"], tick["exchange"], tick["gateway_name"]) == (
        "BRK.B",
        "SMART",
        engine.gateway_name,
    )
    assert tick["bid_price_1"] < tick["ask_price_1"]
    assert tick["datetime"][-6] in "+-" or tick["datetime"].endswith("Z")  # has its offset
    assert (await on_nats.wait_json(lambda t: t["vt_symbol"] == BRK))["last_price"] > 0

    async def listed() -> list[dict[str, object]]:
        return list((await rest.get("/tick", params={"vt_symbol": BRK})).json())

    assert (await eventually(listed, "a tick in GET /tick"))[0]["vt_symbol"] == BRK


async def test_subscribing_an_unknown_contract_is_404(rest: httpx.AsyncClient) -> None:
    for vt_symbol in ("nope9999.SHFE", "rb2601.NOSUCH"):
        r = await rest.post(f"/tick/{vt_symbol}")
        assert r.status_code == 404, (vt_symbol, r.text)
