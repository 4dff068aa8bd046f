"""The AsyncAPI 3.0 document of the NATS API, generated from this package.

Every event subject (:class:`~schemas.subjects.EventKind`) and request-reply operation
(:class:`~schemas.subjects.Op`) with its message types.  Channel addresses are built by
:mod:`schemas.subjects` itself (with placeholder tokens turned into ``{parameters}``);
payload schemas are ``msgspec.json.schema`` of the Structs.  The document describes the
API as a client of the engines sees it (a gateway, a recorder): it *receives* events and
*sends* requests whose replies come to its inbox.

Served by the gateway at ``/asyncapi.json``; kept in ``docs/asyncapi.json``, regenerated with
``python -m schemas.asyncapi > docs/asyncapi.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from schemas.enums import Direction, Exchange, Product
from schemas.errors import (
    ERROR_CODE_HEADER,
    ERROR_HEADER,
    REPLAYED_HEADER,
    VT_ORDERID_HEADER,
    ErrorBody,
)
from schemas.logs import REQUEST_ID_HEADER
from schemas.messages import PROTOCOL_VERSION, SERVICE_NAME, EngineInfo, GatewayInfo, Heartbeat
from schemas.objects import (
    AccountData,
    BarData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    QuoteData,
    TickData,
    TradeData,
)
from schemas.requests import (
    CancelAllRequest,
    CancelRequest,
    ConnectRequest,
    HistoryRequest,
    OrderLookup,
    OrderRequest,
    Query,
    SubscribeReply,
    SubscribeRequest,
)
from schemas.streams import MSG_ID_HEADER, STREAM_SEQ_HEADER, events_stream, is_durable
from schemas.subjects import Event, EventKind, Op, event_subject, request_subject, subject_for

REF = "#/components/schemas/{name}"


@dataclass(frozen=True, slots=True)
class OpSpec:
    """One request-reply operation: its request (``None``: empty) and reply types."""

    request: Any
    reply: Any
    summary: str
    empty_ok: bool = False
    """The request may also be empty (every field optional)."""
    headers: tuple[str, ...] = ()
    """Reply headers of a success."""


_SEQ = (STREAM_SEQ_HEADER,)
OPS: dict[Op, OpSpec] = {
    Op.INFO: OpSpec(None, EngineInfo, "Who the engine is"),
    Op.CONTRACTS: OpSpec(Query, list[ContractData], "Contracts", True),
    Op.TICKS: OpSpec(Query, list[TickData], "Latest tick of each subscribed contract", True, _SEQ),
    Op.ACCOUNTS: OpSpec(Query, list[AccountData], "Accounts", True, _SEQ),
    Op.POSITIONS: OpSpec(Query, list[PositionData], "Positions", True, _SEQ),
    Op.ORDERS: OpSpec(Query, list[OrderData], "Orders, oldest first", True, _SEQ),
    Op.TRADES: OpSpec(Query, list[TradeData], "Trades, oldest first", True, _SEQ),
    Op.ORDER: OpSpec(OrderLookup, OrderData, "One order", headers=_SEQ),
    Op.SUBSCRIBE: OpSpec(SubscribeRequest, SubscribeReply, "Subscribe to a contract's ticks"),
    Op.SUBMIT: OpSpec(
        OrderRequest,
        OrderData,
        "Submit an order (idempotent by client_order_id)",
        headers=(VT_ORDERID_HEADER, REPLAYED_HEADER),
    ),
    Op.CANCEL: OpSpec(CancelRequest, OrderData, "Cancel an order"),
    Op.CANCEL_ALL: OpSpec(CancelAllRequest, list[OrderData], "Cancel every active order", True),
    Op.GATEWAYS: OpSpec(None, list[GatewayInfo], "The engine's gateways and their state"),
    Op.CONNECT: OpSpec(ConnectRequest, GatewayInfo, "Connect a gateway (credentials!)"),
    Op.BARS: OpSpec(HistoryRequest, list[BarData], "Historical bars, oldest first"),
}
"""Request and reply types of every op (docs/subjects.md)."""

_T0 = datetime(2000, 1, 1, tzinfo=UTC)
_X, _DIR = Exchange.SHFE, Direction.LONG
SAMPLES: dict[EventKind, Event | None] = {
    EventKind.TICK: TickData(symbol="SYMBOL", exchange=_X, datetime=_T0),
    EventKind.ORDER: OrderData(symbol="SYMBOL", exchange=_X, orderid="ORDERID", direction=_DIR),
    EventKind.TRADE: TradeData(
        symbol="SYMBOL", exchange=_X, orderid="O", tradeid="T", direction=_DIR
    ),
    EventKind.POSITION: PositionData(symbol="SYMBOL", exchange=_X, direction=_DIR),
    EventKind.CONTRACT: ContractData(
        symbol="SYMBOL", exchange=_X, name="", product=Product.FUTURES, size=1, pricetick=1
    ),
    EventKind.QUOTE: QuoteData(symbol="SYMBOL", exchange=_X, quoteid="QUOTEID"),
    EventKind.ACCOUNT: AccountData(accountid="ACCOUNTID"),
    EventKind.LOG: LogData(msg=""),
    EventKind.HEARTBEAT: None,
}
"""An object of each kind whose subject shows every placeholder token."""
PLACEHOLDERS = {
    "ENGINE": "engine",
    "SYMBOL": "symbol",
    _X.value: "exchange",
    "ORDERID": "orderid",
    "QUOTEID": "quoteid",
    _DIR.value: "direction",
    "ACCOUNTID": "accountid",
}
EVENT_TYPES: dict[EventKind, Any] = {
    kind: type(sample) if sample is not None else Heartbeat for kind, sample in SAMPLES.items()
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "engine": {"description": "Engine id: 1-64 of `A-Z a-z 0-9 _ -` (`*` in a subscription)."},
    "exchange": {"description": "Exchange member name.", "enum": [x.value for x in Exchange]},
    "symbol": {"description": "Symbol, escaped: `%`, `.`, `*`, `>`, whitespace -> `%XX`."},
    "orderid": {"description": "The engine's order id, escaped like a symbol."},
    "quoteid": {"description": "The engine's quote id, escaped like a symbol."},
    "direction": {"description": "Position direction.", "enum": [d.value for d in Direction]},
    "accountid": {"description": "Account id, escaped like a symbol."},
    "verb": {"description": "nats.micro discovery verb.", "enum": ["PING", "INFO", "STATS"]},
}


def _header(description: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description}
    return schema | ({"pattern": pattern} if pattern else {})


HEADERS = {
    STREAM_SEQ_HEADER: _header("Events-stream sequence the state includes.", "^[0-9]+$"),
    VT_ORDERID_HEADER: _header("The order's vt_orderid."),
    REPLAYED_HEADER: _header("`1`: the existing order of a known client_order_id.", "^1$"),
    REQUEST_ID_HEADER: _header("Request id, echoed in the reply and every log line."),
    ERROR_CODE_HEADER: _header("HTTP-style status of the failure.", "^[1-5][0-9][0-9]$"),
    ERROR_HEADER: _header("What went wrong, safe to show."),
    MSG_ID_HEADER: _header("`{run}:{n}`: unique per event (JetStream de-duplication)."),
    "Nats-Expected-Last-Msg-Id": _header("Nats-Msg-Id of the event before (ordering)."),
    "Nats-Expected-Last-Sequence": _header("Stream sequence expected before it (after recovery)."),
}


def _headers(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {n: HEADERS[n] for n in names}}
    return schema | ({"required": list(required)} if required else {})


def address(subject: str) -> str:
    """A subject built from placeholders, as a channel address with ``{parameters}``."""
    tokens = subject.split(".")
    return ".".join(
        f"{{{PLACEHOLDERS[t]}}}" if i == 1 or (i > 3 and t in PLACEHOLDERS) else t  # noqa: PLR2004
        for i, t in enumerate(tokens)
    )


def _event_address(kind: EventKind) -> str:
    sample = SAMPLES[kind]
    subject = (
        event_subject("ENGINE", kind) if sample is None else subject_for("ENGINE", kind, sample)
    )
    return address(subject)


def _parameters(addr: str) -> dict[str, Any]:
    names = [t[1:-1] for t in addr.split(".") if t.startswith("{")]
    return {n: {"$ref": f"#/components/parameters/{n}"} for n in names}


def _message(name: str, payload: Any, summary: str, headers: Any = None) -> dict[str, Any]:
    message = {"name": name, "title": name, "summary": summary, "payload": payload}
    return message | ({"headers": headers} if headers else {})


def _discovery(
    messages: dict[str, Any],
    channels: dict[str, Any],
    operations: dict[str, Any],
    inbox: dict[str, Any],
) -> None:
    """``$SRV.{verb}.webtrader-engine``: nats.micro discovery of the running engines."""
    messages["discoveryRequest"] = _message(
        "discoveryRequest", {"type": "object", "description": "Empty."}, "Discover engines"
    )
    messages["discoveryReply"] = _message(
        "discoveryReply",
        {
            "type": "object",
            "description": "nats.micro's ping, info or stats answer (one per running bridge); "
            "`metadata` holds `engine_id` and `engine`.",
        },
        "One engine's service description",
    )
    inbox["discoveryReply"] = {"$ref": "#/components/messages/discoveryReply"}
    addr = f"$SRV.{{verb}}.{SERVICE_NAME}"
    channels["discovery"] = {
        "address": addr,
        "messages": {"discoveryRequest": {"$ref": "#/components/messages/discoveryRequest"}},
        "parameters": {"verb": {"$ref": "#/components/parameters/verb"}},
    }
    operations["discover"] = {
        "action": "send",
        "summary": "Find running engines (every bridge answers)",
        "channel": {"$ref": "#/channels/discovery"},
        "messages": [{"$ref": "#/channels/discovery/messages/discoveryRequest"}],
        "reply": {
            "channel": {"$ref": "#/channels/inbox"},
            "messages": [{"$ref": "#/channels/inbox/messages/discoveryReply"}],
        },
    }


def build() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (a JSON-ready dict), deterministic."""
    types = [*EVENT_TYPES.values(), ErrorBody]
    for spec in OPS.values():
        types += [t for t in (spec.request, spec.reply) if t is not None]
    payloads, schemas = msgspec.json.schema_components(types, ref_template=REF)
    payload = dict(zip(map(repr, types), payloads, strict=True))
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for kind, type_ in EVENT_TYPES.items():
        addr, name = _event_address(kind), f"{kind.value}Event"
        durable = is_durable(kind)
        headers = _headers(MSG_ID_HEADER, "Nats-Expected-Last-Msg-Id") if durable else None
        messages[name] = _message(name, payload[repr(type_)], type_.__name__, headers)
        channel = {
            "address": addr,
            "title": f"{kind.value} events",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "parameters": _parameters(addr),
        }
        if durable:
            channel["x-jetstream-stream"] = events_stream("ENGINE").replace("ENGINE", "{engine}")
        channels[f"{kind.value}Events"] = channel
        operations[f"receive{kind.name.title().replace('_', '')}Events"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{kind.value}Events"},
            "messages": [{"$ref": f"#/channels/{kind.value}Events/messages/{name}"}],
        }
    messages["serviceError"] = _message(
        "serviceError",
        payload[repr(ErrorBody)],
        "A failed request (nats.micro error headers)",
        _headers(ERROR_CODE_HEADER, ERROR_HEADER, required=(ERROR_CODE_HEADER, ERROR_HEADER)),
    )
    inbox: dict[str, Any] = {"serviceError": {"$ref": "#/components/messages/serviceError"}}
    for op, spec in OPS.items():
        req, rep = f"{op.value}Request", f"{op.value}Reply"
        empty = {"type": "object", "description": "Empty, or a JSON object (ignored)."}
        body = empty if spec.request is None else payload[repr(spec.request)]
        note = " (may be empty)" if spec.empty_ok else ""
        messages[req] = _message(req, body, spec.summary + note, _headers(REQUEST_ID_HEADER))
        messages[rep] = _message(
            rep, payload[repr(spec.reply)], spec.summary, _headers(*spec.headers, REQUEST_ID_HEADER)
        )
        inbox[rep] = {"$ref": f"#/components/messages/{rep}"}
        addr = address(request_subject("ENGINE", op))
        channels[f"{op.value}Requests"] = {
            "address": addr,
            "messages": {req: {"$ref": f"#/components/messages/{req}"}},
            "parameters": _parameters(addr),
        }
        operations[op.value] = {
            "action": "send",
            "summary": spec.summary,
            "channel": {"$ref": f"#/channels/{op.value}Requests"},
            "messages": [{"$ref": f"#/channels/{op.value}Requests/messages/{req}"}],
            "reply": {
                "channel": {"$ref": "#/channels/inbox"},
                "messages": [
                    {"$ref": f"#/channels/inbox/messages/{rep}"},
                    {"$ref": "#/channels/inbox/messages/serviceError"},
                ],
            },
        }
    _discovery(messages, channels, operations, inbox)
    channels["inbox"] = {
        "address": None,
        "description": "The requester's reply subject (`_INBOX.<user>.>`), given per request.",
        "messages": inbox,
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "nats-webtrader engines over NATS",
            "version": PROTOCOL_VERSION,
            "description": (
                "Events every engine bridge publishes and the requests it serves (a nats.micro "
                f"service `{SERVICE_NAME}`, queue group `q`), seen from a client. Generated "
                "from `schemas/` (docs/subjects.md is the prose). Enums are carried by member "
                "name; inputs also accept VeighNa's Chinese and English values."
            ),
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "nats-server with the project's nats.conf (users: nats-auth.conf).",
                "security": [{"$ref": "#/components/securitySchemes/natsUser"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": messages,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "natsUser": {"type": "userPassword", "description": "docs/security/nats.md"}
            },
        },
    }


def render() -> str:
    """The document as the JSON text kept in docs/asyncapi.json."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """``python -m schemas.asyncapi > docs/asyncapi.json``."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
