"""The NATS subject grammar: every subject of the system is built here.

Grammar (``ROOT`` is ``wt``)::

    wt.{engine}.evt.tick.{EXCHANGE}.{symbol}       market data
    wt.{engine}.evt.order.{EXCHANGE}.{symbol}.{orderid}       order updates
    wt.{engine}.evt.trade.{EXCHANGE}.{symbol}                 fills
    wt.{engine}.evt.position.{EXCHANGE}.{symbol}.{DIRECTION}  position updates
    wt.{engine}.evt.contract.{EXCHANGE}.{symbol}   contract definitions
    wt.{engine}.evt.quote.{EXCHANGE}.{symbol}.{quoteid}       quote updates (market making)
    wt.{engine}.evt.account.{accountid}            account updates
    wt.{engine}.evt.log                            engine log lines
    wt.{engine}.evt.heartbeat                      liveness, every 10 s
    wt.{engine}.req.{op}                           request-reply (a nats.micro endpoint)

The engine id is one token, so ``wt.{engine}.>`` is one engine's whole permission prefix.
Orders, quotes and positions carry their identity as the last token, so "the last message of
each subject" is the current state of each order, quote and position (what JetStream snapshots use).
Symbols and ids are escaped with :func:`escape_token` (reversible percent-encoding of
``%``, ``.``, ``*``, ``>`` and whitespace/control characters); nothing is spliced raw.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

from schemas.enums import Direction, Exchange
from schemas.objects import (
    AccountData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    QuoteData,
    TickData,
    TradeData,
)

ROOT = "wt"
EVT = "evt"
REQ = "req"

ENGINE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ESCAPE_RE = re.compile(r"[%.*>\s\x00-\x1f\x7f]")
_UNESCAPE_RE = re.compile(r"%([0-9A-F]{2})")


class EventKind(StrEnum):
    """What an event subject carries; the value is its subject token."""

    TICK = "tick"
    ORDER = "order"
    TRADE = "trade"
    POSITION = "position"
    CONTRACT = "contract"
    ACCOUNT = "account"
    LOG = "log"
    HEARTBEAT = "heartbeat"
    QUOTE = "quote"

    @property
    def vnpy_topic(self) -> str:
        """VeighNa's event type (``eTick.``), used by the vnpy-compatible WebSocket."""
        return _VNPY_TOPICS[self]


_VNPY_TOPICS = {
    EventKind.TICK: "eTick.",
    EventKind.ORDER: "eOrder.",
    EventKind.TRADE: "eTrade.",
    EventKind.POSITION: "ePosition.",
    EventKind.CONTRACT: "eContract.",
    EventKind.ACCOUNT: "eAccount.",
    EventKind.LOG: "eLog",
    EventKind.HEARTBEAT: "eHeartbeat",
    EventKind.QUOTE: "eQuote.",
}

SYMBOL_KINDS = frozenset(
    {
        EventKind.TICK,
        EventKind.ORDER,
        EventKind.TRADE,
        EventKind.POSITION,
        EventKind.CONTRACT,
        EventKind.QUOTE,
    }
)
"""Kinds whose subject continues with ``{EXCHANGE}.{symbol}``."""

IDENTIFIED_KINDS = frozenset({EventKind.ORDER, EventKind.POSITION, EventKind.QUOTE})
"""Symbol kinds with one more token after the symbol: the orderid, the position direction,
the quoteid."""


class Op(StrEnum):
    """Request-reply operations an engine bridge serves; the value is the subject token."""

    CONTRACTS = "contracts"
    TICKS = "ticks"
    ACCOUNTS = "accounts"
    POSITIONS = "positions"
    ORDERS = "orders"
    ORDER = "order"
    TRADES = "trades"
    SUBSCRIBE = "subscribe"
    SUBMIT = "submit"
    CANCEL = "cancel"
    CANCEL_ALL = "cancel_all"
    INFO = "info"
    GATEWAYS = "gateways"
    CONNECT = "connect"
    BARS = "bars"


def escape_token(text: str) -> str:
    """Make ``text`` one safe subject token, reversibly (see :func:`unescape_token`).

    Raises:
        ValueError: ``text`` is empty (an empty token is not a subject).
    """
    if not text:
        raise ValueError("empty subject token")
    return _ESCAPE_RE.sub(lambda m: f"%{ord(m.group()):02X}", text)


def unescape_token(token: str) -> str:
    """Inverse of :func:`escape_token`."""
    return _UNESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), token)


def check_engine_id(engine_id: str) -> str:
    """Return ``engine_id`` if it is a valid id (letters, digits, ``_``, ``-``; 1-64).

    Raises:
        ValueError: it is not.
    """
    if not ENGINE_ID_RE.match(engine_id):
        raise ValueError(f"invalid engine id {engine_id!r}: use 1-64 of A-Z a-z 0-9 _ -")
    return engine_id


def engine_prefix(engine_id: str) -> str:
    """``wt.{engine}``: everything one engine publishes or serves lives below it."""
    return f"{ROOT}.{check_engine_id(engine_id)}"


def request_subject(engine_id: str, op: Op) -> str:
    """Subject of one request-reply operation of an engine."""
    return f"{engine_prefix(engine_id)}.{REQ}.{op.value}"


def request_group(engine_id: str) -> str:
    """The nats.micro group prefix under which an engine's endpoints live."""
    return f"{engine_prefix(engine_id)}.{REQ}"


def symbol_tokens(symbol: str, exchange: Exchange) -> str:
    """``{EXCHANGE}.{escaped symbol}``."""
    return f"{exchange.value}.{escape_token(symbol)}"


def event_subject(engine_id: str, kind: EventKind, key: str | None = None) -> str:
    """Subject of one event.

    ``key`` is the already-built key tokens: :func:`symbol_tokens` for symbol kinds, an
    escaped account id for accounts, ``None`` for log and heartbeat.
    """
    base = f"{engine_prefix(engine_id)}.{EVT}.{kind.value}"
    return f"{base}.{key}" if key else base


def tick_subject(engine_id: str, symbol: str, exchange: Exchange) -> str:
    """Subject of ticks for one contract."""
    return event_subject(engine_id, EventKind.TICK, symbol_tokens(symbol, exchange))


def account_subject(engine_id: str, accountid: str) -> str:
    """Subject of updates of one account."""
    return event_subject(engine_id, EventKind.ACCOUNT, escape_token(accountid))


def symbol_pattern(engine_id: str, kind: EventKind, symbol: str, exchange: Exchange) -> str:
    """Pattern of every event of ``kind`` about one contract (all its orders, both positions).

    ``engine_id`` may be ``*`` for every engine.
    """
    topic = f"{kind.value}.{symbol_tokens(symbol, exchange)}"
    return events_pattern(engine_id, f"{topic}.*" if kind in IDENTIFIED_KINDS else topic)


Event = (
    TickData
    | OrderData
    | TradeData
    | PositionData
    | AccountData
    | ContractData
    | LogData
    | QuoteData
)
"""Any object an engine publishes as an event."""


def subject_for(engine_id: str, kind: EventKind, obj: Event) -> str:
    """The subject an event object is published on (see the grammar above)."""
    if isinstance(obj, AccountData):
        return account_subject(engine_id, obj.accountid)
    if isinstance(obj, LogData):
        return event_subject(engine_id, kind)
    key = symbol_tokens(obj.symbol, obj.exchange)
    if isinstance(obj, OrderData):
        key = f"{key}.{escape_token(obj.orderid)}"
    elif isinstance(obj, PositionData):
        key = f"{key}.{obj.direction.value}"
    elif isinstance(obj, QuoteData):
        key = f"{key}.{escape_token(obj.quoteid)}"
    return event_subject(engine_id, kind, key)


class EventSubject(NamedTuple):
    """A parsed event subject."""

    engine_id: str
    kind: EventKind
    exchange: Exchange | None = None
    key: str | None = None
    """The unescaped symbol (symbol kinds) or account id (accounts)."""
    ident: str | None = None
    """The unescaped orderid (orders), quoteid (quotes) or the direction name (positions)."""


def parse_event_subject(subject: str) -> EventSubject:
    """Inverse of :func:`event_subject`.

    Raises:
        ValueError: not an event subject of this grammar.
    """
    tokens = subject.split(".")
    if len(tokens) < 4 or tokens[0] != ROOT or tokens[2] != EVT:  # noqa: PLR2004
        raise ValueError(f"not an event subject: {subject!r}")
    engine_id, kind = check_engine_id(tokens[1]), EventKind(tokens[3])
    rest = tokens[4:]
    if kind in IDENTIFIED_KINDS and len(rest) == 3:  # noqa: PLR2004
        ident = unescape_token(rest[2])
        if kind is EventKind.POSITION:
            ident = Direction(ident).value
        return EventSubject(engine_id, kind, Exchange(rest[0]), unescape_token(rest[1]), ident)
    if kind in SYMBOL_KINDS - IDENTIFIED_KINDS and len(rest) == 2:  # noqa: PLR2004
        return EventSubject(engine_id, kind, Exchange(rest[0]), unescape_token(rest[1]))
    if kind is EventKind.ACCOUNT and len(rest) == 1:
        return EventSubject(engine_id, kind, None, unescape_token(rest[0]))
    if kind in (EventKind.LOG, EventKind.HEARTBEAT) and not rest:
        return EventSubject(engine_id, kind)
    raise ValueError(f"malformed {kind.value} subject: {subject!r}")


def events_pattern(engine_id: str, topic: str = ">") -> str:
    """A subscription pattern for events of one engine (``*`` for every engine).

    ``topic`` is the part after ``evt.``: a kind with optional tokens and wildcards, e.g.
    ``"tick.SHFE.>"``, ``"order.>"``, ``"*.SSE.*"`` or ``">"``.  Each token must be
    non-empty with no whitespace; ``>`` only last; the first token a kind or a wildcard.

    Raises:
        ValueError: the pattern breaks one of these rules (the message says which).
    """
    engine = engine_id if engine_id == "*" else check_engine_id(engine_id)
    tokens = topic.split(".")
    for i, tok in enumerate(tokens):
        if not tok or any(c.isspace() or ord(c) < 0x20 for c in tok):  # noqa: PLR2004
            raise ValueError(f"topic {topic!r}: empty token or whitespace")
        if ">" in tok and (tok != ">" or i != len(tokens) - 1):
            raise ValueError(f"topic {topic!r}: '>' must be the whole last token")
        if "*" in tok and tok != "*":
            raise ValueError(f"topic {topic!r}: '*' must be a whole token")
    if tokens[0] not in ("*", ">") and tokens[0] not in {k.value for k in EventKind}:
        kinds = ", ".join(k.value for k in EventKind)
        raise ValueError(f"topic {topic!r}: first token must be one of {kinds}, '*' or '>'")
    return f"{ROOT}.{engine}.{EVT}.{topic}"


def all_events_pattern() -> str:
    """Every event of every engine: ``wt.*.evt.>``."""
    return f"{ROOT}.*.{EVT}.>"
