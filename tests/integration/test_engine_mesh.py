"""Two engines with different contracts behind one gateway: nothing crosses between them.

Bridge A trades ``rb2601.SHFE`` and ``IF2512.CFFEX``, bridge B ``600036.SSE`` and
``BRK.B.SMART`` (``--contracts``); both are simulators whose order ids start at ``SIM.1``,
so only the engine id tells their objects apart.  They trade through REST
(``/engines/{id}/order``) while a ``/stream`` WebSocket subscribed with ``engine: "*"`` and a
raw NATS subscriber watch: every event arrives on its own engine's subjects, and neither REST
answers nor subjects of one engine ever carry the other's orders, trades, positions,
accounts or contracts.  A bridge killed with SIGKILL is marked down by the gateway within
VeighNa's 30 s tolerance; requests to it are 503.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas.codec import decode
from schemas.messages import HEARTBEAT_TOLERANCE
from schemas.objects import AccountData, OrderData, PositionData, TradeData
from schemas.subjects import EventKind, parse_event_subject, subject_for
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.ws import events_of, open_ws, recv_until, subscribe, ws_url

A_CONTRACTS = {"rb2601.SHFE": (3745.0, 1), "IF2512.CFFEX": (5060.0, 1)}
B_CONTRACTS = {"600036.SSE": (46.2, 100), "BRK.B.SMART": (576.0, 1)}
"""``vt_symbol: (limit_up, min_volume)``: a buy at ``limit_up`` always fills at once."""
DURABLE = {
    EventKind.ORDER: OrderData,
    EventKind.TRADE: TradeData,
    EventKind.POSITION: PositionData,
    EventKind.ACCOUNT: AccountData,
}


class Engine(NamedTuple):
    bridge: Bridge
    contracts: dict[str, tuple[float, int]]
    tag: str
    """Prefix of the ``reference`` of every order this test places on the engine."""

    @property
    def id(self) -> str:
        return self.bridge.engine_id


@pytest.fixture(scope="module")
def mesh(nats_server: NatsServer) -> Iterator[tuple[Engine, Engine]]:
    """Engines A and B, fresh ids, disjoint contracts; stopped after the module."""
    engines = []
    try:
        for name, contracts in (("a", A_CONTRACTS), ("b", B_CONTRACTS)):
            engine_id = f"mesh{name}" + uuid.uuid4().hex[:8]
            bridge = Bridge(nats_server.url, engine_id, "--contracts", ",".join(contracts))
            engines.append(Engine(bridge, contracts, f"{name}-{uuid.uuid4().hex[:6]}"))
            bridge.start_bridge()
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.bridge.stop()


def order(vt_symbol: str, price: float, volume: int, reference: str) -> dict[str, Any]:
    symbol, _, exchange = vt_symbol.rpartition(".")
    return {
        "symbol": symbol,
        "exchange": exchange,
        "direction": "LONG",
        "type": "LIMIT",
        "volume": volume,
        "price": price,
        "offset": "OPEN",
        "reference": reference,
    }


async def trade_on(client: httpx.AsyncClient, engine: Engine) -> set[str]:
    """Subscribe ticks, fill one order and rest another on each contract; the references."""
    references = set()
    contracts = {
        c["vt_symbol"]: c for c in (await client.get(f"/engines/{engine.id}/contract")).json()
    }
    for vt_symbol, (limit_up, volume) in engine.contracts.items():
        r = await client.post(f"/engines/{engine.id}/tick/{vt_symbol}")
        assert r.status_code == 200, r.text
        for kind, price in (("fill", limit_up), ("rest", contracts[vt_symbol]["limit_down"])):
            reference = f"{engine.tag}-{kind}-{vt_symbol}"
            body = order(vt_symbol, price, volume, reference)
            r = await client.post(f"/engines/{engine.id}/order", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["status"] != "REJECTED", r.json()
            references.add(reference)
    return references


def check_event(subject: str, data: dict[str, Any], engines: dict[str, Engine]) -> str | None:
    """The engine of an event of A or B, after checking it belongs there (None: neither)."""
    parsed = parse_event_subject(subject)
    engine = engines.get(parsed.engine_id)
    if engine is None:
        return None
    vt_symbol = data.get("vt_symbol")
    if vt_symbol is not None:
        assert vt_symbol in engine.contracts, (subject, vt_symbol)
    if parsed.kind is EventKind.ORDER:
        assert data["reference"].startswith(engine.tag), (subject, data["reference"])
    if parsed.kind in DURABLE:
        obj = decode(json.dumps(data).encode(), DURABLE[parsed.kind])
        assert subject == subject_for(engine.id, parsed.kind, obj), subject
    return engine.id


async def test_each_engine_lists_up_with_heartbeat_version_and_what_it_trades(
    client: httpx.AsyncClient, mesh: tuple[Engine, Engine]
) -> None:
    deadline = time.monotonic() + 15
    while True:
        listed = {e["engine_id"]: e for e in (await client.get("/engines")).json()}
        mine = [listed.get(engine.id) for engine in mesh]
        if all(m and m["last_heartbeat"] for m in mine) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    for engine, status in zip(mesh, mine, strict=True):
        assert status is not None, engine.id
        assert status["status"] == "up", status
        assert status["last_heartbeat"], status
        assert status["engine"] == "sim", status
        assert status["version"], status
        assert status["contracts"] == len(engine.contracts), status
        assert set(status["exchanges"]) == {s.rpartition(".")[2] for s in engine.contracts}


async def test_two_engines_trade_through_one_gateway_and_nothing_crosses(
    client: httpx.AsyncClient,
    gateway: Gateway,
    token: str,
    nc: NatsClient,
    mesh: tuple[Engine, Engine],
) -> None:
    a, b = mesh
    engines = {a.id: a, b.id: b}
    wire: list[Msg] = []

    async def on_msg(msg: Msg) -> None:
        wire.append(msg)

    sub = await nc.subscribe("wt.*.evt.>", cb=on_msg)
    await nc.flush()
    seen: dict[str, set[EventKind]] = {a.id: set(), b.id: set()}
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        ack = await subscribe(ws, "all", engine="*", topic=">")
        assert ack["subject"] == "wt.*.evt.>"
        refs = {engine.id: await trade_on(client, engine) for engine in mesh}

        def saw_everything(frame: Any) -> bool:
            for event in events_of(frame):
                engine_id = check_event(event["subject"], event["data"], engines)
                if engine_id is not None:
                    seen[engine_id].add(parse_event_subject(event["subject"]).kind)
            wanted = {EventKind.TICK, *DURABLE}
            return all(wanted <= kinds for kinds in seen.values())

        await recv_until(ws, saw_everything, timeout=20)
    await sub.unsubscribe()

    # the raw subjects: every message of A or B is its own engine's
    mine = [msg for msg in wire if msg.subject.split(".")[1] in engines]
    assert {msg.subject.split(".")[1] for msg in mine} == set(engines)
    for msg in mine:
        check_event(msg.subject, json.loads(msg.data), engines)

    # the REST answers of each engine hold its own objects only
    for engine in mesh:
        base = f"/engines/{engine.id}"
        contracts = (await client.get(f"{base}/contract")).json()
        assert {c["vt_symbol"] for c in contracts} == set(engine.contracts)
        orders = (await client.get(f"{base}/order")).json()
        assert {o["reference"] for o in orders} == refs[engine.id]
        for route in ("trade", "position", "tick"):
            items = (await client.get(f"{base}/{route}")).json()
            assert items, route
            assert {i["vt_symbol"] for i in items} <= set(engine.contracts), route
        accounts = (await client.get(f"{base}/account")).json()
        assert [acc["vt_accountid"] for acc in accounts] == ["SIM.SIM"]

    # same order ids, different orders: the engine id is what tells them apart
    a_first = (await client.get(f"/engines/{a.id}/order/SIM.1")).json()
    b_first = (await client.get(f"/engines/{b.id}/order/SIM.1")).json()
    assert a_first["vt_symbol"] in a.contracts
    assert b_first["vt_symbol"] in b.contracts
    # and one engine cannot trade the other's contracts
    r = await client.post(f"/engines/{a.id}/order", json=order("600036.SSE", 46.2, 100, "x"))
    assert (r.status_code, r.json()["field"]) == (422, "symbol")
    r = await client.post(f"/engines/{b.id}/tick/rb2601.SHFE")
    assert r.status_code == 404, r.text


async def test_a_killed_engine_is_marked_down_within_the_tolerance_and_answers_503(
    client: httpx.AsyncClient,
    gateway: Gateway,
    token: str,
    bridge_factory: Callable[..., Bridge],
    mesh: tuple[Engine, Engine],
) -> None:
    a = mesh[0]
    doomed = bridge_factory("meshk" + uuid.uuid4().hex[:8], "--contracts", "m2605.DCE")
    assert (await client.get(f"/engines/{doomed.engine_id}/account")).status_code == 200
    async with open_ws(ws_url(gateway, "/stream", token)) as ws:
        await subscribe(ws, "hb", engine="*", kind="heartbeat")
        doomed.kill()
        killed = time.monotonic()
        notice = await recv_until(
            ws,
            lambda f: f.get("type") == "engine" and f.get("engine_id") == doomed.engine_id,
            timeout=HEARTBEAT_TOLERANCE,
        )
        assert notice["status"] == "down", notice

    # the list (which probes nothing itself) shows it down, within the deadline
    while True:
        listed = {e["engine_id"]: e for e in (await client.get("/engines")).json()}
        if listed[doomed.engine_id]["status"] == "down":
            break
        assert time.monotonic() - killed < HEARTBEAT_TOLERANCE, "not marked down in 30 s"
        await asyncio.sleep(0.2)
    assert listed[a.id]["status"] == "up"

    r = await client.get(f"/engines/{doomed.engine_id}/order")
    assert r.status_code == 503, r.text
    r = await client.post(
        f"/engines/{doomed.engine_id}/order", json=order("m2605.DCE", 2726, 1, "late")
    )
    assert r.status_code == 503, r.text
    assert (await client.get(f"/engines/{a.id}/order")).status_code == 200
