"""REST authorization: roles and per-user engine lists, against a gateway outside demo mode
with two engines (``sim`` and a second bridge) and users made with ``webtrader user add``.

Decision tested here: an engine outside the user's list is 403 whether it exists or not
(a user cannot probe which engines exist); an unknown engine is 404 only for a user
allowed every engine.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.users import as_user, gateway_with_users, login_all

OTHER = "az" + uuid.uuid4().hex[:8]
"""The second engine's id (fresh per run)."""
PASSWORD = "authz-pass-1"
USERS = {
    "root": ("admin", "*"),
    "ann": ("trader", "sim"),  # trades the default engine only
    "bob": ("trader", OTHER),  # not the default engine
    "vic": ("viewer", f"sim,{OTHER}"),
}
ORDER = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "volume": 1,
    "price": 3500,
}
TRADING = [
    ("POST", "/order", ORDER),
    ("DELETE", "/order/SIM.1", None),
    ("DELETE", "/order", None),
    ("POST", "/engines/sim/order", ORDER),
    ("DELETE", "/engines/sim/order/SIM.1", None),
    ("DELETE", "/engines/sim/order", None),
]
READING = ["/contract", "/account", "/position", "/order", "/trade", "/tick"]
VNPY_RESOURCES = {path.strip("/") for path in READING}


@pytest.fixture(scope="module")
def other_bridge(nats_server: NatsServer) -> Iterator[Bridge]:
    bridge = Bridge(nats_server.url, OTHER)
    bridge.start_bridge()
    yield bridge
    bridge.stop()


@pytest.fixture(scope="module")
def authz_gateway(
    nats_server: NatsServer,
    sim_bridge: object,
    other_bridge: Bridge,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("authz")
    with gateway_with_users(nats_server.url, directory, USERS, PASSWORD) as gw:
        yield gw


@pytest.fixture(scope="module")
def tokens(authz_gateway: Gateway) -> dict[str, str]:
    return login_all(authz_gateway, USERS, PASSWORD)


@pytest.fixture
async def http(authz_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=authz_gateway.url, timeout=10) as c:
        yield c


def assert_403(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/json")
    for word in words:
        assert word in r.json()["detail"], r.json()


@pytest.mark.parametrize(("method", "path", "body"), TRADING)
async def test_viewer_cannot_submit_or_cancel(
    http: httpx.AsyncClient, tokens: dict[str, str], method: str, path: str, body: object
) -> None:
    r = await http.request(method, path, json=body, headers=as_user(tokens, "vic"))
    assert_403(r, "viewer", "may not submit or cancel")


@pytest.mark.parametrize("path", READING)
async def test_viewer_reads_its_engines(
    http: httpx.AsyncClient, tokens: dict[str, str], path: str
) -> None:
    for prefix in ("", "/engines/sim", f"/engines/{OTHER}"):
        r = await http.get(prefix + path, headers=as_user(tokens, "vic"))
        assert r.status_code == 200, f"{prefix}{path}: {r.text}"


async def test_viewer_may_subscribe(http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    r = await http.post("/tick/rb2601.SHFE", headers=as_user(tokens, "vic"))
    assert r.status_code == 200, r.text


async def test_trader_trades_its_engine(http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    r = await http.post("/engines/sim/order", json=ORDER, headers=as_user(tokens, "ann"))
    assert r.status_code == 201, r.text
    vt_orderid = r.json()["vt_orderid"]
    cancel = await http.delete(f"/engines/sim/order/{vt_orderid}", headers=as_user(tokens, "ann"))
    assert cancel.status_code in (200, 409), cancel.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/contract", None),
        ("GET", "/order", None),
        ("POST", "/order", ORDER),
        ("DELETE", "/order", None),
        ("POST", "/tick/rb2601.SHFE", None),
        ("GET", "/engines/{other}/contract", None),
        ("POST", "/engines/{other}/order", ORDER),
        ("DELETE", "/engines/{other}/order/X.1", None),
        ("GET", "/engines/{other}", None),
    ],
)
async def test_engine_outside_the_users_list_is_403_naming_it(
    http: httpx.AsyncClient, tokens: dict[str, str], method: str, path: str, body: object
) -> None:
    """``ann`` may use ``sim`` only (the other engine); ``bob`` may not use ``sim`` (the
    default engine behind the vnpy routes)."""
    if "{other}" in path:
        user, engine = "ann", OTHER
        path = path.format(other=OTHER)
    else:
        user, engine = "bob", "sim"
    r = await http.request(method, path, json=body, headers=as_user(tokens, user))
    assert_403(r, f"may not use engine '{engine}'")
    assert r.json()["field"] == "engine_id"


async def test_trader_uses_its_non_default_engine(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await http.get(f"/engines/{OTHER}/contract", headers=as_user(tokens, "bob"))
    assert r.status_code == 200, r.text
    r = await http.post(f"/engines/{OTHER}/order", json=ORDER, headers=as_user(tokens, "bob"))
    assert r.status_code == 201, r.text


async def test_unknown_engine_is_403_for_a_limited_user_and_404_for_admin(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for path in ("/engines/nosuch/contract", "/engines/nosuch"):
        assert_403(await http.get(path, headers=as_user(tokens, "ann")), "'nosuch'")
        r = await http.get(path, headers=as_user(tokens, "root"))
        assert r.status_code == 404, r.text


async def test_engine_list_shows_only_the_users_engines(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    async def ids(user: str) -> set[str]:
        r = await http.get("/engines", headers=as_user(tokens, user))
        assert r.status_code == 200, r.text
        return {e["engine_id"] for e in r.json()}

    assert await ids("ann") == {"sim"}
    assert await ids("bob") == {OTHER}
    assert {"sim", OTHER} <= await ids("vic")
    assert {"sim", OTHER} <= await ids("root")
    assert len(await ids("vic")) == 2  # nothing else the gateway saw


async def test_every_engine_route_documents_403(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/schema/openapi.json")).json()
    for path, item in doc["paths"].items():
        engine_scoped = path.startswith("/engines/") or path.split("/")[1] in VNPY_RESOURCES
        if not engine_scoped:
            continue
        for method, op in item.items():
            if method in ("get", "post", "delete"):
                assert "403" in op["responses"], f"{method.upper()} {path}"


async def test_only_an_admin_may_ask_the_stream_stats_about_a_pattern(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pattern = {"pattern": f"wt.{OTHER}.evt.tick.>"}
    assert (await http.get("/stream/stats", headers=as_user(tokens, "ann"))).status_code == 200
    r = await http.get("/stream/stats", params=pattern, headers=as_user(tokens, "ann"))
    assert_403(r, "admin")
    assert r.json()["field"] == "pattern"
    r = await http.get("/stream/stats", params=pattern, headers=as_user(tokens, "root"))
    assert r.status_code == 200
    assert r.json()["refcount"] == 0
