"""Which source serves a /stream pattern, and reading positions from JetStream reply subjects."""

from __future__ import annotations

import pytest

from gateway.streams.durable import ack_position
from gateway.streams.routing import Route, route


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("wt.e.evt.order.>", Route("wt.e.evt.order.>", ())),
        ("wt.e.evt.account.SIM", Route("wt.e.evt.account.SIM", ())),
        ("wt.e.evt.tick.SHFE.>", Route(None, ("wt.e.evt.tick.SHFE.>",))),
        ("wt.e.evt.log", Route(None, ("wt.e.evt.log",))),
        (
            "wt.e.evt.>",
            Route(
                "wt.e.evt.>",
                ("wt.e.evt.tick.>", "wt.e.evt.contract.>", "wt.e.evt.log", "wt.e.evt.heartbeat"),
            ),
        ),
        (
            "wt.*.evt.*.SSE.*",
            Route("wt.*.evt.*.SSE.*", ("wt.*.evt.tick.SSE.*", "wt.*.evt.contract.SSE.*")),
        ),
        ("wt.e.evt.*", Route(None, ("wt.e.evt.log", "wt.e.evt.heartbeat"))),
        ("wt.e.evt.*.*", Route("wt.e.evt.*.*", ())),  # only accounts have 2 tokens
        ("wt.e.evt.*.SSE.600036.*", Route("wt.e.evt.*.SSE.600036.*", ())),  # orders, positions
        ("wt.e.evt.*.>", Route("wt.e.evt.*.>", ("wt.e.evt.tick.>", "wt.e.evt.contract.>"))),
    ],
)
def test_durable_kinds_go_to_jetstream_and_the_rest_to_the_hub_without_overlap(
    pattern: str, expected: Route
) -> None:
    assert route(pattern) == expected


@pytest.mark.parametrize(
    ("reply", "position"),
    [
        ("$JS.ACK.WT_e_EVENTS.c1.1.42.7.1795676341413466743.3", (42, 7, 3)),
        ("$JS.ACK.hub.ACCHASH.WT_e_EVENTS.c1.1.42.7.1795676341413466743.0.tok", (42, 7, 0)),
        ("_INBOX.abc", None),
        ("", None),
        ("$JS.ACK.WT_e_EVENTS.c1.1.x.7.1.3", None),
    ],
)
def test_stream_and_consumer_sequences_come_from_the_reply_subject(
    reply: str, position: tuple[int, int, int] | None
) -> None:
    assert ack_position(reply) == position
