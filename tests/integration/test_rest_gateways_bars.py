"""REST over the engine's ``gateways``, ``connect`` and ``bars`` ops, on real processes.

The session gateway (demo user: admin) in front of the session sim engine, and a gateway
outside demo mode with users made by ``webtrader user add`` for the role checks: anyone who
may use the engine lists gateways and reads bars; only an admin connects a venue gateway.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from schemas.subjects import Op, request_subject
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.users import as_user, gateway_with_users, login_all

RB = "rb2601.SHFE"
PASSWORD = "venues-pass-1"
ELSEWHERE = "vb" + uuid.uuid4().hex[:8]
"""An engine id no process serves (fresh per run)."""
USERS = {
    "root": ("admin", "*"),
    "ann": ("trader", "sim"),
    "vic": ("viewer", "sim"),
    "bob": ("viewer", ELSEWHERE),  # not the default engine
    "ada": ("admin", "sim"),  # an admin of one engine
}


def window(hours: int) -> tuple[datetime, datetime]:
    """``hours`` whole hours ending at the current minute (UTC)."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    return end - timedelta(hours=hours), end


def bars_query(**change: Any) -> dict[str, Any]:
    """A query for the last two hours of minute bars of ``rb2601.SHFE``, with ``change``."""
    start, end = window(2)
    query = {"vt_symbol": RB, "start": start.isoformat(), "end": end.isoformat()}
    query.update(change)
    return {k: v for k, v in query.items() if v is not None}


# ----------------------------------------------------------------------- default gateway


@pytest.mark.parametrize("prefix", ["", "/engines/sim"])
async def test_gateway_list_shows_the_connected_sim_gateway(
    client: httpx.AsyncClient, prefix: str
) -> None:
    r = await client.get(f"{prefix}/gateway")
    assert r.status_code == 200, r.text
    (gateway,) = r.json()
    assert (gateway["name"], gateway["state"]) == ("SIM", "CONNECTED")
    assert {"SHFE", "SSE", "SMART"} <= set(gateway["exchanges"])
    contracts = await client.get(f"{prefix}/contract")
    assert gateway["contracts"] == len(contracts.json())


async def test_gateway_list_is_the_engines_reply_byte_for_byte(
    client: httpx.AsyncClient, nc: NatsClient
) -> None:
    direct = await nc.request(request_subject("sim", Op.GATEWAYS), b"", timeout=10)
    r = await client.get("/gateway")
    assert r.status_code == 200, r.text
    assert r.content == direct.data


async def test_bars_cover_the_window_oldest_first(client: httpx.AsyncClient) -> None:
    start, end = window(2)
    r = await client.get("/bars", params=bars_query(interval="MINUTE"))
    assert r.status_code == 200, r.text
    bars = r.json()
    assert len(bars) == 120
    times = [datetime.fromisoformat(b["datetime"]) for b in bars]
    assert times == sorted(times)
    assert start <= times[0]
    assert times[-1] < end
    for bar in bars:
        assert (bar["vt_symbol"], bar["interval"], bar["gateway_name"]) == (RB, "MINUTE", "SIM")
        assert bar["low_price"] <= min(bar["open_price"], bar["close_price"])
        assert bar["high_price"] >= max(bar["open_price"], bar["close_price"])


async def test_hourly_bars_by_symbol_and_exchange_on_an_engine_path(
    client: httpx.AsyncClient,
) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    query = {"symbol": "BRK.B", "exchange": "SMART", "start": start.isoformat(), "interval": "1h"}
    r = await client.get("/engines/sim/bars", params=query)
    assert r.status_code == 200, r.text
    bars = r.json()
    assert len(bars) in (24, 25)  # the window ends now, maybe inside an hour
    assert {(b["vt_symbol"], b["interval"]) for b in bars} == {("BRK.B.SMART", "HOUR")}


async def test_a_utc_z_start_and_the_default_end_are_accepted(client: httpx.AsyncClient) -> None:
    start = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = await client.get("/bars", params={"vt_symbol": RB, "start": start})
    assert r.status_code == 200, r.text
    assert len(r.json()) in (29, 30, 31)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-01-05T09:00:00"}, "start"),  # no offset
        ({"start": "2026-01-05 09:00:00+08:00"}, "start"),  # space for T
        ({"start": "2026-02-30T09:00:00Z"}, "start"),  # no such day
        ({"start": "1850-01-01T00:00:00Z"}, "start"),  # before 1900
        ({"start": None}, "start"),
        ({"end": "soon"}, "end"),
        ({"end": "9999-12-31T23:59:59-01:00"}, "end"),  # after 2200
        ({"vt_symbol": None}, "vt_symbol"),
        ({"vt_symbol": "rb2601"}, "vt_symbol"),
        ({"vt_symbol": "rb2601.MOON"}, "vt_symbol"),
        ({"vt_symbol": None, "symbol": "rb2601"}, "exchange"),
        ({"vt_symbol": None, "symbol": "rb2601", "exchange": "MOON"}, "exchange"),
        ({"symbol": "rb2601", "exchange": "SHFE"}, "vt_symbol"),  # both ways at once
        ({"interval": "5m"}, "interval"),
    ],
)
async def test_bad_bars_query_is_400_naming_the_parameter(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    r = await client.get("/bars", params=bars_query(**change))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field, r.json()


async def test_an_unencoded_plus_in_start_is_explained(client: httpx.AsyncClient) -> None:
    r = await client.get("/bars?vt_symbol=rb2601.SHFE&start=2026-01-05T09:00:00+08:00")
    assert r.status_code == 400, r.text
    assert (r.json()["field"], "%2B" in r.json()["detail"]) == ("start", True)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"vt_symbol": "nope.SHFE"}, 404, "symbol"),
        ({"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T08:00:00Z"}, 422, "end"),
        ({"interval": "TICK"}, 422, "interval"),
    ],
)
async def test_bars_the_engine_refuses_pass_its_answer_through(
    client: httpx.AsyncClient, change: dict[str, Any], status: int, field: str
) -> None:
    r = await client.get("/bars", params=bars_query(**change))
    assert r.status_code == status, r.text
    assert r.json()["field"] == field, r.json()


@pytest.mark.parametrize("prefix", ["", "/engines/sim"])
async def test_admin_connects_the_sim_gateway(client: httpx.AsyncClient, prefix: str) -> None:
    r = await client.post(f"{prefix}/gateway/SIM/connect", json={"setting": {"tick_rate": 5}})
    assert r.status_code == 200, r.text
    info = r.json()
    assert (info["name"], info["state"]) == ("SIM", "CONNECTED")
    assert "SHFE" in info["exchanges"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/gateway/NOPE/connect", {"setting": {}}, 404, "gateway_name"),
        ("/gateway/SIM/connect", {"setting": {"a": [1]}}, 400, "setting[...]"),
        ("/gateway/SIM/connect", {"setting": "x"}, 400, "setting"),
    ],
)
async def test_bad_connect_is_refused_naming_the_field(
    client: httpx.AsyncClient, path: str, body: object, status: int, field: str
) -> None:
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field, r.json()


async def test_connect_setting_values_are_never_logged(
    client: httpx.AsyncClient, gateway: Gateway, sim_bridge: Bridge
) -> None:
    secret = "pw-" + uuid.uuid4().hex
    for name in ("SIM", "NOPE"):  # an accepted and a refused connect
        body = {"setting": {"密码": secret, "password": secret}}
        r = await client.post(f"/gateway/{name}/connect", json=body)
        assert r.status_code in (200, 404), r.text
        assert secret not in r.text
    marker = f"/after-connect-{uuid.uuid4().hex}"
    await client.get(marker)  # a later request (404): its access line follows the connects'
    gateway.wait_for(marker)
    assert secret not in gateway.output
    assert secret not in sim_bridge.output


async def test_the_routes_need_a_token(anon_client: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/gateway"), ("POST", "/gateway/SIM/connect"), ("GET", "/bars")]:
        r = await anon_client.request(method, path, json={"setting": {}})
        assert r.status_code == 401, f"{method} {path}: {r.text}"


# ------------------------------------------------------------------------------ roles


@pytest.fixture(scope="module")
def secure_gateway(
    nats_server: NatsServer, sim_bridge: Bridge, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("venues")
    with gateway_with_users(nats_server.url, directory, USERS, PASSWORD) as gw:
        yield gw


@pytest.fixture(scope="module")
def tokens(secure_gateway: Gateway) -> dict[str, str]:
    return login_all(secure_gateway, USERS, PASSWORD)


@pytest.fixture
async def http(secure_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=secure_gateway.url, timeout=10) as c:
        yield c


@pytest.mark.parametrize("prefix", ["", "/engines/sim"])
async def test_viewer_lists_gateways_and_reads_bars(
    http: httpx.AsyncClient, tokens: dict[str, str], prefix: str
) -> None:
    headers = as_user(tokens, "vic")
    r = await http.get(f"{prefix}/gateway", headers=headers)
    assert r.status_code == 200, r.text
    assert [g["name"] for g in r.json()] == ["SIM"]
    r = await http.get(f"{prefix}/bars", params=bars_query(), headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()) == 120


@pytest.mark.parametrize("user", ["vic", "ann"])
@pytest.mark.parametrize("prefix", ["", "/engines/sim"])
async def test_only_an_admin_may_connect(
    http: httpx.AsyncClient, tokens: dict[str, str], user: str, prefix: str
) -> None:
    path = f"{prefix}/gateway/SIM/connect"
    r = await http.post(path, json={"setting": {}}, headers=as_user(tokens, user))
    assert r.status_code == 403, r.text
    assert "only an admin" in r.json()["detail"]
    r = await http.post(path, json={"setting": {}}, headers=as_user(tokens, "root"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "SIM"


@pytest.mark.parametrize(
    ("user", "route", "engine"),
    [
        ("bob", "GET /gateway", "sim"),
        ("bob", "GET /bars", "sim"),
        ("vic", f"GET /engines/{ELSEWHERE}/gateway", ELSEWHERE),
        ("vic", f"GET /engines/{ELSEWHERE}/bars", ELSEWHERE),
        ("ada", f"POST /engines/{ELSEWHERE}/gateway/SIM/connect", ELSEWHERE),
    ],
)
async def test_engine_outside_the_users_list_is_403_naming_it(
    http: httpx.AsyncClient, tokens: dict[str, str], user: str, route: str, engine: str
) -> None:
    method, path = route.split()
    params = bars_query() if path.endswith("/bars") else None
    body = {"setting": {}} if method == "POST" else None
    r = await http.request(method, path, params=params, json=body, headers=as_user(tokens, user))
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "engine_id"
    assert f"may not use engine '{engine}'" in r.json()["detail"]


async def test_an_admin_of_the_engine_connects_it(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await http.post(
        "/engines/sim/gateway/SIM/connect", json={"setting": {}}, headers=as_user(tokens, "ada")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "CONNECTED"


async def test_every_new_route_documents_its_statuses(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/schema/openapi.json")).json()["paths"]
    expected = {
        ("get", "/gateway"): {"200", "400", "401", "403", "404", "503", "504"},
        ("post", "/gateway/{gateway_name}/connect"): {"200", "400", "401", "403", "404", "413"},
        ("get", "/bars"): {"200", "400", "401", "403", "404", "422", "501", "503", "504"},
    }
    for (method, path), statuses in expected.items():
        for prefix in ("", "/engines/{engine_id}"):
            documented = set(paths[prefix + path][method]["responses"])
            assert statuses <= documented, f"{method.upper()} {prefix}{path}: {documented}"
