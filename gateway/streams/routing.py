"""Which source serves a ``/stream`` pattern: JetStream for durable kinds, the core hub else.

Order, trade, position and account events (:data:`schemas.streams.DURABLE_KINDS`) are kept
in the engine's events stream and reach ``/stream`` clients through a JetStream consumer, so
every such event carries its stream sequence.  Every other kind (ticks above all) stays on
the shared core-NATS hub.  A pattern whose kind token is a wildcard (``>``, ``*.SSE.*``) is
split: its durable part becomes the consumer's filter (the events stream holds durable kinds
only, so the pattern itself is the filter) and each non-durable kind it can match becomes one
core pattern, so nothing is delivered twice and every durable event has a sequence.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.streams import DURABLE_KINDS
from schemas.subjects import EventKind

SUBJECT_TOKENS = {
    EventKind.TICK: 3,
    EventKind.ORDER: 4,
    EventKind.TRADE: 3,
    EventKind.POSITION: 4,
    EventKind.CONTRACT: 3,
    EventKind.ACCOUNT: 2,
    EventKind.LOG: 1,
    EventKind.HEARTBEAT: 1,
    EventKind.QUOTE: 4,
}
"""Tokens after ``wt.{engine}.evt.`` of each kind's subjects (see ``schemas.subjects``)."""

_PREFIX_TOKENS = 3  # wt.{engine}.evt
_WILDCARDS = ("*", ">")


class Route(NamedTuple):
    """The sources of one pattern."""

    durable: str | None
    """Filter of the JetStream consumer (``None``: no durable kind can match)."""
    core: tuple[str, ...]
    """Core-NATS patterns for the hub."""


def can_match(topic: list[str], kind: EventKind) -> bool:
    """Whether the topic tokens (after ``evt.``) can match a subject of ``kind``."""
    tokens = SUBJECT_TOKENS[kind]
    if topic[-1] == ">":
        return tokens >= len(topic)
    return tokens == len(topic)


def route(pattern: str) -> Route:
    """Split a ``wt.{engine}.evt.{topic}`` pattern between JetStream and the core hub."""
    tokens = pattern.split(".")
    head, topic = tokens[:_PREFIX_TOKENS], tokens[_PREFIX_TOKENS:]
    first = topic[0]
    if first not in _WILDCARDS:
        if EventKind(first) in DURABLE_KINDS:
            return Route(pattern, ())
        return Route(None, (pattern,))
    durable = pattern if any(can_match(topic, k) for k in DURABLE_KINDS) else None
    core = []
    for kind in EventKind:
        if kind in DURABLE_KINDS or not can_match(topic, kind):
            continue
        # ">" stands for the kind token and whatever follows it; "*" for the kind token only
        more = [">"] if SUBJECT_TOKENS[kind] > 1 else []
        rest = more if first == ">" else topic[1:]
        core.append(".".join((*head, kind.value, *rest)))
    return Route(durable, tuple(core))


def with_engine(pattern: str, engine: str) -> str:
    """``pattern`` (``wt.{any}.evt.…``) with its engine token replaced by ``engine``."""
    head, _, rest = pattern.partition(".")
    _, _, rest = rest.partition(".")
    return f"{head}.{engine}.{rest}"


def for_engines(sources: Route, engines: frozenset[str]) -> Route:
    """A ``wt.*.…`` route limited to ``engines``: one core pattern per engine and kind.

    The durable filter stays as it is (feeds are opened per engine with
    :func:`with_engine`).  Each core subject names one engine, so the per-engine patterns
    never overlap: nothing is delivered twice.
    """
    core = tuple(with_engine(p, e) for e in sorted(engines) for p in sources.core)
    return Route(sources.durable, core)
