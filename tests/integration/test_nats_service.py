"""Another service talks to an engine over NATS directly — no gateway.

A plain nats-py client finds the engine through the ``$SRV`` discovery subjects, follows
its events by wildcard, subscribes market data and trades by request-reply, and gets the
documented error replies for bad input.  Every bridge here is a real ``python -m
engine_bridge`` process on the session's real nats-server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from engine_bridge.engine import Engine
from engine_bridge.service import Bridge as InProcessBridge
from engine_bridge.sim import SimEngine
from schemas.enums import Exchange
from schemas.messages import SERVICE_NAME
from schemas.objects import OrderData
from schemas.subjects import (
    EventKind,
    Op,
    event_subject,
    events_pattern,
    parse_event_subject,
    request_subject,
    tick_subject,
)
from tests.support.nats_requests import Inbox, Json, call, fails, listen, ok
from tests.support.processes import Bridge, NatsServer

LIMIT_UP, LIMIT_DOWN = 3745.0, 3255.0  # rb2601.SHFE


def rb(**kw: Any) -> Json:
    """An order body for rb2601.SHFE (one lot, LIMIT, open long) with overrides."""
    return {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": 3500,
        "offset": "OPEN",
        **kw,
    }


@pytest.fixture(scope="module")
def bridge(nats_server: NatsServer) -> Iterator[Bridge]:
    """One bridge shared by the tests of this module that do not need a clean engine."""
    b = Bridge(nats_server.url, "m" + uuid.uuid4().hex[:10], tick_rate=20)
    b.start_bridge()
    yield b
    b.stop()


# ------------------------------------------------------------------------ the full story


async def test_another_service_finds_the_engine_follows_its_events_and_trades(
    fresh_bridge: Bridge, nc: NatsClient
) -> None:
    engine_id = fresh_bridge.engine_id

    # discovery: ping every webtrader engine, pick ours by its metadata
    pongs = Inbox()
    inbox = nc.new_inbox()
    await nc.subscribe(inbox, cb=pongs.put)
    await nc.publish(f"$SRV.PING.{SERVICE_NAME}", b"", reply=inbox)
    pong = await pongs.wait_json(lambda p: p["metadata"].get("engine_id") == engine_id)
    assert pong["name"] == SERVICE_NAME
    assert pong["metadata"] == {"engine_id": engine_id, "engine": "sim"}
    info = json.loads((await nc.request(f"$SRV.INFO.{SERVICE_NAME}.{pong['id']}", b"")).data)
    assert {e["subject"] for e in info["endpoints"]} == {
        request_subject(engine_id, op) for op in Op
    }

    # follow events by wildcard
    ticks = await listen(nc, events_pattern(engine_id, "tick.>"))
    orders = await listen(nc, events_pattern(engine_id, "order.>"))
    trades = await listen(nc, events_pattern(engine_id, "trade.>"))
    positions = await listen(nc, events_pattern(engine_id, "position.>"))
    accounts = await listen(nc, events_pattern(engine_id, "account.>"))

    # market data by request-reply
    assert await ok(nc, engine_id, Op.SUBSCRIBE, {"symbol": "rb2601", "exchange": "SHFE"}) == {
        "vt_symbol": "rb2601.SHFE"
    }
    tick_msg = await ticks.wait(lambda m: True)
    assert tick_msg.subject == tick_subject(engine_id, "rb2601", Exchange.SHFE)
    tick = json.loads(tick_msg.data)
    assert tick["vt_symbol"] == "rb2601.SHFE"
    assert LIMIT_DOWN <= tick["ask_price_1"] <= LIMIT_UP

    # an order that crosses at once: order, trade, position and account events follow
    reply = await call(nc, engine_id, Op.SUBMIT, rb(price=LIMIT_UP, reference="svc"))
    filled = json.loads(reply.data)
    assert reply.headers == {"Vt-Orderid": filled["vt_orderid"]}
    assert filled["status"] == "ALLTRADED"
    assert filled["reference"] == "svc"
    vt_orderid = filled["vt_orderid"]
    assert (
        await orders.wait_json(
            lambda o: o["vt_orderid"] == vt_orderid and o["status"] == "ALLTRADED"
        )
    )["traded"] == 1
    trade = await trades.wait_json(lambda t: t["vt_orderid"] == vt_orderid)
    assert trade["direction"] == "LONG"
    assert trade["volume"] == 1
    position = await positions.wait_json(lambda p: p["vt_symbol"] == "rb2601.SHFE")
    assert (position["direction"], position["volume"]) == ("LONG", 1)
    account = await accounts.wait_json(lambda a: a["frozen"] > 0)
    assert account["vt_accountid"] == "SIM.SIM"
    assert account["available"] == pytest.approx(account["balance"] - account["frozen"])

    # an order that rests, then is cancelled
    resting = await ok(nc, engine_id, Op.SUBMIT, rb(price=LIMIT_DOWN))
    assert resting["status"] == "NOTTRADED"
    cancelled = await ok(nc, engine_id, Op.CANCEL, {"vt_orderid": resting["vt_orderid"]})
    assert cancelled["status"] == "CANCELLED"
    await orders.wait_json(
        lambda o: o["vt_orderid"] == resting["vt_orderid"] and o["status"] == "CANCELLED"
    )

    # the engine's books agree with the events
    assert [o["vt_orderid"] for o in await ok(nc, engine_id, Op.ORDERS)] == [
        vt_orderid,
        resting["vt_orderid"],
    ]
    assert [t["vt_tradeid"] for t in await ok(nc, engine_id, Op.TRADES)] == [trade["vt_tradeid"]]
    [pos] = await ok(nc, engine_id, Op.POSITIONS)
    assert (pos["vt_positionid"], pos["volume"]) == ("SIM.rb2601.SHFE.LONG", 1)


# ------------------------------------------------------------------------- reply shapes


async def test_every_request_op_replies_with_its_documented_shape(
    bridge: Bridge, nc: NatsClient
) -> None:
    eid = bridge.engine_id
    info = await ok(nc, eid, Op.INFO)
    assert (info["engine_id"], info["engine"], info["gateway_name"]) == (eid, "sim", "SIM")
    assert info["contracts"] >= 6
    assert len(info["exchanges"]) >= 3

    contracts = await ok(nc, eid, Op.CONTRACTS)
    assert len(contracts) == info["contracts"]
    assert {c["vt_symbol"] for c in contracts} >= {"rb2601.SHFE", "BRK.B.SMART", "600036.SSE"}
    assert await ok(nc, eid, Op.CONTRACTS, {"vt_symbol": "au2606.SHFE"}) == [
        c for c in contracts if c["vt_symbol"] == "au2606.SHFE"
    ]

    assert await ok(nc, eid, Op.SUBSCRIBE, {"symbol": "IF2512", "exchange": "CFFEX"}) == {
        "vt_symbol": "IF2512.CFFEX"
    }
    assert "IF2512.CFFEX" in {t["vt_symbol"] for t in await ok(nc, eid, Op.TICKS)}
    assert [t["vt_symbol"] for t in await ok(nc, eid, Op.TICKS, {"vt_symbol": "IF2512.CFFEX"})] == [
        "IF2512.CFFEX"
    ]

    [account] = await ok(nc, eid, Op.ACCOUNTS)
    assert set(account) >= {"accountid", "balance", "frozen", "available", "vt_accountid"}

    placed = await ok(nc, eid, Op.SUBMIT, rb(price=LIMIT_DOWN, symbol="rb2601"))
    assert await ok(nc, eid, Op.ORDER, {"vt_orderid": placed["vt_orderid"]}) == placed
    active = await ok(nc, eid, Op.ORDERS, {"active": True, "vt_symbol": "rb2601.SHFE"})
    assert placed["vt_orderid"] in [o["vt_orderid"] for o in active]
    assert all(o["status"] in ("SUBMITTING", "NOTTRADED", "PARTTRADED") for o in active)
    assert len(await ok(nc, eid, Op.ORDERS, {"limit": 1})) == 1
    assert isinstance(await ok(nc, eid, Op.TRADES, {"limit": 5}), list)
    assert isinstance(await ok(nc, eid, Op.POSITIONS), list)

    cancelled = await ok(nc, eid, Op.CANCEL_ALL, {"vt_symbol": "rb2601.SHFE"})
    assert placed["vt_orderid"] in [o["vt_orderid"] for o in cancelled]
    assert all(o["status"] == "CANCELLED" for o in cancelled)
    assert await ok(nc, eid, Op.CANCEL_ALL) == []


async def test_vnpy_chinese_enum_values_are_accepted(bridge: Bridge, nc: NatsClient) -> None:
    order = await ok(
        nc,
        bridge.engine_id,
        Op.SUBMIT,
        rb(direction="多", type="限价", offset="开", price=LIMIT_DOWN),
    )
    assert (order["direction"], order["type"], order["offset"]) == ("LONG", "LIMIT", "OPEN")
    await ok(nc, bridge.engine_id, Op.CANCEL, {"vt_orderid": order["vt_orderid"]})


async def test_what_only_the_engine_can_judge_comes_back_rejected_and_is_published(
    bridge: Bridge, nc: NatsClient
) -> None:
    eid = bridge.engine_id
    orders = await listen(nc, events_pattern(eid, "order.>"))
    logs = await listen(nc, event_subject(eid, EventKind.LOG))
    broke = await ok(
        nc,
        eid,
        Op.SUBMIT,
        {
            "symbol": "IF2512",
            "exchange": "CFFEX",
            "direction": "LONG",
            "type": "LIMIT",
            "volume": 1000,
            "price": 5060,
            "offset": "OPEN",
        },
    )
    assert broke["status"] == "REJECTED"
    assert broke["reason"].startswith("insufficient funds")
    over = await ok(
        nc, eid, Op.SUBMIT, rb(direction="SHORT", offset="CLOSE", volume=999, price=LIMIT_DOWN)
    )
    assert over["status"] == "REJECTED"
    assert "cannot close" in over["reason"]
    stop = await ok(nc, eid, Op.SUBMIT, rb(type="STOP"))
    assert (stop["status"], stop["reason"]) == ("REJECTED", "unsupported order type STOP")
    for rejected in (broke, over, stop):
        await logs.wait_json(lambda line, r=rejected: r["vt_orderid"] in line["msg"])
        await orders.wait_json(
            lambda o, r=rejected: o["vt_orderid"] == r["vt_orderid"] and o["status"] == "REJECTED"
        )


# ------------------------------------------------------------------------------- errors

GARBAGE = {
    "binary junk": b"\x00\xff\xfe\x81 binary \x00",
    "not JSON": b"hello there",
    "truncated JSON": b'{"symbol": "rb2601", "exch',
    "wrong top-level type": b"[1, 2, 3]",
    "huge": b"[" * 3_000_000,
}


@pytest.mark.parametrize("kind", list(GARBAGE))
async def test_garbage_on_every_request_subject_is_400_and_the_bridge_keeps_answering(
    bridge: Bridge, nc: NatsClient, kind: str
) -> None:
    for op in Op:
        code, body = await fails(nc, bridge.engine_id, op, GARBAGE[kind])
        assert code == 400, (op, body)
        assert body["detail"]
    assert (await ok(nc, bridge.engine_id, Op.INFO))["engine_id"] == bridge.engine_id
    assert bridge.alive()


@pytest.mark.parametrize(
    ("op", "body", "field"),
    [
        (Op.SUBMIT, rb(direction="UP"), "direction"),
        (Op.SUBMIT, rb(type="ICEBERG"), "type"),
        (Op.SUBMIT, rb(exchange="MOON"), "exchange"),
        (Op.SUBMIT, rb(volume="one"), "volume"),
        (Op.SUBMIT, rb(volume=1e400), "volume"),  # not a float64 at all
        (
            Op.SUBMIT,
            {"symbol": "rb2601", "exchange": "SHFE", "type": "LIMIT", "volume": 1},
            "direction",
        ),
        (Op.SUBSCRIBE, {"symbol": 42, "exchange": "SHFE"}, "symbol"),
        (Op.ORDERS, {"limit": "ten"}, "limit"),
        (Op.ORDERS, {"limit": -1}, "limit"),
        (Op.TRADES, {"active": "yes"}, "active"),
        (Op.CANCEL, {"vt_orderid": 7}, "vt_orderid"),
        (Op.ORDER, {}, "vt_orderid"),
        (Op.CANCEL_ALL, {"vt_symbol": ["x"]}, "vt_symbol"),
    ],
)
async def test_bad_fields_are_400_naming_the_field(
    bridge: Bridge, nc: NatsClient, op: Op, body: Json, field: str
) -> None:
    data = json.dumps(body).replace("Infinity", "1e400").encode()
    code, err = await fails(nc, bridge.engine_id, op, data)
    assert (code, err["field"]) == (400, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rb(price=3500.5), "price"),  # off the price grid
        (rb(price=LIMIT_UP + 1), "price"),
        (rb(price=1e308), "price"),  # finite but absurd
        (rb(price=-1), "price"),
        (rb(volume=0), "volume"),
        (rb(volume=-3), "volume"),
        (rb(volume=1e308), "volume"),
        (rb(volume=1.5), "volume"),  # off the min_volume grid
        (rb(symbol="rb9999"), "symbol"),  # unknown on a known exchange
        ({**rb(symbol="600036", exchange="SSE", price=42), "volume": 50}, "volume"),
    ],
)
async def test_orders_the_contract_cannot_take_are_422_naming_the_field(
    bridge: Bridge, nc: NatsClient, body: Json, field: str
) -> None:
    code, err = await fails(nc, bridge.engine_id, Op.SUBMIT, body)
    assert (code, err["field"]) == (422, field)


async def test_unknown_orders_and_contracts_are_404(bridge: Bridge, nc: NatsClient) -> None:
    eid = bridge.engine_id
    assert (await fails(nc, eid, Op.ORDER, {"vt_orderid": "SIM.999999"}))[0] == 404
    assert (await fails(nc, eid, Op.CANCEL, {"vt_orderid": "nope"}))[0] == 404
    unknown = {"symbol": "rb9999", "exchange": "SHFE"}
    assert (await fails(nc, eid, Op.SUBSCRIBE, unknown))[0] == 404


async def test_cancel_of_an_order_no_longer_active_is_409(bridge: Bridge, nc: NatsClient) -> None:
    filled = await ok(nc, bridge.engine_id, Op.SUBMIT, rb(price=LIMIT_UP))
    assert filled["status"] == "ALLTRADED"
    code, err = await fails(nc, bridge.engine_id, Op.CANCEL, {"vt_orderid": filled["vt_orderid"]})
    assert code == 409
    assert "ALLTRADED" in err["detail"]


class BrokenEngine(SimEngine):
    """A simulator whose order list fails with a secret in the message."""

    async def orders(self) -> list[OrderData]:
        raise RuntimeError("secret-internal-state 0xdeadbeef")


async def test_an_unexpected_engine_failure_is_500_without_details(
    nats_server: NatsServer, nc: NatsClient, engine_id: str
) -> None:
    import nats  # noqa: PLC0415 - the in-process bridge's own connection

    conn = await nats.connect(nats_server.url, name="in-process-bridge")
    engine: Engine = BrokenEngine(tick_rate=1, seed=1)
    bridge = InProcessBridge(conn, engine, engine_id)
    await bridge.start()
    try:
        code, body = await fails(nc, engine_id, Op.ORDERS, b"")
        assert code == 500
        assert "secret" not in json.dumps(body)
        assert "Traceback" not in json.dumps(body)
        assert (await ok(nc, engine_id, Op.INFO))["engine_id"] == engine_id
    finally:
        await bridge.stop()


# -------------------------------------------------------------- start, subjects, shutdown


async def test_at_start_the_bridge_publishes_every_contract_and_a_heartbeat(
    bridge_factory: Callable[..., Bridge], nc: NatsClient, engine_id: str
) -> None:
    beats = await listen(nc, event_subject(engine_id, EventKind.HEARTBEAT))
    contracts = await listen(nc, events_pattern(engine_id, "contract.>"))
    bridge_factory(engine_id)
    beat = await beats.wait_json(lambda b: True)
    assert (beat["engine_id"], beat["seq"]) == (engine_id, 1)
    assert beat["info"]["engine"] == "sim"
    await contracts.wait(lambda m: len(contracts.msgs) >= beat["info"]["contracts"])
    subjects = {m.subject for m in contracts.msgs}
    assert event_subject(engine_id, EventKind.CONTRACT, "SMART.BRK%2EB") in subjects
    assert len(subjects) == beat["info"]["contracts"]


async def test_brk_b_ticks_arrive_on_the_escaped_subject(bridge: Bridge, nc: NatsClient) -> None:
    subject = f"wt.{bridge.engine_id}.evt.tick.SMART.BRK%2EB"
    ticks = await listen(nc, subject)
    await ok(nc, bridge.engine_id, Op.SUBSCRIBE, {"symbol": "BRK.B", "exchange": "SMART"})
    msg = await ticks.wait(lambda m: True)
    assert msg.subject == subject
    tick = json.loads(msg.data)
    assert (tick["symbol"], tick["vt_symbol"]) == ("BRK.B", "BRK.B.SMART")
    parsed = parse_event_subject(msg.subject)
    assert (parsed.kind, parsed.key) == (EventKind.TICK, "BRK.B")


def test_sigterm_drains_and_exits_0(bridge_factory: Callable[..., Bridge], engine_id: str) -> None:
    started = bridge_factory(engine_id)
    assert started.stop() == 0


async def test_the_bridge_reconnects_after_nats_restarts(tmp_path: Path, engine_id: str) -> None:
    import nats  # noqa: PLC0415 - a client of this test's own server

    server = NatsServer(tmp_path)
    server.start_server()
    bridge = Bridge(server.url, engine_id, tick_rate=20)
    client: NatsClient | None = None
    try:
        bridge.start_bridge()
        client = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        ticks = await listen(client, tick_subject(engine_id, "m2605", Exchange.DCE))
        await ok(client, engine_id, Op.SUBSCRIBE, {"symbol": "m2605", "exchange": "DCE"})
        server.stop()
        server.start_server()  # same port
        restarted = datetime.now(UTC)
        # ticks made after the restart arrive: the engine publishes again
        await ticks.wait_json(lambda t: datetime.fromisoformat(t["datetime"]) > restarted, 20)
        async with asyncio.timeout(20):
            while True:  # and serves requests again (a request sent mid-reconnect may be lost)
                try:
                    msg = await client.request(request_subject(engine_id, Op.INFO), b"", timeout=1)
                    break
                except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                    await asyncio.sleep(0.2)
        info = json.loads(msg.data)
        assert info["engine_id"] == engine_id
        assert bridge.alive()
    finally:
        if client is not None:
            await client.close()
        bridge.stop()
        server.stop()
