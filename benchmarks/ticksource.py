"""A tick source for the fan-out sweep: real TickData bytes on the engine's tick subjects.

The simulated engine's market loop costs tens of microseconds per tick and tops out near
14k ticks/s on one core of a 2-core machine, which would cap the sweep (and steal the
gateway's core) long before fan-out saturates.  This process publishes what the bridge
would — one ``TickData`` per contract of the sim's seven, encoded once with
``schemas.codec``, on ``wt.{engine}.evt.tick.{EXCHANGE}.{symbol}`` — at ``--rate`` ticks/s in
total, stamping ``datetime`` with the wall-clock time of publication (the engine
timestamp from which latency is measured).  The gateway cannot tell it from the bridge.

Run by the suite::

    python -m benchmarks.ticksource --nats-url U --rate 20000 --until T --window T0 T1

It publishes until the epoch time ``--until``, then prints one JSON line: ticks published
in total and with a timestamp in ``[T0, T1)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats

from schemas.codec import encode
from schemas.enums import Exchange
from schemas.objects import TickData
from schemas.subjects import tick_subject

CONTRACTS = (
    ("rb2601", Exchange.SHFE, 3500.0, 1.0),
    ("au2606", Exchange.SHFE, 920.0, 0.02),
    ("IF2512", Exchange.CFFEX, 4600.0, 0.2),
    ("m2605", Exchange.DCE, 2900.0, 1.0),
    ("600036", Exchange.SSE, 42.0, 0.01),
    ("000001", Exchange.SZSE, 11.5, 0.01),
    ("BRK.B", Exchange.SMART, 480.0, 0.01),
)
PLACEHOLDER = datetime(2000, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
PERIOD = 0.001
"""Seconds between two batches."""


def templates(engine: str) -> list[tuple[str, bytes, bytes]]:
    """``(subject, head, tail)`` per contract: payload = head + quoted datetime + tail."""
    marker = msgspec.json.encode(PLACEHOLDER)
    out = []
    for symbol, exchange, price, tick in CONTRACTS:
        book: dict[str, Any] = {f"bid_price_{i}": round(price - i * tick, 2) for i in range(1, 6)}
        book |= {f"ask_price_{i}": round(price + i * tick, 2) for i in range(1, 6)}
        book |= {f"bid_volume_{i}": float(10 * i) for i in range(1, 6)}
        book |= {f"ask_volume_{i}": float(12 * i) for i in range(1, 6)}
        tick_data = TickData(
            gateway_name="SIM",
            symbol=symbol,
            exchange=exchange,
            datetime=PLACEHOLDER,
            name=symbol,
            volume=123456.0,
            turnover=4.3e9,
            open_interest=150000.0,
            last_price=price,
            last_volume=3.0,
            limit_up=round(price * 1.07, 2),
            limit_down=round(price * 0.93, 2),
            open_price=price,
            high_price=price + 10 * tick,
            low_price=price - 10 * tick,
            pre_close=price,
            **book,
        )
        head, _, tail = encode(tick_data).partition(marker)
        out.append((tick_subject(engine, symbol, exchange), head, tail))
    return out


async def run(args: argparse.Namespace) -> dict[str, float]:
    nc = await nats.connect(args.nats_url, pending_size=64 * 1024 * 1024)
    tpl = templates(args.engine)
    w0, w1 = args.window
    begin = time.time()
    sent = in_window = 0
    i = 0
    while (now := time.time()) < args.until:
        due = int(args.rate * (now - begin)) - sent
        if due > 0:
            stamp = msgspec.json.encode(datetime.fromtimestamp(now, UTC))
            for _ in range(due):
                subject, head, tail = tpl[i]
                i = (i + 1) % len(tpl)
                await nc.publish(subject, head + stamp + tail)
            sent += due
            if w0 <= now < w1:
                in_window += due
        await asyncio.sleep(PERIOD)
    await nc.flush()
    await nc.close()
    return {"published": sent, "in_window": in_window, "seconds": time.time() - begin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--engine", default="sim")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--window", type=float, nargs=2, default=(0.0, 0.0))
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415 - optional

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
