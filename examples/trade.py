"""Trade from a script: log in, follow a contract, buy, wait for the fill, show the position.

    python examples/trade.py --url http://127.0.0.1:8000 --username vnpy
    WEBTRADER_PASSWORD=... python examples/trade.py --engine sim --vt-symbol rb2601.SHFE

Every option has a ``WEBTRADER_*`` environment twin (``--url``: ``WEBTRADER_URL``,
``--password``: ``WEBTRADER_PASSWORD``; give the password that way, not on the command line).
The order is a limit order at the contract's upper limit (a sell: the lower limit), so it
crosses the book at once; the fill arrives over ``/stream``.  Exit status 0 once the order
filled and the position is printed; 1 if the order ended otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from schemas.enums import Direction, Offset, OrderType, Status
from schemas.objects import OrderData, TickData, split_vt_symbol
from schemas.requests import OrderRequest
from webtrader_client import ClientError, Stream, WebTrader


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options, each defaulting to its ``WEBTRADER_*`` variable."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env("WEBTRADER_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--username", default=env("WEBTRADER_USERNAME", "vnpy"))
    parser.add_argument("--password", default=env("WEBTRADER_PASSWORD"))
    parser.add_argument("--engine", default=env("WEBTRADER_ENGINE"), help="default: the gateway's")
    parser.add_argument("--vt-symbol", default=env("WEBTRADER_VT_SYMBOL", "rb2601.SHFE"))
    parser.add_argument("--direction", default="LONG", choices=["LONG", "SHORT"])
    parser.add_argument("--volume", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole run")
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("give the password as WEBTRADER_PASSWORD (or --password)")
    return args


async def next_tick(stream: Stream) -> TickData:
    """The next tick delivered to the stream's iterator."""
    async for event in stream:
        if isinstance(event.data, TickData):
            return event.data
    raise ClientError("the stream ended")


async def fill_of(stream: Stream, vt_orderid: str) -> OrderData:
    """Follow the order's events until it is no longer active; its last state."""
    async for event in stream:
        order = event.data
        if isinstance(order, OrderData) and order.vt_orderid == vt_orderid:
            print(f"  order {order.vt_orderid} {order.status.value} (seq {event.seq})")
            if not order.is_active():
                return order
    raise ClientError("the stream ended")


async def trade(args: argparse.Namespace) -> int:
    """The whole run; returns the exit status."""
    async with WebTrader(args.url, engine=args.engine) as wt:
        await wt.login(args.username, args.password)
        print(f"logged in to {args.url} as {args.username}")
        async with wt.stream() as stream:  # after the login: the socket needs the token
            return await trade_on(wt, stream, args)


async def trade_on(wt: WebTrader, stream: Stream, args: argparse.Namespace) -> int:
    """Subscribe, buy (or sell), wait for the fill, print the position."""
    symbol, exchange = split_vt_symbol(args.vt_symbol)
    direction = Direction(args.direction)
    # market data and our orders, over one socket; both wait for the gateway's ack
    ticks = stream.subscribe(kind="tick", vt_symbol=args.vt_symbol, engine=args.engine)
    orders = stream.subscribe("order.>", engine=args.engine)
    await asyncio.gather(ticks.ready, orders.ready)
    tick = await next_tick(stream)
    print(f"tick {tick.vt_symbol}: last {tick.last_price}", end=" ")
    print(f"bid {tick.bid_price_1} ask {tick.ask_price_1}")

    # a marketable limit: at the limit price the simulator (and most venues) cross at once
    price = tick.limit_up if direction is Direction.LONG else tick.limit_down
    request = OrderRequest(
        symbol=symbol,
        exchange=exchange,
        direction=direction,
        type=OrderType.LIMIT,
        offset=Offset.OPEN,
        volume=args.volume,
        price=price,
    )
    order = await wt.submit_order(request)  # a client_order_id makes retries safe
    print(f"submitted {order.vt_orderid}: {direction.value} {args.volume} @ {price}")
    if order.is_active():
        order = await fill_of(stream, order.vt_orderid)
    if order.status is not Status.ALLTRADED:
        print(f"order {order.vt_orderid} ended {order.status.value}: {order.reason}")
        return 1
    print(f"filled {order.vt_orderid}: {order.traded} @ {order.price}")

    for position in await wt.positions(vt_symbol=args.vt_symbol):
        if position.direction is direction:
            print(
                f"position {position.vt_symbol} {position.direction.value}: "
                f"{position.volume} @ {position.price}"
            )
    return 0


def main() -> None:
    """Run, bounded by ``--timeout``; errors are printed with the server's detail."""
    args = parse_args()

    async def bounded() -> int:
        async with asyncio.timeout(args.timeout):
            return await trade(args)

    try:
        sys.exit(asyncio.run(bounded()))
    except ClientError as exc:
        sys.exit(f"error: {exc}")
    except TimeoutError:
        sys.exit(f"error: no fill within {args.timeout} s")


if __name__ == "__main__":
    main()
