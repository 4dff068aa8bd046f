"""Bridge options: defaults, WEBTRADER_* twins, tick rate 'max', refusals."""

from __future__ import annotations

import pytest

from engine_bridge.settings import BridgeSettings, SettingsError, build_parser, load_settings


def test_defaults_are_the_documented_ones() -> None:
    s = load_settings([], env={})
    assert s == BridgeSettings()
    assert (s.engine, s.engine_id, s.nats_url, s.tick_rate, s.seed) == (
        "sim",
        "sim",
        "nats://127.0.0.1:4222",
        2.0,
        None,
    )


def test_command_line_options_and_tick_rate_max_meaning_unthrottled() -> None:
    s = load_settings(
        [
            "--engine-id",
            "desk-2",
            "--tick-rate",
            "max",
            "--seed",
            "7",
            "--nats-url",
            "nats://a:4222, nats://b:4222",
        ],
        env={},
    )
    assert (s.engine_id, s.tick_rate, s.seed) == ("desk-2", 0.0, 7)
    assert s.nats_servers == ["nats://a:4222", "nats://b:4222"]


def test_environment_twins_set_defaults_and_the_command_line_wins() -> None:
    env = {"WEBTRADER_ENGINE_ID": "fromenv", "WEBTRADER_TICK_RATE": "5", "WEBTRADER_SEED": "3"}
    s = load_settings([], env=env)
    assert (s.engine_id, s.tick_rate, s.seed) == ("fromenv", 5.0, 3)
    assert load_settings(["--tick-rate", "1.5"], env=env).tick_rate == 1.5


def test_help_names_every_environment_variable() -> None:
    text = build_parser(env={}).format_help()
    for var in ("ENGINE", "ENGINE_ID", "NATS_URL", "TICK_RATE", "SEED", "LOG_LEVEL"):
        assert f"WEBTRADER_{var}" in text


@pytest.mark.parametrize("value", ["-1", "fast", "nan", "inf"])
def test_bad_tick_rates_are_refused(value: str) -> None:
    with pytest.raises(SystemExit):
        load_settings(["--tick-rate", value], env={})


@pytest.mark.parametrize(
    "argv",
    [["--engine-id", "has.dot"], ["--engine-id", ""], ["--engine", "ctp"], ["--log-level", "LOUD"]],
)
def test_settings_that_cannot_run_a_bridge_are_refused(argv: list[str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(argv, env={})


def test_jetstream_options_default_to_one_replica_a_week_of_events_and_two_days_of_ids() -> None:
    s = load_settings([], env={})
    assert (s.js_replicas, s.event_retention, s.idempotency_ttl, s.tick_snapshots) == (
        1,
        7 * 24 * 3600.0,
        48 * 3600.0,
        True,
    )


def test_jetstream_options_from_the_command_line_and_the_environment() -> None:
    env = {"WEBTRADER_JS_REPLICAS": "3", "WEBTRADER_TICK_SNAPSHOTS": "no"}
    s = load_settings(["--event-retention", "3600", "--idempotency-ttl", "86400"], env=env)
    assert (s.js_replicas, s.event_retention, s.idempotency_ttl, s.tick_snapshots) == (
        3,
        3600.0,
        86400.0,
        False,
    )
    assert load_settings(["--tick-snapshots"], env=env).tick_snapshots
    assert not load_settings(["--no-tick-snapshots"], env={}).tick_snapshots


@pytest.mark.parametrize(
    "argv",
    [["--event-retention", "0"], ["--idempotency-ttl", "-5"], ["--event-retention", "inf"]],
)
def test_durations_must_be_positive_seconds(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        load_settings(argv, env={})


@pytest.mark.parametrize("replicas", ["0", "6"])
def test_replicas_outside_1_to_5_are_refused(replicas: str) -> None:
    with pytest.raises(SettingsError):
        load_settings(["--js-replicas", replicas], env={})
