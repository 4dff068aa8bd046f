"""Login rate limiting per user name and per client address: 429 with ``Retry-After``.

Each test starts its own gateway (outside demo mode, small limits) so counters never leak
between tests; all requests come from 127.0.0.1, i.e. one client address.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Gateway, NatsServer, ProcessGroup
from tests.support.users import add_user, new_secret, secure_gateway

ANN, BOB = ("ann", "ann-pass-12"), ("bob", "bob-pass-12")
WINDOW = 30


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ratelimit") / "users.json"
    add_user(path, *ANN)
    add_user(path, *BOB)
    return path


@pytest.fixture
def limited_gateway(nats_server: NatsServer, users_file: Path) -> Iterator[Callable[..., Gateway]]:
    group = ProcessGroup()

    def start(per_user: int = 3, per_address: int = 100, window: float = WINDOW) -> Gateway:
        gw = secure_gateway(
            nats_server.url,
            users_file,
            new_secret(),
            "--login-user-limit",
            str(per_user),
            "--login-address-limit",
            str(per_address),
            "--login-window",
            str(window),
        )
        return group.gateway(gw)

    yield start
    group.stop_all()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


async def attempt(http: httpx.AsyncClient, gw: Gateway, user: str, password: str) -> httpx.Response:
    return await http.post(f"{gw.url}/token", data={"username": user, "password": password})


def assert_429(r: httpx.Response, window: float = WINDOW) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/json")
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= window
    assert "too many failed logins" in r.json()["detail"]
    return retry_after


async def test_user_is_blocked_after_n_bad_passwords_even_with_the_right_one(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=3)
    for _ in range(3):
        assert (await attempt(http, gw, "ann", "wrong-guess")).status_code == 401
    assert_429(await attempt(http, gw, "ann", "wrong-guess"))
    assert_429(await attempt(http, gw, *ANN))  # blocked, even with the right password
    assert (await attempt(http, gw, *BOB)).status_code == 200  # other users are not


async def test_unknown_user_names_are_limited_too(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=2)
    for _ in range(2):
        assert (await attempt(http, gw, "ghost", "x")).status_code == 401
    assert_429(await attempt(http, gw, "ghost", "x"))


async def test_address_is_blocked_after_n_failures_across_user_names(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=100, per_address=4)
    for i in range(4):
        assert (await attempt(http, gw, f"spray{i}", "password1")).status_code == 401
    assert_429(await attempt(http, gw, "spray9", "password1"))
    assert_429(await attempt(http, gw, *ANN))  # this address is blocked for every user


async def test_concurrent_guesses_cannot_slip_past_the_limit(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=3)
    answers = await asyncio.gather(*(attempt(http, gw, "ann", f"guess{i}") for i in range(12)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(401) == 3, statuses
    assert statuses.count(429) == 9, statuses


async def test_successful_logins_do_not_count_and_clear_the_users_failures(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=3, per_address=10)
    for _ in range(5):
        assert (await attempt(http, gw, *ANN)).status_code == 200
    for _ in range(2):
        assert (await attempt(http, gw, "ann", "wrong-guess")).status_code == 401
    assert (await attempt(http, gw, *ANN)).status_code == 200  # clears ann's 2 failures
    for _ in range(3):  # without the clearing, the 2nd of these would already be 429
        assert (await attempt(http, gw, "ann", "wrong-guess")).status_code == 401
    assert_429(await attempt(http, gw, "ann", "wrong-guess"))


async def test_after_retry_after_seconds_the_user_may_log_in(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    gw = limited_gateway(per_user=1, window=2)
    assert (await attempt(http, gw, "ann", "wrong-guess")).status_code == 401
    wait = assert_429(await attempt(http, gw, *ANN), window=2)
    await asyncio.sleep(wait + 0.1)
    assert (await attempt(http, gw, *ANN)).status_code == 200


async def test_429_and_retry_after_are_in_the_openapi_document(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        doc = (await c.get("/schema/openapi.json")).json()
    responses = doc["paths"]["/token"]["post"]["responses"]
    assert "429" in responses
    header = responses["429"]["headers"]["Retry-After"]
    assert header["schema"]["type"] == "integer"
    assert header["required"] is True


async def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(
    http: httpx.AsyncClient, limited_gateway: Callable[..., Gateway]
) -> None:
    """Without --forwarded-allow-ips no proxy is trusted, even on loopback."""
    gw = limited_gateway(per_user=100, per_address=3)
    for i in range(3):
        r = await http.post(
            f"{gw.url}/token",
            data={"username": f"fwd{i}", "password": "password1"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert r.status_code == 401
    forged = await http.post(
        f"{gw.url}/token",
        data={"username": "fwd9", "password": "password1"},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert_429(forged)
