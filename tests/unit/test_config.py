"""schemas.config.add_option: every option has a WEBTRADER_* twin; command line > env > default."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from schemas.config import add_option, env_name, redact_url


def parser_with(env: dict[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t")
    add_option(p, "--nats-url", help="NATS URL", default="nats://127.0.0.1:4222", env=env)
    add_option(p, "--port", help="HTTP port", default=8000, type=int, env=env)
    add_option(p, "--data-dir", help="state", default=Path(".webtrader"), type=Path, env=env)
    add_option(p, "--demo", help="demo mode", default=False, flag=True, env=env)
    return p


@pytest.mark.parametrize(
    ("option", "var"),
    [
        ("--nats-url", "WEBTRADER_NATS_URL"),
        ("--port", "WEBTRADER_PORT"),
        ("--ws-idle-timeout", "WEBTRADER_WS_IDLE_TIMEOUT"),
        ("engine-id", "WEBTRADER_ENGINE_ID"),
    ],
)
def test_env_name_is_webtrader_prefixed_upper_snake_case(option: str, var: str) -> None:
    assert env_name(option) == var


def test_default_applies_when_neither_option_nor_variable_is_given() -> None:
    ns = parser_with({}).parse_args([])
    assert ns.nats_url == "nats://127.0.0.1:4222"
    assert ns.port == 8000
    assert ns.data_dir == Path(".webtrader")
    assert ns.demo is False


def test_variable_overrides_default_and_is_converted_by_type() -> None:
    env = {"WEBTRADER_PORT": "9100", "WEBTRADER_NATS_URL": "nats://a:1,nats://b:2"}
    ns = parser_with(env).parse_args([])
    assert ns.port == 9100
    assert ns.nats_url == "nats://a:1,nats://b:2"


def test_command_line_overrides_variable() -> None:
    ns = parser_with({"WEBTRADER_PORT": "9100"}).parse_args(["--port", "9200"])
    assert ns.port == 9200


def test_variables_of_other_programs_and_unprefixed_names_are_ignored() -> None:
    ns = parser_with({"PORT": "1", "NATS_URL": "nats://x:1"}).parse_args([])
    assert ns.port == 8000
    assert ns.nats_url == "nats://127.0.0.1:4222"


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_flag_variable_truthy_values_switch_it_on(raw: str) -> None:
    assert parser_with({"WEBTRADER_DEMO": raw}).parse_args([]).demo is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_flag_variable_other_values_leave_it_off(raw: str) -> None:
    assert parser_with({"WEBTRADER_DEMO": raw}).parse_args([]).demo is False


def test_flag_has_a_negative_form_that_beats_the_variable() -> None:
    p = parser_with({"WEBTRADER_DEMO": "1"})
    assert p.parse_args(["--no-demo"]).demo is False
    assert parser_with({}).parse_args(["--demo"]).demo is True


def test_help_names_the_variable_and_the_effective_default() -> None:
    text = " ".join(parser_with({"WEBTRADER_PORT": "9100"}).format_help().split())
    assert "HTTP port [WEBTRADER_PORT; default: 9100]" in text
    assert "[WEBTRADER_NATS_URL; default: nats://127.0.0.1:4222]" in text
    assert "demo mode [WEBTRADER_DEMO]" in text


def test_unparsable_variable_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        parser_with({"WEBTRADER_PORT": "eighty"})
    assert exc.value.code == 2
    assert "WEBTRADER_PORT='eighty'" in capsys.readouterr().err


def test_environment_is_read_when_the_parser_is_built_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBTRADER_PORT", "9300")
    p = argparse.ArgumentParser()
    add_option(p, "--port", help="HTTP port", default=8000, type=int)
    assert p.parse_args([]).port == 9300


def test_secret_values_never_appear_in_help_only_whether_they_are_set() -> None:
    env = {"WEBTRADER_JWT_SECRET": "s3cr3t-key", "WEBTRADER_DB_PASSWORD": "hunter2"}
    p = argparse.ArgumentParser()
    add_option(p, "--jwt-secret", help="signing key", default="", env=env)
    add_option(p, "--db-password", help="password", default="", env=env)
    add_option(p, "--api-key", help="key", default="", env=env, secret=True)
    text = " ".join(p.format_help().split())
    assert "s3cr3t-key" not in text
    assert "hunter2" not in text
    assert "[WEBTRADER_JWT_SECRET; default: set]" in text
    assert "[WEBTRADER_API_KEY; default: unset]" in text
    assert p.parse_args([]).jwt_secret == "s3cr3t-key"


def test_unparsable_secret_variable_is_reported_without_its_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = argparse.ArgumentParser()
    with pytest.raises(SystemExit):
        add_option(p, "--pin-password", help="pin", type=int, env={"WEBTRADER_PIN_PASSWORD": "x9"})
    err = capsys.readouterr().err
    assert "WEBTRADER_PIN_PASSWORD=(hidden)" in err
    assert "x9" not in err


def test_redact_url_hides_credentials_in_every_server() -> None:
    assert (
        redact_url("nats://bob:s3cret@h1:4222,nats://h2:4222")
        == "nats://***@h1:4222,nats://h2:4222"
    )
    assert redact_url("nats://tok@h1:4222") == "nats://***@h1:4222"
