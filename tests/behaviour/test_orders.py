"""Orders, the same on both engines: resting, cancelled, filled, refused, cancelled in bulk.

Every order here is seen four ways: vnpy_webtrader's REST routes and ``/ws/``, ``/stream``,
and a plain NATS subscriber on the engine's subjects.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from schemas.subjects import events_pattern
from tests.behaviour.conftest import EngineUnderTest
from tests.behaviour.helpers import BRK, RB, eventually, latest_tick, order_body, place
from tests.support.nats_requests import listen
from tests.support.ws import events_of, open_ws, recv_json, recv_until, subscribe, ws_url

ACTIVE = {"SUBMITTING", "NOTTRADED", "PARTTRADED"}


async def test_resting_order_is_seen_everywhere_then_cancelled(
    engine: EngineUnderTest, rest: httpx.AsyncClient, nc: NatsClient
) -> None:
    tick = await latest_tick(rest, RB)
    on_nats = await listen(nc, events_pattern(engine.engine_id, "order.>"))
    async with (
        open_ws(ws_url(engine.web, "/ws/", engine.token)) as vnpy_ws,
        open_ws(ws_url(engine.web, "/stream", engine.token)) as stream,
    ):
        assert (await recv_json(stream))["type"] == "welcome"
        await subscribe(stream, "1", kind="order", vt_symbol=RB)
        body = order_body(RB, tick["limit_down"])  # a buy at limit_down never crosses
        vt_orderid = await place(rest, body)
        assert vt_orderid.startswith(f"{engine.gateway_name}.")

        def resting(order: dict[str, Any]) -> bool:
            return order["vt_orderid"] == vt_orderid and order["status"] == "NOTTRADED"

        frame = await recv_until(vnpy_ws, lambda f: f["topic"] == "eOrder." and resting(f["data"]))
        streamed = await recv_until(stream, lambda f: any(resting(e["data"]) for e in events_of(f)))
        published = await on_nats.wait_json(resting)

        async def in_rest() -> bool:
            return (await rest.get(f"/order/{vt_orderid}")).json()["status"] == "NOTTRADED"

        await eventually(in_rest, "the order NOTTRADED in GET /order/{id}")
        event = next(e for e in events_of(streamed) if resting(e["data"]))
        assert event["seq"] > 0  # orders are durable: each carries its stream sequence
        for order in (frame["data"], event["data"], published):
            assert (order["reference"], order["price"], order["direction"]) == (
                body["reference"],
                tick["limit_down"],
                "LONG",
            )

        cancelled = await rest.delete(f"/order/{vt_orderid}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "CANCELLED"
        await recv_until(
            vnpy_ws,
            lambda f: (
                f["topic"] == "eOrder."
                and f["data"]["vt_orderid"] == vt_orderid
                and f["data"]["status"] == "CANCELLED"
            ),
        )
    await on_nats.wait_json(lambda o: o["vt_orderid"] == vt_orderid and o["status"] == "CANCELLED")
    again = await rest.delete(f"/order/{vt_orderid}")
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "vt_orderid"
    active = (await rest.get("/order", params={"active": True})).json()
    assert vt_orderid not in {o["vt_orderid"] for o in active}


async def test_crossing_order_trades_and_moves_position_and_account(
    engine: EngineUnderTest, rest: httpx.AsyncClient, nc: NatsClient
) -> None:
    tick = await latest_tick(rest, RB)

    async def long_rb() -> float:
        r = await rest.get("/position", params={"vt_symbol": RB})
        assert r.status_code == 200, r.text
        return float(sum(p["volume"] for p in r.json() if p["direction"] == "LONG"))

    async def account() -> dict[str, Any]:
        (acc,) = (await rest.get("/account")).json()
        return dict(acc)

    held, before = await long_rb(), await account()
    trades = await listen(nc, events_pattern(engine.engine_id, "trade.>"))
    async with open_ws(ws_url(engine.web, "/ws/", engine.token)) as vnpy_ws:
        vt_orderid = await place(rest, order_body(RB, tick["limit_up"]))  # always crosses
        wanted = {"eOrder.", "eTrade.", "ePosition.", "eAccount."}
        seen: dict[str, dict[str, Any]] = {}

        def filled(frame: Any) -> bool:
            topic, data = frame["topic"], frame["data"]
            if topic in ("eOrder.", "eTrade.") and data["vt_orderid"] != vt_orderid:
                return False
            if topic == "eOrder." and data["status"] != "ALLTRADED":
                return False
            if topic == "ePosition." and data["vt_symbol"] != RB:
                return False
            seen.setdefault(topic, data)
            return wanted <= set(seen)

        await recv_until(vnpy_ws, filled)
    trade = await trades.wait_json(lambda t: t["vt_orderid"] == vt_orderid)
    assert (trade["direction"], trade["volume"], trade["vt_tradeid"]) == (
        "LONG",
        1.0,
        seen["eTrade."]["vt_tradeid"],
    )
    assert trade["price"] <= tick["limit_up"]
    assert (await rest.get(f"/order/{vt_orderid}")).json()["status"] == "ALLTRADED"
    listed = (await rest.get("/trade", params={"vt_symbol": RB})).json()
    assert trade["vt_tradeid"] in {t["vt_tradeid"] for t in listed}

    async def one_more_lot() -> bool:
        return await long_rb() == held + 1

    await eventually(one_more_lot, "one more LONG lot of rb2601")
    after = await account()
    assert after["accountid"] == before["accountid"]
    assert (after["balance"], after["frozen"]) != (before["balance"], before["frozen"])
    assert after["available"] == pytest.approx(after["balance"] - after["frozen"])


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"volume": 0}, 422, "volume"),
        ({"volume": 1.5}, 422, "volume"),
        ({"price": 3500.5}, 422, "price"),
        ({"symbol": "nope2601"}, 422, "symbol"),
        ({"direction": "UP"}, 400, "direction"),
        ({"volume": "one"}, 400, "volume"),
    ],
)
async def test_bad_order_is_refused_naming_the_field(
    rest: httpx.AsyncClient, change: dict[str, Any], code: int, field: str
) -> None:
    r = await rest.post("/order", json={**order_body(RB, 3500), **change})
    assert r.status_code == code, r.text
    assert r.json()["field"] == field


async def test_vnpy_enum_values_are_accepted(rest: httpx.AsyncClient) -> None:
    tick = await latest_tick(rest, RB)
    body = order_body(RB, tick["limit_down"], direction="多", type="限价", offset="开")
    vt_orderid = await place(rest, body)
    got = (await rest.get(f"/order/{vt_orderid}")).json()
    assert (got["direction"], got["type"], got["offset"]) == ("LONG", "LIMIT", "OPEN")
    assert (await rest.delete(f"/order/{vt_orderid}")).status_code == 200


async def test_cancel_all_of_one_contract_then_of_every_contract(
    rest: httpx.AsyncClient,
) -> None:
    rb_low = (await latest_tick(rest, RB))["limit_down"]
    brk_low = (await latest_tick(rest, BRK))["limit_down"]
    rb_order = await place(rest, order_body(RB, rb_low))
    brk_order = await place(rest, order_body(BRK, brk_low))

    async def both_resting() -> bool:
        states = [(await rest.get(f"/order/{i}")).json()["status"] for i in (rb_order, brk_order)]
        return states == ["NOTTRADED", "NOTTRADED"]

    await eventually(both_resting, "both orders resting")

    r = await rest.delete("/order", params={"vt_symbol": RB})
    assert r.status_code == 200, r.text
    assert {o["vt_symbol"] for o in r.json()} == {RB}
    assert rb_order in {o["vt_orderid"] for o in r.json() if o["status"] == "CANCELLED"}
    assert (await rest.get(f"/order/{brk_order}")).json()["status"] == "NOTTRADED"

    r = await rest.delete("/order")
    assert r.status_code == 200, r.text
    assert brk_order in {o["vt_orderid"] for o in r.json() if o["status"] == "CANCELLED"}
    left = (await rest.get("/order", params={"active": True})).json()
    assert not [o for o in left if o["status"] in ACTIVE]


async def test_same_client_order_id_is_the_same_order(
    engine: EngineUnderTest, rest: httpx.AsyncClient
) -> None:
    tick = await latest_tick(rest, RB)
    body = order_body(RB, tick["limit_down"], client_order_id="c-" + engine.engine_id)
    first = await rest.post(f"/engines/{engine.engine_id}/order", json=body)
    assert first.status_code == 201, first.text
    again = await rest.post(f"/engines/{engine.engine_id}/order", json=body)
    assert again.status_code == 200, again.text
    assert again.headers["wt-replayed"] == "1"
    assert again.json()["vt_orderid"] == first.json()["vt_orderid"]
    assert again.json()["client_order_id"] == body["client_order_id"]
    listed = (await rest.get("/order")).json()
    assert [o["vt_orderid"] for o in listed if o["reference"] == body["reference"]] == [
        first.json()["vt_orderid"]
    ]
    assert (await rest.delete(f"/order/{first.json()['vt_orderid']}")).status_code == 200


async def test_concurrent_submits_of_one_client_order_id_are_one_order(
    engine: EngineUnderTest, rest: httpx.AsyncClient
) -> None:
    """The bridge serves requests concurrently; attempts of one id still make one order."""
    tick = await latest_tick(rest, RB)
    body = order_body(RB, tick["limit_down"], client_order_id="cc-" + engine.engine_id)
    url = f"/engines/{engine.engine_id}/order"
    replies = await asyncio.gather(*(rest.post(url, json=body) for _ in range(10)))
    assert sorted(r.status_code for r in replies) == [200] * 9 + [201], [r.text for r in replies]
    vt_orderids = {r.json()["vt_orderid"] for r in replies}
    assert len(vt_orderids) == 1, vt_orderids
    listed = (await rest.get(f"/engines/{engine.engine_id}/order")).json()
    cid = body["client_order_id"]
    assert [o["vt_orderid"] for o in listed if o["client_order_id"] == cid] == list(vt_orderids)
    assert (await rest.delete(f"{url}/{vt_orderids.pop()}")).status_code == 200
