"""Password hashes, the users file and the user store (no gateway process needed)."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from gateway.access import Role
from gateway.passwords import HashFormatError, hash_password, parse_hash, verify_password
from gateway.users import (
    User,
    UsersFileError,
    UserStore,
    check_username,
    fingerprint,
    load_users,
    save_users,
)
from gateway.users_cli import main as user_cli

# Cheap parameters for tests that hash many times; production uses the module defaults.
FAST = {"n": 2**4, "r": 1, "p": 1}


def test_hash_is_self_describing_salted_and_never_the_password() -> None:
    h1, h2 = hash_password("correct horse"), hash_password("correct horse")
    assert h1.startswith("scrypt$16384$8$1$")
    assert h1 != h2  # salted
    assert "correct horse" not in h1
    assert parse_hash(h1).n == 2**14


def test_verify_accepts_the_password_and_refuses_others() -> None:
    h = hash_password("s3cret-pass", **FAST)
    assert verify_password("s3cret-pass", h)
    assert not verify_password("s3cret-pas", h)
    assert not verify_password("", h)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain-text-password",
        "scrypt$16384$8$1$salt",
        "bcrypt$16384$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "scrypt$1000$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # N not a power of 2
        "scrypt$1073741824$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # N = 2^30: 1 TiB
        "scrypt$16384$8$1$!!$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
def test_malformed_or_hostile_hash_never_verifies(bad: str) -> None:
    assert not verify_password("anything", bad)
    with pytest.raises(HashFormatError):
        parse_hash(bad)


def test_users_file_round_trip_is_0600_and_holds_no_password(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    user = User(password=hash_password("pw-123456", **FAST), role=Role.VIEWER, engines=("sim",))
    save_users(path, {"ann": user})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "pw-123456" not in path.read_text()
    assert load_users(path) == {"ann": user}
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed


def test_missing_users_file_is_empty(tmp_path: Path) -> None:
    assert load_users(tmp_path / "none.json") == {}


def user_json(password: str = "%s", role: str = "viewer", engines: str = '["*"]') -> str:
    entry = f'{{"password": "{password}", "role": "{role}", "engines": {engines}}}'
    return f'{{"version": 1, "users": {{"a": {entry}}}}}'


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("{", "users file"),
        (user_json(password="x"), "user 'a'"),
        (user_json(role="boss"), "role"),
        (user_json(engines='["a.b"]'), "a.b"),
        (user_json(engines="[]"), "at least one engine"),
        ('{"version": 1, "users": {"a b": {}}}', "users file"),
        ('{"version": 2, "users": {}}', "version"),
    ],
)
def test_invalid_users_file_is_refused_naming_the_problem(
    tmp_path: Path, content: str, named: str
) -> None:
    path = tmp_path / "users.json"
    path.write_text(content.replace("%s", hash_password("x", **FAST)))
    with pytest.raises(UsersFileError, match=named.replace(".", r"\.")):
        load_users(path)


@pytest.mark.parametrize("name", ["", "-a", "a b", "a/b", "x" * 65, "é"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid username"):
        check_username(name)


def test_store_authenticates_and_unknown_users_fail(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    user = User(password=hash_password("pw-123456", **FAST), role=Role.TRADER, engines=("*",))
    save_users(path, {"ann": user})
    store = UserStore.from_file(path)
    assert store.authenticate_sync("ann", "pw-123456") == user
    assert store.authenticate_sync("ann", "wrong") is None
    assert store.authenticate_sync("nobody", "pw-123456") is None


def test_store_follows_changes_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    ann = User(password=hash_password("pw-123456", **FAST), role=Role.TRADER, engines=("*",))
    save_users(path, {"ann": ann})
    store = UserStore.from_file(path)
    bob = User(password=hash_password("pw-654321", **FAST), role=Role.VIEWER, engines=("sim",))
    save_users(path, {"bob": bob})
    assert store.lookup_sync("ann") is None
    assert store.lookup_sync("bob") == bob


def test_store_keeps_last_good_users_when_the_file_breaks(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    ann = User(password=hash_password("pw-123456", **FAST), role=Role.TRADER, engines=("*",))
    save_users(path, {"ann": ann})
    store = UserStore.from_file(path)
    path.write_text("{ not json")
    assert store.lookup_sync("ann") == ann


def test_fingerprint_changes_with_the_password() -> None:
    a = User(password=hash_password("pw-1", **FAST), role=Role.ADMIN, engines=("*",))
    b = User(password=hash_password("pw-1", **FAST), role=Role.ADMIN, engines=("*",))
    assert fingerprint(a) != fingerprint(b)
    assert len(fingerprint(a)) == 16


def run_cli(path: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = user_cli([*args, "--users-file", str(path)], stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def add(path: Path, name: str, password: str, role: str = "admin", engines: str = "*") -> int:
    return run_cli(path, "add", name, "--role", role, "--engines", engines, stdin=password)[0]


def test_cli_add_set_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "u.json"
    assert (
        run_cli(path, "add", "ann", "--role", "viewer", "--engines", "sim,b", stdin="pw-123456\n")[
            0
        ]
        == 0
    )
    assert run_cli(path, "set", "ann", "--role", "trader")[0] == 0
    code, listing = run_cli(path, "list")
    assert code == 0
    assert listing == "ann\ttrader\tb,sim\n"
    assert "scrypt" not in listing
    assert run_cli(path, "remove", "ann")[0] == 0
    assert run_cli(path, "list")[1] == ""
    assert json.loads(path.read_text())["users"] == {}


def test_cli_refuses_short_password_duplicate_and_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "u.json"
    assert add(path, "ann", "short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert (
        run_cli(path, "add", "ann", "--role", "admin", "--engines", "*", stdin="pw-123456\n")[0]
        == 0
    )
    assert (
        run_cli(path, "add", "ann", "--role", "admin", "--engines", "*", stdin="pw-123456\n")[0]
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert run_cli(path, "passwd", "bob", stdin="pw-123456\n")[0] == 2
    assert "no user 'bob'" in capsys.readouterr().err
