"""The served OpenAPI document: every route, its success body and every error status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ENGINE_ERRORS = {"400", "401", "404", "503", "504"}
SHARED = [
    ("get", "/contract", "ContractData"),
    ("get", "/tick", "TickData"),
    ("post", "/tick/{vt_symbol}", "Subscribed"),
    ("get", "/account", "AccountData"),
    ("get", "/position", "PositionData"),
    ("get", "/trade", "TradeData"),
    ("get", "/order", "OrderData"),
    ("get", "/order/{vt_orderid}", "OrderData"),
    ("delete", "/order/{vt_orderid}", "OrderData"),
    ("delete", "/order", "OrderData"),
    ("get", "/gateway", "GatewayInfo"),
    ("post", "/gateway/{gateway_name}/connect", "GatewayInfo"),
    ("get", "/bars", "BarData"),
]
ROUTES = [
    *SHARED,
    ("post", "/order", None),
    *[(m, "/engines/{engine_id}" + p, s) for m, p, s in SHARED],
    ("post", "/engines/{engine_id}/order", "OrderData"),
]


@pytest.fixture(scope="module")
def spec(gateway: Any) -> dict[str, Any]:
    r = httpx.get(f"{gateway.url}/schema/openapi.json")
    r.raise_for_status()
    return dict(r.json())


def refs(node: Any) -> set[str]:
    """Every ``$ref`` name below ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node)) if node else set()
    return set()


def success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((status, response),) = [(s, r) for s, r in op["responses"].items() if s.startswith("2")]
    return status, response


async def test_schema_pages_are_served(anon_client: httpx.AsyncClient) -> None:
    assert (await anon_client.get("/schema/openapi.json")).status_code == 200
    page = await anon_client.get("/schema/swagger")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


@pytest.mark.parametrize(("method", "path", "model"), ROUTES)
def test_engine_route_documents_success_body_errors_and_bearer(
    spec: dict[str, Any], method: str, path: str, model: str | None
) -> None:
    op = spec["paths"][path][method]
    status, response = success(op)
    if model is not None:
        assert model in refs(response), response
    errors = set(op["responses"]) - {status}
    assert errors >= ENGINE_ERRORS
    for code in errors:
        # a submit that timed out names the client_order_id to retry with
        submit = method == "post" and path.endswith("/order")
        body = "OutcomeUnknown" if submit and code == "504" else "ErrorBody"
        assert refs(op["responses"][code]) == {body}, (code, op["responses"][code])
    assert op["security"] == [{"BearerToken": []}]


@pytest.mark.parametrize("path", ["/order", "/position", "/account", "/trade", "/tick"])
def test_state_queries_document_the_stream_seq_header(spec: dict[str, Any], path: str) -> None:
    for prefix in ("", "/engines/{engine_id}"):
        _, response = success(spec["paths"][prefix + path]["get"])
        assert "Wt-Stream-Seq" in response["headers"], (prefix + path, response)


def test_submit_documents_idempotency(spec: dict[str, Any]) -> None:
    for path in ("/order", "/engines/{engine_id}/order"):
        op = spec["paths"][path]["post"]
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert "Idempotency-Key" in headers
        assert "Wt-Replayed" in success(op)[1]["headers"]
    body = spec["components"]["schemas"]["OutcomeUnknown"]
    assert set(body["properties"]) == {"detail", "client_order_id"}


def test_order_statuses(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert success(paths["/order"]["post"])[0] == "200"
    assert success(paths["/order"]["post"])[1]["content"]["application/json"]["schema"] == {
        "type": "string"
    }
    assert success(paths["/engines/{engine_id}/order"]["post"])[0] == "201"
    for path in ("/order", "/engines/{engine_id}/order"):
        assert "422" in paths[path]["post"]["responses"]
        assert refs(paths[path]["post"]["requestBody"]) == {"OrderRequest"}
        assert "409" in paths[path + "/{vt_orderid}"]["delete"]["responses"]


def test_engines_and_token_routes(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert "EngineStatus" in refs(success(paths["/engines"]["get"])[1])
    assert "404" in paths["/engines/{engine_id}"]["get"]["responses"]
    token = paths["/token"]["post"]
    assert "TokenResponse" in refs(success(token)[1])
    assert {"400", "401"} <= set(token["responses"])
    assert "security" not in token
    assert set(token["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "application/json",
    }


def test_bearer_scheme_and_error_body_are_components(spec: dict[str, Any]) -> None:
    components = spec["components"]
    assert components["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert set(components["schemas"]["ErrorBody"]["properties"]) == {"detail", "field"}
    assert {"OrderRequest", "OrderData", "ContractData"} <= set(components["schemas"])
