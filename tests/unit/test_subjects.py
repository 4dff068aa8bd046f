"""The subject grammar and its escaping, tested directly (NautilusTrader's topic tests)."""

from __future__ import annotations

import re

import pytest

from schemas import Direction, Exchange, OrderData, streams
from schemas.streams import client_order_key
from schemas.subjects import (
    EventKind,
    Op,
    account_subject,
    escape_token,
    event_subject,
    events_pattern,
    parse_event_subject,
    request_subject,
    subject_for,
    symbol_pattern,
    symbol_tokens,
    tick_subject,
    unescape_token,
)


def test_tick_subject_puts_exchange_then_symbol() -> None:
    assert tick_subject("sim", "rb2501", Exchange.SHFE) == "wt.sim.evt.tick.SHFE.rb2501"


def test_request_subject_is_below_engine_prefix() -> None:
    assert request_subject("sim", Op.SUBMIT) == "wt.sim.req.submit"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("BTC.USDT", "BTC%2EUSDT"),
        ("a*b", "a%2Ab"),
        ("x>", "x%3E"),
        ("has space", "has%20space"),
        ("tab\there", "tab%09here"),
        ("100%", "100%25"),
        ("%2E", "%252E"),
        ("中文", "中文"),
    ],
)
def test_escape_token_is_reversible_and_subject_safe(raw: str, escaped: str) -> None:
    assert escape_token(raw) == escaped
    assert unescape_token(escaped) == raw
    assert not any(c in escaped for c in ".*> \t")


def test_escape_token_refuses_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        escape_token("")


def test_symbol_with_dot_stays_one_token() -> None:
    subject = tick_subject("sim", "BTC.USDT", Exchange.OTC)
    assert subject.split(".") == ["wt", "sim", "evt", "tick", "OTC", "BTC%2EUSDT"]
    parsed = parse_event_subject(subject)
    assert (parsed.kind, parsed.exchange, parsed.key) == (EventKind.TICK, Exchange.OTC, "BTC.USDT")


def test_account_subject_round_trips() -> None:
    subject = account_subject("e1", "acc.1 x")
    assert parse_event_subject(subject).key == "acc.1 x"


@pytest.mark.parametrize("kind", [EventKind.LOG, EventKind.HEARTBEAT])
def test_keyless_kinds_round_trip(kind: EventKind) -> None:
    assert parse_event_subject(event_subject("e1", kind)).kind is kind


@pytest.mark.parametrize("engine", ["", "a.b", "a*", ">", "a b", "x" * 65])
def test_engine_id_must_be_one_plain_token(engine: str) -> None:
    with pytest.raises(ValueError, match="engine id"):
        request_subject(engine, Op.INFO)


@pytest.mark.parametrize(
    ("topic", "pattern"),
    [
        (">", "wt.sim.evt.>"),
        ("tick.>", "wt.sim.evt.tick.>"),
        ("tick.SHFE.*", "wt.sim.evt.tick.SHFE.*"),
        ("*.SSE.>", "wt.sim.evt.*.SSE.>"),
    ],
)
def test_events_pattern_accepts_wildcards(topic: str, pattern: str) -> None:
    assert events_pattern("sim", topic) == pattern


def test_events_pattern_across_engines() -> None:
    assert events_pattern("*", "order.>") == "wt.*.evt.order.>"


@pytest.mark.parametrize(
    "topic", ["", "tick..x", ">.tick", "tick.a>", "ti*ck", "req.>", "tick.a b"]
)
def test_events_pattern_refuses_malformed_topics(topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        events_pattern("sim", topic)


@pytest.mark.parametrize(
    "subject",
    ["wt.sim.req.submit", "x.sim.evt.tick.SHFE.a", "wt.sim.evt.tick.SHFE", "wt.sim.evt.nope"],
)
def test_parse_refuses_non_event_subjects(subject: str) -> None:
    with pytest.raises(ValueError, match=r"subject|nope"):
        parse_event_subject(subject)


def test_symbol_tokens_escape_only_the_symbol() -> None:
    assert symbol_tokens("a.b", Exchange.SSE) == "SSE.a%2Eb"


def test_order_ids_with_dots_stay_one_token() -> None:
    order = OrderData(
        gateway_name="G", symbol="x", exchange=Exchange.SSE, orderid="a.b", direction=Direction.LONG
    )
    subject = subject_for("e", EventKind.ORDER, order)
    assert subject == "wt.e.evt.order.SSE.x.a%2Eb"
    assert parse_event_subject(subject).ident == "a.b"


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        (EventKind.TICK, "wt.sim.evt.tick.SMART.BRK%2EB"),
        (EventKind.TRADE, "wt.sim.evt.trade.SMART.BRK%2EB"),
        (EventKind.ORDER, "wt.sim.evt.order.SMART.BRK%2EB.*"),
        (EventKind.POSITION, "wt.sim.evt.position.SMART.BRK%2EB.*"),
    ],
)
def test_symbol_pattern_covers_every_order_and_position(kind: EventKind, pattern: str) -> None:
    assert symbol_pattern("sim", kind, "BRK.B", Exchange.SMART) == pattern


def test_symbol_pattern_across_engines() -> None:
    assert symbol_pattern("*", EventKind.ORDER, "x", Exchange.SSE) == "wt.*.evt.order.SSE.x.*"


def test_stream_layout_per_engine() -> None:
    assert streams.events_stream("sim") == "WT_sim_EVENTS"
    assert streams.events_stream_subjects("sim") == [
        "wt.sim.evt.order.>",
        "wt.sim.evt.trade.>",
        "wt.sim.evt.position.>",
        "wt.sim.evt.account.>",
        "wt.sim.evt.quote.>",
    ]
    assert streams.ticks_stream_subjects("e-1") == ["wt.e-1.evt.tick.>"]
    assert streams.client_orders_bucket("sim") == "wt_sim_client_orders"


@pytest.mark.parametrize("cid", ["a", "order 1/2.*>", "x" * 64, "中"])
def test_client_order_key_is_kv_safe(cid: str) -> None:
    assert re.fullmatch(r"[-_A-Za-z0-9]+", client_order_key(cid))
