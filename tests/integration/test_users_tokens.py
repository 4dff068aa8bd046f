"""Users made with the real ``webtrader user`` CLI, logins and refresh tokens, against a
gateway started outside demo mode — and the refusal to start without a key and users."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.processes import Gateway, ManagedProcess, NatsServer, python_module
from tests.support.users import add_user, new_secret, running_secure_gateway, user_cli

ROOT, ANN, VIC = ("root", "root-pass-1"), ("ann", "ann-pass-12"), ("vic", "vic-pass-12")


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users-tokens") / "users.json"
    add_user(path, *ROOT, role="admin", engines="*")
    add_user(path, *ANN, role="trader", engines="sim")
    add_user(path, *VIC, role="viewer", engines="sim")
    return path


@pytest.fixture(scope="module")
def secret() -> str:
    return new_secret()


@pytest.fixture(scope="module")
def users_gateway(
    nats_server: NatsServer, sim_bridge: object, users_file: Path, secret: str
) -> Iterator[Gateway]:
    with running_secure_gateway(nats_server.url, users_file, secret) as gw:
        yield gw


@pytest.fixture
async def http(users_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=users_gateway.url, timeout=10) as c:
        yield c


async def login(http: httpx.AsyncClient, user: tuple[str, str]) -> dict[str, object]:
    r = await http.post("/token", data={"username": user[0], "password": user[1]})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: object, secret: str, audience: str = "webtrader-gateway") -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(
        str(token), secret, algorithms=["HS256"], audience=audience
    )
    return decoded


# --- the CLI ----------------------------------------------------------------------------


def test_cli_writes_a_0600_file_with_hashes_and_list_shows_no_hash(users_file: Path) -> None:
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    text = users_file.read_text()
    for _, password in (ROOT, ANN, VIC):
        assert password not in text
    stored = json.loads(text)["users"]
    assert all(u["password"].startswith("scrypt$") for u in stored.values())
    listing = user_cli(users_file, "list")
    assert listing.returncode == 0
    assert listing.stdout.splitlines() == ["ann\ttrader\tsim", "root\tadmin\t*", "vic\tviewer\tsim"]
    assert "scrypt" not in listing.stdout


def test_cli_takes_no_password_argument(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    r = user_cli(path, "add", "eve", "--role", "admin", "--engines", "*", "--password", "pw-123456")
    assert r.returncode == 2
    assert "unrecognized arguments: --password pw-123456" in r.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "ann", "--role", "trader", "--engines", "sim"), "x-pass-123\n", "already exists"),
        (("add", "zed", "--role", "boss", "--engines", "sim"), "x-pass-123\n", "unknown role"),
        (("add", "zed", "--role", "viewer", "--engines", "a.b"), "x-pass-123\n", "'a.b'"),
        (("add", "zed", "--role", "viewer", "--engines", "sim"), "short\n", "at least 8"),
        (("remove", "nobody"), "", "no user 'nobody'"),
        (("passwd", "nobody"), "x-pass-123\n", "no user 'nobody'"),
    ],
)
def test_cli_errors_exit_2_with_a_clear_message(
    users_file: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    before = users_file.read_bytes()
    r = user_cli(users_file, *args, stdin=stdin)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert users_file.read_bytes() == before


# --- tokens ----------------------------------------------------------------------------


async def test_login_returns_short_access_and_refresh_tokens_with_the_users_claims(
    http: httpx.AsyncClient, secret: str
) -> None:
    body = await login(http, ANN)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900  # 15 minutes outside demo
    claims = claims_of(body["access_token"], secret)
    assert claims["sub"] == "ann"
    assert claims["role"] == "trader"
    assert claims["engines"] == ["sim"]
    assert int(str(claims["exp"])) - int(str(claims["iat"])) == 900
    refresh = claims_of(body["refresh_token"], secret, audience="webtrader-refresh")
    assert refresh["typ"] == "refresh"
    assert "role" not in refresh


async def test_wrong_password_and_unknown_user_get_the_same_401(http: httpx.AsyncClient) -> None:
    wrong = await http.post("/token", data={"username": "ann", "password": "nope-nope"})
    unknown = await http.post("/token", data={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_refresh_gives_a_working_access_token_and_keeps_the_session_end(
    http: httpx.AsyncClient, secret: str
) -> None:
    first = await login(http, VIC)
    r = await http.post("/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["access_token"] != first["access_token"]
    ok = await http.get("/engines", headers=bearer(again["access_token"]))
    assert ok.status_code == 200, ok.text
    end = claims_of(first["refresh_token"], secret, "webtrader-refresh")["exp"]
    assert claims_of(again["refresh_token"], secret, "webtrader-refresh")["exp"] == end
    form = await http.post("/token/refresh", data={"refresh_token": again["refresh_token"]})
    assert form.status_code == 200, form.text


async def test_refresh_without_token_is_400_naming_it(http: httpx.AsyncClient) -> None:
    r = await http.post("/token/refresh", json={})
    assert r.status_code == 400
    assert r.json()["field"] == "refresh_token"


async def test_removed_user_cannot_refresh_nor_log_in(
    http: httpx.AsyncClient, users_file: Path
) -> None:
    add_user(users_file, "temp", "temp-pass-1", role="viewer", engines="sim")
    session = await login(http, ("temp", "temp-pass-1"))
    assert user_cli(users_file, "remove", "temp").returncode == 0
    r = await http.post("/token/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401, r.text
    assert "log in again" in r.json()["detail"]
    gone = await http.post("/token", data={"username": "temp", "password": "temp-pass-1"})
    assert gone.status_code == 401


async def test_password_change_voids_earlier_refresh_tokens(
    http: httpx.AsyncClient, users_file: Path
) -> None:
    add_user(users_file, "pat", "pat-pass-old", role="viewer", engines="sim")
    session = await login(http, ("pat", "pat-pass-old"))
    changed = user_cli(users_file, "passwd", "pat", "--password-stdin", stdin="pat-pass-new\n")
    assert changed.returncode == 0, changed.stderr
    r = await http.post("/token/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401
    assert (
        await http.post("/token", data={"username": "pat", "password": "pat-pass-old"})
    ).status_code == 401
    await login(http, ("pat", "pat-pass-new"))


async def test_refresh_applies_the_users_current_role_and_engines(
    http: httpx.AsyncClient, users_file: Path, secret: str
) -> None:
    add_user(users_file, "tina", "tina-pass-1", role="trader", engines="*")
    session = await login(http, ("tina", "tina-pass-1"))
    narrowed = user_cli(users_file, "set", "tina", "--role", "viewer", "--engines", "sim")
    assert narrowed.returncode == 0, narrowed.stderr
    r = await http.post("/token/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 200, r.text
    claims = claims_of(r.json()["access_token"], secret)
    assert (claims["role"], claims["engines"]) == ("viewer", ["sim"])
    order = {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "volume": 1,
        "price": 3500,
    }
    refused = await http.post("/order", json=order, headers=bearer(r.json()["access_token"]))
    assert refused.status_code == 403, refused.text


# --- start-up ---------------------------------------------------------------------------


def start_refused(nats: NatsServer, *args: str, env: dict[str, str] | None = None) -> str:
    proc = ManagedProcess(
        "gateway-refused",
        python_module("gateway", "--nats-url", nats.url, "--port", "0", *args),
        env={
            "WEBTRADER_JWT_SECRET": "",
            "WEBTRADER_DEMO": "",
            "WEBTRADER_USERS_FILE": "",
            **(env or {}),
        },
    )
    proc.start(r"gateway: ", timeout=30)
    assert proc.proc is not None
    assert proc.proc.wait(15) == 2
    proc.stop()
    assert not any(line.startswith("gateway ready") for line in proc.lines)
    return proc.output


def test_refuses_to_start_without_key_and_users_saying_how_to_make_them(
    nats_server: NatsServer,
) -> None:
    out = start_refused(nats_server)
    assert "outside --demo the gateway needs" in out
    assert "secrets.token_urlsafe(48)" in out
    assert "--jwt-private-key" in out
    assert "webtrader user add NAME --role admin --engines '*' --users-file FILE" in out


def test_refuses_to_start_with_an_empty_users_file(nats_server: NatsServer, tmp_path: Path) -> None:
    empty = tmp_path / "users.json"
    empty.write_text('{"version": 1, "users": {}}')
    out = start_refused(
        nats_server, "--users-file", str(empty), env={"WEBTRADER_JWT_SECRET": new_secret()}
    )
    assert f"the users file {empty} has no users" in out
    assert "webtrader user add" in out


def test_refuses_to_start_with_a_weak_key(nats_server: NatsServer, users_file: Path) -> None:
    out = start_refused(
        nats_server, "--users-file", str(users_file), env={"WEBTRADER_JWT_SECRET": "test"}
    )
    assert "at least 32 characters" in out


def test_demo_mode_warns_loudly(gateway: Gateway) -> None:
    assert any("DEMO MODE" in line and "'vnpy'" in line for line in gateway.lines), gateway.output


def test_cli_is_reachable_through_the_launcher() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "webtrader", "user", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0
    for action in ("add", "passwd", "set", "remove", "list"):
        assert action in r.stdout
