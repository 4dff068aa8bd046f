"""Login and bearer-token protection of every REST route, against served gateways.

The shared gateway runs in demo mode with a random key; to forge and expire tokens with a
known key, a second gateway is started outside demo mode with ``WEBTRADER_JWT_SECRET`` and
a users file made with ``webtrader user add``; more gateways sign with key pairs (RS256,
ES256, EdDSA) to prove a token of another algorithm or key is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.auth import AUDIENCE, ISSUER, issue_token
from gateway.settings import GatewaySettings
from tests.support.processes import Gateway, NatsServer
from tests.support.users import add_user, new_secret, running_secure_gateway

USER, PASSWORD = "trader", "s3cret-pass"

PROTECTED = [
    ("GET", "/contract"),
    ("GET", "/account"),
    ("GET", "/position"),
    ("GET", "/order"),
    ("GET", "/trade"),
    ("GET", "/tick"),
    ("GET", "/order/SIM.1"),
    ("POST", "/tick/rb2601.SHFE"),
    ("POST", "/order"),
    ("DELETE", "/order/SIM.1"),
    ("GET", "/engines"),
    ("GET", "/engines/sim"),
    ("GET", "/engines/sim/contract"),
    ("GET", "/engines/sim/order"),
    ("POST", "/engines/sim/order"),
    ("DELETE", "/engines/sim/order/SIM.1"),
]
ORDER = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "volume": 1,
    "price": 3500,
}


@pytest.fixture(scope="module")
def secret() -> str:
    return new_secret()


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trader on every engine, added with the real CLI."""
    path = tmp_path_factory.mktemp("auth-users") / "users.json"
    add_user(path, USER, PASSWORD, role="trader", engines="*")
    return path


@pytest.fixture(scope="module")
def keyed_gateway(
    nats_server: NatsServer, sim_bridge: object, secret: str, users_file: Path
) -> Iterator[Gateway]:
    """A non-demo gateway whose signing key and login the test knows."""
    with running_secure_gateway(nats_server.url, users_file, secret) as gw:
        yield gw


@pytest.fixture
async def keyed(keyed_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keyed_gateway.url, timeout=10) as c:
        yield c


def keyed_settings(secret: str, **kw: object) -> GatewaySettings:
    return GatewaySettings(jwt_secret=secret, users_file="unused.json", **kw)  # type: ignore[arg-type]


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": USER, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, **over}


def bad_tokens(secret: str) -> dict[str, str]:
    """Authorization header values that must all be refused by the keyed gateway."""
    expired = issue_token(keyed_settings(secret, token_ttl=60), USER, now=time.time() - 3600)
    forged = jwt.encode(claims(), "not-the-secret-" + secret, algorithm="HS256")
    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    wrong_audience = jwt.encode(claims(aud="someone-else"), secret, algorithm="HS256")
    no_expiry = jwt.encode({k: v for k, v in claims().items() if k != "exp"}, secret)
    return {
        "bearer without token": "Bearer",
        "basic scheme": "Basic dnRucHk6dm5weQ==",
        "malformed": "Bearer not.a.jwt",
        "garbage": "Bearer " + "x" * 40,
        "forged": f"Bearer {forged}",
        "expired": f"Bearer {expired}",
        "alg none": f"Bearer {alg_none}",
        "wrong audience": f"Bearer {wrong_audience}",
        "no expiry": f"Bearer {no_expiry}",
    }


def assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["www-authenticate"] == "Bearer"
    assert isinstance(r.json()["detail"], str)


async def test_form_login_returns_a_bearer_token_that_opens_the_api(
    anon_client: httpx.AsyncClient,
) -> None:
    r = await anon_client.post("/token", data={"username": "vnpy", "password": "vnpy"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    ok = await anon_client.get(
        "/contract", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert ok.status_code == 200, ok.text


async def test_json_login_returns_a_bearer_token(anon_client: httpx.AsyncClient) -> None:
    r = await anon_client.post("/token", json={"username": "vnpy", "password": "vnpy"})
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    assert r.json()["access_token"].count(".") == 2


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
async def test_wrong_password_is_401_json(anon_client: httpx.AsyncClient, as_json: bool) -> None:
    creds = {"username": "vnpy", "password": "wrong"}
    r = await (
        anon_client.post("/token", json=creds)
        if as_json
        else anon_client.post("/token", data=creds)
    )
    assert_401(r)
    assert "incorrect" in r.json()["detail"]


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
@pytest.mark.parametrize("missing", ["username", "password"])
async def test_login_missing_field_is_400_naming_it(
    anon_client: httpx.AsyncClient, as_json: bool, missing: str
) -> None:
    creds = {k: "vnpy" for k in ("username", "password") if k != missing}
    r = await (
        anon_client.post("/token", json=creds)
        if as_json
        else anon_client.post("/token", data=creds)
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == missing


async def test_login_body_not_json_is_400(anon_client: httpx.AsyncClient) -> None:
    r = await anon_client.post(
        "/token", content=b"username=vnpy", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_protected_route_without_token_is_401(
    anon_client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = ORDER if method == "POST" and path.endswith("/order") else None
    assert_401(await anon_client.request(method, path, json=body))


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_protected_route_refuses_bad_tokens(
    keyed: httpx.AsyncClient, secret: str, method: str, path: str
) -> None:
    for name, header in bad_tokens(secret).items():
        r = await keyed.request(method, path, headers={"Authorization": header})
        assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
        assert_401(r)


async def test_keyed_gateway_login_and_key_work(keyed: httpx.AsyncClient, secret: str) -> None:
    """Sanity for the refusals above: the right login and a token signed with the key pass."""
    login = await keyed.post("/token", data={"username": USER, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert (
        await keyed.post("/token", data={"username": "vnpy", "password": "vnpy"})
    ).status_code == 401
    own = issue_token(keyed_settings(secret), USER)
    for token in (login.json()["access_token"], own):
        r = await keyed.get("/engines", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text


async def test_token_of_another_gateway_is_refused(keyed: httpx.AsyncClient, token: str) -> None:
    """The demo gateway's token is signed with its own random key: forged for this one."""
    assert_401(await keyed.get("/contract", headers={"Authorization": f"Bearer {token}"}))


async def test_openapi_and_login_need_no_token(anon_client: httpx.AsyncClient) -> None:
    assert (await anon_client.get("/schema/openapi.json")).status_code == 200
    assert (
        await anon_client.post("/token", data={"username": "vnpy", "password": "vnpy"})
    ).status_code == 200


async def test_refresh_token_is_refused_as_an_access_token(keyed: httpx.AsyncClient) -> None:
    login = await keyed.post("/token", data={"username": USER, "password": PASSWORD})
    assert login.status_code == 200, login.text
    refresh = login.json()["refresh_token"]
    for method, path in PROTECTED:
        assert_401(
            await keyed.request(method, path, headers={"Authorization": f"Bearer {refresh}"})
        )


async def test_access_token_is_refused_as_a_refresh_token(keyed: httpx.AsyncClient) -> None:
    login = await keyed.post("/token", data={"username": USER, "password": PASSWORD})
    access = login.json()["access_token"]
    r = await keyed.post("/token/refresh", json={"refresh_token": access})
    assert_401(r)


async def test_refresh_tokens_with_bad_signature_or_expired_are_401(
    keyed: httpx.AsyncClient, secret: str
) -> None:
    now = int(time.time())
    good = {"sub": USER, "iss": ISSUER, "aud": "webtrader-refresh", "typ": "refresh", "jti": "x"}
    forged = jwt.encode({**good, "pwd": "0" * 16, "iat": now, "exp": now + 600}, "other" * 9)
    expired = jwt.encode({**good, "pwd": "0" * 16, "iat": now - 900, "exp": now - 600}, secret)
    alg_none = f"{b64({'alg': 'none'})}.{b64({**good, 'iat': now, 'exp': now + 600})}."
    for name, token in {"forged": forged, "expired": expired, "alg none": alg_none}.items():
        r = await keyed.post("/token/refresh", json={"refresh_token": token})
        assert r.status_code == 401, f"{name}: {r.text}"


# --- asymmetric keys --------------------------------------------------------------------

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
KEY_MAKERS: dict[str, Callable[[], PrivateKey]] = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def pem_private(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def pem_public(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def full_claims(**over: object) -> dict[str, object]:
    return claims(role="admin", engines=["*"], jti="j1", **over)


def hs256_with(key: bytes, payload: dict[str, object]) -> str:
    """An HS256 JWT whose HMAC key is ``key`` (pyjwt refuses PEM keys as secrets)."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.fixture(scope="module", params=sorted(KEY_MAKERS))
def pair_gateway(
    request: pytest.FixtureRequest,
    nats_server: NatsServer,
    sim_bridge: object,
    users_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, PrivateKey, Gateway]]:
    """A gateway signing with a fresh key pair of one algorithm (given as PEM files)."""
    algorithm: str = request.param
    key = KEY_MAKERS[algorithm]()
    keys = tmp_path_factory.mktemp(f"keys-{algorithm}")
    (keys / "jwt.key").write_bytes(pem_private(key))
    (keys / "jwt.pub").write_bytes(pem_public(key))
    gw = Gateway(
        nats_server.url,
        "sim",
        "--users-file",
        str(users_file),
        "--jwt-private-key",
        str(keys / "jwt.key"),
        "--jwt-public-key",
        str(keys / "jwt.pub"),
        "--jwt-algorithm",
        algorithm,
        env={"WEBTRADER_JWT_SECRET": "", "WEBTRADER_DEMO": ""},
    )
    gw.start_gateway()
    yield algorithm, key, gw
    gw.stop()


async def test_key_pair_gateway_signs_with_its_algorithm_and_refuses_other_keys(
    pair_gateway: tuple[str, PrivateKey, Gateway], token: str
) -> None:
    algorithm, key, gw = pair_gateway
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as c:
        login = await c.post("/token", data={"username": USER, "password": PASSWORD})
        assert login.status_code == 200, login.text
        access = login.json()["access_token"]
        assert jwt.get_unverified_header(access)["alg"] == algorithm
        ok = await c.get("/engines", headers={"Authorization": f"Bearer {access}"})
        assert ok.status_code == 200, ok.text
        own = jwt.encode(full_claims(), key, algorithm=algorithm)
        ok = await c.get("/engines", headers={"Authorization": f"Bearer {own}"})
        assert ok.status_code == 200, ok.text

        refused = {
            "other key, same algorithm": jwt.encode(
                full_claims(), KEY_MAKERS[algorithm](), algorithm=algorithm
            ),
            "HS256 keyed with the public key (algorithm confusion)": hs256_with(
                pem_public(key), full_claims()
            ),
            "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(full_claims())}.",
            "wrong audience": jwt.encode(full_claims(aud="other"), key, algorithm=algorithm),
            "expired": jwt.encode(
                full_claims(iat=int(time.time()) - 900, exp=int(time.time()) - 600),
                key,
                algorithm=algorithm,
            ),
            "demo gateway's HS256 token": token,
            "refresh token": login.json()["refresh_token"],
        }
        for name, bad in refused.items():
            r = await c.get("/engines", headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
            assert_401(r)
        refreshed = await c.post(
            "/token/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        assert jwt.get_unverified_header(refreshed.json()["access_token"])["alg"] == algorithm


async def test_a_token_used_before_is_refused_once_it_expires(
    keyed: httpx.AsyncClient, secret: str
) -> None:
    """Verified tokens are remembered, but never past their ``exp``."""
    short = issue_token(keyed_settings(secret, token_ttl=2), USER)
    headers = {"Authorization": f"Bearer {short}"}
    assert (await keyed.get("/engines", headers=headers)).status_code == 200
    assert (await keyed.get("/engines", headers=headers)).status_code == 200  # remembered
    deadline = time.monotonic() + 10
    while (r := await keyed.get("/engines", headers=headers)).status_code == 200:
        assert time.monotonic() < deadline, "a 2-second token still opened the API after 10 s"
        await asyncio.sleep(0.25)
    assert_401(r)
    assert r.json()["detail"] == "access token expired"
