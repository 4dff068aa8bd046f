"""Bad input is refused with the right status and the field named; nothing crashes.

Shape problems (not JSON, wrong type, missing field, unknown enum) are the gateway's 400;
what the contract cannot take (volume, price grid, unknown symbol) is the bridge's 422.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

GOOD: dict[str, Any] = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "volume": 1,
    "price": 3255,
}
ORDER_ROUTES = ["/order", "/engines/sim/order"]


def with_(**over: Any) -> dict[str, Any]:
    return {**GOOD, **over}


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != field}


@pytest.mark.parametrize("route", ORDER_ROUTES)
@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b'{"symbol": "rb2601"', b"[1, 2]", b"null", b'"SIM.1"'],
    ids=["empty", "text", "truncated", "array", "null", "string"],
)
async def test_order_body_that_is_not_an_order_object_is_400(
    client: httpx.AsyncClient, route: str, raw: bytes
) -> None:
    r = await client.post(route, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize("route", ORDER_ROUTES)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_(volume="1"), "volume"),
        (with_(volume=[1]), "volume"),
        (with_(price="cheap"), "price"),
        (with_(symbol=42), "symbol"),
        (with_(reference=None), "reference"),
        (without("direction"), "direction"),
        (without("volume"), "volume"),
        (without("symbol"), "symbol"),
        (with_(exchange="NOWHERE"), "exchange"),
        (with_(exchange="shfe.x"), "exchange"),
        (with_(direction="UP"), "direction"),
        (with_(type="ICEBERG"), "type"),
        (with_(offset="开仓"), "offset"),
    ],
)
async def test_order_with_wrong_type_missing_field_or_unknown_enum_is_400_naming_it(
    client: httpx.AsyncClient, route: str, body: dict[str, Any], field: str
) -> None:
    r = await client.post(route, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize("route", ORDER_ROUTES)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_(volume=0), "volume"),
        (with_(volume=-1), "volume"),
        (with_(volume=1e12), "volume"),
        (with_(volume=0.5), "volume"),
        (with_(price=3255.5), "price"),
        (with_(price=-1), "price"),
        (with_(price=1), "price"),
        (with_(symbol="nope9999"), "symbol"),
        (with_(exchange="SSE"), "symbol"),
    ],
)
async def test_order_the_contract_cannot_take_is_422_naming_the_field(
    client: httpx.AsyncClient, route: str, body: dict[str, Any], field: str
) -> None:
    r = await client.post(route, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def raw_order(volume: bytes) -> bytes:
    return (
        b'{"symbol":"rb2601","exchange":"SHFE","direction":"LONG","type":"LIMIT",'
        b'"price":3255,"volume":' + volume + b"}"
    )


@pytest.mark.parametrize("route", ORDER_ROUTES)
@pytest.mark.parametrize(
    ("volume", "status", "field"),
    [
        (b"1e400", 400, "volume"),  # not representable as a float: a shape error
        (b"-1e400", 400, "volume"),
        (b"NaN", 400, None),  # not JSON at all
        (b"Infinity", 400, None),
        (b"1e308", 422, "volume"),  # a float, but far above max_volume
    ],
)
async def test_nan_infinite_and_huge_volumes_are_refused(
    client: httpx.AsyncClient, route: str, volume: bytes, status: int, field: str | None
) -> None:
    r = await client.post(
        route, content=raw_order(volume), headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert r.json().get("field") == field


@pytest.mark.parametrize(
    "vt_symbol",
    [
        "rb*.SHFE",
        "rb2601.>",
        ">.SHFE",
        "*",
        "%2e%2e",  # the server gets "..": httpx resolves a literal one (test_hostile_http: raw)
        "%2E%2E",
        "rb 2601.SHFE",
        "rb%092601.SHFE",
        "wt.sim.req.cancel",
        "rb2601.SHFE.%3E",
        "%25",
        "rb2601%2ESHFE%2E*",
    ],
)
async def test_hostile_vt_symbol_in_path_is_404_and_engine_keeps_serving(
    client: httpx.AsyncClient, vt_symbol: str
) -> None:
    r = await client.post(f"/tick/{vt_symbol}")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert (await client.get("/contract", params={"vt_symbol": "rb2601.SHFE"})).status_code == 200


@pytest.mark.parametrize("vt_orderid", ["SIM.*", "SIM.>", "*", ">", "SIM. 1", "%2A", "a..b"])
async def test_hostile_vt_orderid_in_path_is_404(
    client: httpx.AsyncClient, vt_orderid: str
) -> None:
    assert (await client.get(f"/order/{vt_orderid}")).status_code == 404
    assert (await client.delete(f"/order/{vt_orderid}")).status_code == 404


async def test_hostile_filter_values_match_nothing(client: httpx.AsyncClient) -> None:
    for vt_symbol in ("*", ">", "rb2601.*", "wt.>"):
        r = await client.get("/order", params={"vt_symbol": vt_symbol})
        assert r.status_code == 200, r.text
        assert r.json() == []


async def test_bad_active_filter_is_400_naming_it(client: httpx.AsyncClient) -> None:
    r = await client.get("/order", params={"active": "maybe"})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "active"


async def test_unknown_route_and_method_are_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/route")
    assert r.status_code == 404
    assert r.json()["detail"]
    r = await client.put("/order")
    assert r.status_code == 405
    assert r.json()["detail"]
