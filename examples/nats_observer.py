"""A service that listens to the engines directly on NATS and prints every event.

    export WEBTRADER_NATS_USER=observer WEBTRADER_NATS_PASSWORD=...
    python examples/nats_observer.py --nats-url nats://127.0.0.1:4222 --topic 'order.>'

It connects as ``observer``, the least-privilege user of ``nats-auth.conf``: it may
subscribe to ``wt.*.evt.>`` and nothing else (no request, no JetStream, no publish).
Subjects come from ``schemas.subjects``, payloads decode into ``schemas.objects`` (see
docs/nats-services.md and the AsyncAPI document, docs/asyncapi.json).  It prints
``listening on <patterns>`` once subscribed, then one line per event, and stops cleanly on
SIGTERM or SIGINT (or after ``--count`` events).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoServersError

from schemas.codec import decode
from schemas.config import redact_url
from schemas.errors import BadRequestError
from schemas.messages import Heartbeat
from schemas.natsauth import (
    CredentialsRefusedError,
    NatsAuthError,
    add_nats_auth_options,
    connect,
    pop_nats_auth,
)
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
from schemas.subjects import EventKind, events_pattern, parse_event_subject

TYPES: dict[EventKind, type[Any]] = {
    EventKind.TICK: TickData,
    EventKind.ORDER: OrderData,
    EventKind.TRADE: TradeData,
    EventKind.POSITION: PositionData,
    EventKind.CONTRACT: ContractData,
    EventKind.ACCOUNT: AccountData,
    EventKind.LOG: LogData,
    EventKind.HEARTBEAT: Heartbeat,
    EventKind.QUOTE: QuoteData,
}
"""What each event kind carries (docs/subjects.md)."""


def describe(obj: object) -> str:  # noqa: PLR0911 - one case per kind
    """One line about an event object."""
    match obj:
        case OrderData():
            return (
                f"{obj.vt_orderid} {obj.vt_symbol} {obj.direction.value} {obj.volume:g} @ "
                f"{obj.price:g} traded {obj.traded:g} {obj.status.value}"
            )
        case TradeData():
            side = f"{obj.direction.value} {obj.volume:g} @ {obj.price:g}"
            return f"{obj.vt_tradeid} of {obj.vt_orderid} {side}"
        case PositionData():
            return f"{obj.vt_positionid} {obj.volume:g} @ {obj.price:g} pnl {obj.pnl:g}"
        case AccountData():
            return f"{obj.vt_accountid} balance {obj.balance:,.2f} available {obj.available:,.2f}"
        case TickData():
            return f"{obj.vt_symbol} {obj.last_price:g} bid {obj.bid_price_1:g}"
        case Heartbeat():
            return f"heartbeat #{obj.seq} ({obj.info.engine}, {obj.info.contracts} contracts)"
        case LogData():
            return obj.msg
        case ContractData() | QuoteData():
            return obj.vt_symbol
    return repr(obj)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--nats-url``, the NATS credential options (``WEBTRADER_*``), what to follow."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nats-url", default=os.environ.get("WEBTRADER_NATS_URL", "nats://127.0.0.1:4222")
    )
    add_nats_auth_options(parser, os.environ)
    parser.add_argument("--engine", default="*", help="engine id, or * for every engine")
    parser.add_argument(
        "--topic",
        action="append",
        help="pattern after wt.{engine}.evt. (repeatable; default '>': everything)",
    )
    parser.add_argument("--count", type=int, default=0, help="stop after N events (0: never)")
    return parser.parse_args(argv)


async def observe(args: argparse.Namespace) -> None:
    """Subscribe and print until stopped (signal or ``--count``)."""
    auth = pop_nats_auth(vars(args))
    patterns = [events_pattern(args.engine, topic) for topic in args.topic or [">"]]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    seen = 0

    async def on_event(msg: Msg) -> None:
        nonlocal seen
        try:
            subject = parse_event_subject(msg.subject)
            obj = decode(msg.data, TYPES[subject.kind])
        except (ValueError, BadRequestError) as exc:
            print(f"? {msg.subject}: {exc}", flush=True)
            return
        print(f"{subject.engine_id} {subject.kind.value} {describe(obj)}", flush=True)
        seen += 1
        if args.count and seen >= args.count:
            stop.set()

    nc = Client()
    servers = [url.strip() for url in args.nats_url.split(",") if url.strip()]
    await connect(nc, auth, args.nats_url, servers=servers, name="nats-observer-example")
    try:
        for pattern in patterns:
            await nc.subscribe(pattern, cb=on_event)
        await nc.flush()
        print(f"listening on {' '.join(patterns)}", flush=True)
        await stop.wait()
    finally:
        await nc.drain()


def main() -> None:
    """Run until stopped; exit 0, or 1 with a message when NATS refuses the credentials."""
    args = parse_args()
    try:
        asyncio.run(observe(args))
    except (CredentialsRefusedError, NatsAuthError) as exc:
        sys.exit(f"error: {exc}")
    except (NoServersError, OSError) as exc:
        sys.exit(f"error: cannot reach NATS at {redact_url(args.nats_url)}: {exc!r}")


if __name__ == "__main__":
    main()
