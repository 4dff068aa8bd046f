"""NATS credential options (schemas.natsauth) and the launcher's reading of nats-auth.conf."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from engine_bridge.settings import SettingsError, load_settings
from gateway.settings import load_settings as load_gateway_settings
from schemas.natsauth import NatsAuth, NatsAuthError, add_nats_auth_options, pop_nats_auth
from tests.support.processes import REPO
from webtrader import natsserver


def parse(argv: list[str], env: dict[str, str] | None = None, url: str = "") -> NatsAuth:
    p = argparse.ArgumentParser()
    add_nats_auth_options(p, env or {})
    ns = vars(p.parse_args(argv))
    ns["nats_url"] = url
    auth = pop_nats_auth(ns)
    assert ns == {"nats_url": url}, "the options are taken out of the namespace"
    return auth


def test_user_and_password_from_the_environment_become_connect_options() -> None:
    auth = parse([], {"WEBTRADER_NATS_USER": "gateway", "WEBTRADER_NATS_PASSWORD": "wtSecret1"})
    assert auth.connect_kwargs() == {
        "user": "gateway",
        "password": "wtSecret1",
        "inbox_prefix": "_INBOX.gateway",
    }
    assert "wtSecret1" not in repr(auth)
    assert auth.describe() == "user gateway"


def test_a_password_file_is_read_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("wtFromAFile1\n")
    auth = parse(["--nats-user", "observer", "--nats-password-file", str(secret)])
    assert auth.password == "wtFromAFile1"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--nats-user", "gateway"], {}, "needs a password"),
        ([], {"WEBTRADER_NATS_PASSWORD": "x"}, "needs --nats-user"),
        (["--nats-user", "a.b", "--nats-password", "x"], {}, "--nats-user: 1-64"),
        (["--nats-user", "u", "--nats-password", "x", "--nats-password-file", "f"], {}, "one of"),
        (["--nats-password-file", "/nonexistent/pw", "--nats-user", "u"], {}, "/nonexistent/pw"),
        (["--nats-inbox-prefix", "_INBOX.>"], {}, "without wildcards"),
    ],
    ids=["user-alone", "password-alone", "bad-user", "two-passwords", "no-file", "wildcard"],
)
def test_contradictory_or_unusable_options_are_refused_by_name(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(NatsAuthError, match=message):
        parse(argv, env)


def test_credentials_in_the_url_become_options_so_every_cluster_node_gets_them() -> None:
    url = "nats://bridge-sim:wt%40Secret1@h1:4222,nats://h2:4222"
    auth = parse([], url=url)
    assert auth.connect_kwargs() == {
        "user": "bridge-sim",
        "password": "wt@Secret1",
        "inbox_prefix": "_INBOX.bridge-sim",
    }
    assert auth.describe(url) == "user bridge-sim"


def test_without_credentials_nothing_is_sent_and_the_inbox_is_the_default() -> None:
    auth = parse([], url="nats://127.0.0.1:4222")
    assert auth.connect_kwargs() == {"inbox_prefix": "_INBOX"}
    assert auth.describe("nats://127.0.0.1:4222") == "no credentials"
    assert parse(["--nats-inbox-prefix", "_INBOX.svc"]).inbox_prefix == "_INBOX.svc"


def test_bridge_and_gateway_settings_carry_the_credentials_and_refuse_bad_ones() -> None:
    env = {"WEBTRADER_NATS_USER": "bridge-sim", "WEBTRADER_NATS_PASSWORD": "wtSecret1"}
    assert load_settings([], env).nats_auth.user == "bridge-sim"
    assert load_gateway_settings(["--demo"], {**env, "WEBTRADER_NATS_USER": "gateway"}).nats_auth
    with pytest.raises(SettingsError, match="needs a password"):
        load_settings(["--nats-user", "bridge-sim"], {})


def test_the_launcher_reads_every_user_and_password_variable_of_the_config() -> None:
    users = natsserver.config_users(REPO / "nats.conf")
    assert users == {
        "admin": "WEBTRADER_NATS_ADMIN_PASSWORD",
        "gateway": "WEBTRADER_NATS_GATEWAY_PASSWORD",
        "observer": "WEBTRADER_NATS_OBSERVER_PASSWORD",
        "bridge-sim": "WEBTRADER_NATS_BRIDGE_SIM_PASSWORD",
        "bridge-sim2": "WEBTRADER_NATS_BRIDGE_SIM2_PASSWORD",
        "leaf-remote1": "WEBTRADER_NATS_LEAF_REMOTE1_PASSWORD",
    }
    for node in ("n1", "n2", "n3"):
        assert natsserver.config_users(REPO / "deploy" / "cluster" / f"{node}.conf") == users


def test_missing_or_misparsed_passwords_are_named_never_shown() -> None:
    conf = REPO / "nats.conf"
    good = natsserver.new_passwords(conf)
    assert natsserver.check_passwords(conf, good) is None
    missing = natsserver.check_passwords(conf, {})
    assert missing is not None
    assert all(var in missing for var in good)
    for bad in ("123456789012", "wt#comment-cuts-it", "short", "true"):
        problem = natsserver.check_passwords(conf, {**good, "WEBTRADER_NATS_ADMIN_PASSWORD": bad})
        assert problem is not None
        assert "WEBTRADER_NATS_ADMIN_PASSWORD" in problem
        assert bad not in problem
