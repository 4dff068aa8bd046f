"""A VeighNa gateway that behaves like a small exchange, for the vnpy engine's tests.

``ExchangeGateway`` is a real :class:`vnpy.trader.gateway.BaseGateway`, run by a real
``MainEngine`` (``webtrader bridge --engine vnpy --gateway tests.vnpy_gateway:ExchangeGateway``).
Like a venue it answers on a thread of its own, after the call that asked:

* ``connect`` starts the exchange thread, which publishes the contracts (``rb2601.SHFE``,
  ``600036.SSE``, ``BRK.B.SMART``), the account and a log line;
* ``send_order`` pushes the ``SUBMITTING`` order at once (VeighNa's rule) and returns its
  ``vt_orderid``; the exchange then acknowledges it (``NOTTRADED``) or rejects it
  (unknown contract, not enough funds, nothing to close), and fills it whole at the best
  opposite price when it crosses, now or on a later tick: trade, order ``ALLTRADED``,
  position, account;
* ``cancel_order`` cancels an active order (``CANCELLED``, account);
* subscribed contracts tick ``tick_rate`` times a second on a random walk inside
  ±7 % limits (a buy at ``limit_down`` never crosses, one at ``limit_up`` always does);
* ``query_history`` draws bars; ``send_quote``/``cancel_quote`` acknowledge quotes.

Order ids start with a per-connection session token, so they differ across runs.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import queue
import random
import threading
import time
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from vnpy.event import EventEngine
from vnpy.trader.constant import Direction, Exchange, Interval, Offset, OrderType, Product, Status
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import (
    AccountData,
    BarData,
    CancelRequest,
    ContractData,
    HistoryRequest,
    OrderData,
    OrderRequest,
    PositionData,
    QuoteRequest,
    SubscribeRequest,
    TickData,
    TradeData,
)

TZ = ZoneInfo("Asia/Shanghai")
LIMIT_PCT = 0.07
MARGIN_RATE = 0.1
COMMISSION_RATE = 0.0001
INTERVAL_SECONDS = {Interval.MINUTE: 60, Interval.HOUR: 3600, Interval.DAILY: 86400}


@dataclass
class Market:
    """One contract's book: a best bid walking on the price grid, the ask one tick above."""

    contract: ContractData
    start: float
    rng: random.Random
    bid: int = 0
    last: int = 0
    volume: float = 0.0
    down: int = field(init=False)
    up: int = field(init=False)

    def __post_init__(self) -> None:
        tick = self.contract.pricetick
        self.down = math.ceil(self.start * (1 - LIMIT_PCT) / tick)
        self.up = math.floor(self.start * (1 + LIMIT_PCT) / tick)
        self.bid = self.last = round(self.start / tick)

    def price(self, ticks: int) -> float:
        return round(ticks * self.contract.pricetick, 4)

    @property
    def ask(self) -> int:
        return self.bid + 1

    def step(self) -> None:
        self.bid = max(self.down + 1, min(self.up - 1, self.bid + self.rng.randint(-2, 2)))
        self.last = self.bid if self.rng.random() < 0.5 else self.ask
        self.volume += self.contract.min_volume * self.rng.randint(1, 5)

    def tick(self, gateway_name: str) -> TickData:
        c = self.contract
        book = {}
        for i in range(1, 6):
            book[f"bid_price_{i}"] = self.price(self.bid - i + 1)
            book[f"ask_price_{i}"] = self.price(self.ask + i - 1)
            book[f"bid_volume_{i}"] = c.min_volume * self.rng.randint(1, 20)
            book[f"ask_volume_{i}"] = c.min_volume * self.rng.randint(1, 20)
        return TickData(
            gateway_name=gateway_name,
            symbol=c.symbol,
            exchange=c.exchange,
            datetime=datetime.now(TZ),
            name=c.name,
            volume=self.volume,
            last_price=self.price(self.last),
            limit_up=self.price(self.up),
            limit_down=self.price(self.down),
            open_price=self.start,
            pre_close=self.start,
            **book,
        )


@dataclass
class Holding:
    volume: float = 0.0
    price: float = 0.0


def contracts(gateway_name: str) -> list[tuple[ContractData, float]]:
    """The exchange's contracts and their start prices."""

    def make(
        symbol: str, exchange: Exchange, name: str, product: Product, *, size: float, tick: float
    ) -> ContractData:
        return ContractData(
            gateway_name=gateway_name,
            symbol=symbol,
            exchange=exchange,
            name=name,
            product=product,
            size=size,
            pricetick=tick,
            min_volume=100 if exchange is Exchange.SSE else 1,
            history_data=True,
        )

    return [
        (make("rb2601", Exchange.SHFE, "螺纹钢2601", Product.FUTURES, size=10, tick=1), 3500.0),
        (make("600036", Exchange.SSE, "招商银行", Product.EQUITY, size=1, tick=0.01), 40.0),
        (make("BRK.B", Exchange.SMART, "BRK B", Product.EQUITY, size=1, tick=0.01), 480.0),
    ]


class ExchangeGateway(BaseGateway):
    """A small exchange as a VeighNa gateway (see the module docstring)."""

    default_name = "EXCH"
    default_setting: dict[str, str | int | float | bool] = {  # noqa: RUF012 - VeighNa's API
        "accountid": "EXCH-1",
        "capital": 10_000_000.0,
        "tick_rate": 20.0,
        "seed": 0,
    }
    exchanges = [Exchange.SHFE, Exchange.SSE, Exchange.SMART]  # noqa: RUF012 - VeighNa's API

    def __init__(self, event_engine: EventEngine, gateway_name: str) -> None:
        super().__init__(event_engine, gateway_name)
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._active = False
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()
        self._session = ""
        self.markets: dict[str, Market] = {}
        self.subscribed: set[str] = set()
        self.resting: dict[str, OrderData] = {}
        self.holdings: dict[tuple[str, Direction], Holding] = {}
        self.realized = 0.0
        self.accountid = "EXCH-1"
        self.capital = 0.0
        self.period = 0.05

    # ------------------------------------------------------------------ VeighNa API

    def connect(self, setting: dict) -> None:
        """Start the exchange thread; it publishes contracts, account and a log line."""
        if self._active:
            return
        self.accountid = str(setting.get("accountid", "EXCH-1"))
        self.capital = float(setting.get("capital", 10_000_000.0))
        rate = float(setting.get("tick_rate", 20.0))
        self.period = 1 / rate if rate > 0 else 0.0
        rng = random.Random(int(setting.get("seed", 0)) or None)
        self._session = f"{rng.randrange(36**4):04x}{int(time.time()) % 100_000}"
        self.markets = {
            c.vt_symbol: Market(c, start, random.Random(rng.random()))
            for c, start in contracts(self.gateway_name)
        }
        self._active = True
        self._thread = threading.Thread(target=self._run, name="exchange", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the exchange thread."""
        self._active = False
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def subscribe(self, req: SubscribeRequest) -> None:
        """Tick ``req``'s contract from now on."""
        self._jobs.put(lambda: self._subscribe(req.vt_symbol))

    def send_order(self, req: OrderRequest) -> str:
        """Push the SUBMITTING order now; the exchange answers on its thread."""
        order = req.create_order_data(self._next_id(), self.gateway_name)
        order.datetime = datetime.now(TZ)
        self.on_order(copy(order))
        if not self._active:
            order.status = Status.REJECTED
            self.on_order(copy(order))
            self.write_log(f"order {order.vt_orderid} rejected: not connected")
        else:
            self._jobs.put(lambda: self._accept(order))
        return order.vt_orderid

    def cancel_order(self, req: CancelRequest) -> None:
        """Cancel on the exchange thread."""
        self._jobs.put(lambda: self._cancel(req.orderid))

    def send_quote(self, req: QuoteRequest) -> str:
        """Push the SUBMITTING quote now; the exchange acknowledges it."""
        quote = req.create_quote_data(self._next_id(), self.gateway_name)
        quote.datetime = datetime.now(TZ)
        self.on_quote(copy(quote))

        def ack() -> None:
            quote.status = Status.NOTTRADED
            self.on_quote(copy(quote))

        self._jobs.put(ack)
        return quote.vt_quoteid

    def query_account(self) -> None:
        """Publish the account."""
        self._jobs.put(self._push_account)

    def query_position(self) -> None:
        """Publish every position."""
        self._jobs.put(self._push_positions)

    def query_history(self, req: HistoryRequest) -> list[BarData]:
        """Bars drawn on a random walk from the contract's start price."""
        market = self.markets.get(req.vt_symbol)
        seconds = INTERVAL_SECONDS.get(req.interval or Interval.MINUTE)
        if market is None or seconds is None:
            return []
        end = req.end or datetime.now(TZ)
        first = math.ceil(req.start.timestamp() / seconds)
        last = math.ceil(end.timestamp() / seconds) - 1
        rng = random.Random(f"{req.vt_symbol}{first}")
        price, bars = market.price(market.bid), []
        tick = market.contract.pricetick
        for k in range(max(first, last - 9999), last + 1):
            close = round(price * (1 + rng.uniform(-0.002, 0.002)) / tick) * tick
            bars.append(
                BarData(
                    gateway_name=self.gateway_name,
                    symbol=market.contract.symbol,
                    exchange=market.contract.exchange,
                    datetime=datetime.fromtimestamp(k * seconds, TZ),
                    interval=req.interval,
                    volume=float(rng.randint(1, 100)),
                    open_price=price,
                    high_price=max(price, close) + tick,
                    low_price=min(price, close) - tick,
                    close_price=close,
                )
            )
            price = close
        return bars

    # --------------------------------------------------------------- exchange thread

    def _next_id(self) -> str:
        with self._ids_lock:
            return f"{self._session or 'x'}_{next(self._ids)}"

    def _run(self) -> None:
        for contract, _ in contracts(self.gateway_name):
            self.on_contract(contract)
        self._push_account()
        self.write_log(f"connected: {len(self.markets)} contracts")
        next_step = time.monotonic()
        while self._active:
            with contextlib.suppress(queue.Empty):
                self._jobs.get(timeout=max(0.0, next_step - time.monotonic()))()
            if time.monotonic() >= next_step:
                self._step()
                next_step = max(next_step + self.period, time.monotonic() - self.period)

    def _subscribe(self, vt_symbol: str) -> None:
        if vt_symbol not in self.markets:
            self.write_log(f"subscribe: unknown contract {vt_symbol}")
            return
        self.subscribed.add(vt_symbol)
        self.on_tick(self.markets[vt_symbol].tick(self.gateway_name))

    def _step(self) -> None:
        live = self.subscribed | {o.vt_symbol for o in self.resting.values()}
        for vt_symbol in live:
            market = self.markets[vt_symbol]
            market.step()
            if vt_symbol in self.subscribed:
                self.on_tick(market.tick(self.gateway_name))
            for order in [o for o in self.resting.values() if o.vt_symbol == vt_symbol]:
                self._match(order, market)

    def _accept(self, order: OrderData) -> None:
        market = self.markets.get(order.vt_symbol)
        reason = self._refusal(order, market)
        if reason or market is None:
            order.status = Status.REJECTED
            self.on_order(copy(order))
            self.write_log(f"order {order.vt_orderid} rejected: {reason}")
            return
        order.status = Status.NOTTRADED
        self.resting[order.orderid] = order
        self.on_order(copy(order))
        if not self._match(order, market):
            self._push_account()

    def _refusal(self, order: OrderData, market: Market | None) -> str:
        if market is None:
            return "unknown contract"
        if order.offset in (Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY):
            held = self.holdings.get((order.vt_symbol, _opposite(order.direction)), Holding())
            pending = sum(
                o.volume
                for o in self.resting.values()
                if o.vt_symbol == order.vt_symbol
                and o.direction == order.direction
                and o.offset is not Offset.OPEN
            )
            if held.volume - pending < order.volume:
                return "not enough position to close"
            return ""
        if self._margin(order) > self._balance() - self._frozen():
            return "not enough funds"
        return ""

    def _match(self, order: OrderData, market: Market) -> bool:
        if order.direction is Direction.LONG:
            crosses = order.type is OrderType.MARKET or order.price >= market.price(market.ask)
            fill = market.ask
        else:
            crosses = order.type is OrderType.MARKET or order.price <= market.price(market.bid)
            fill = market.bid
        if crosses:
            self._fill(order, market, market.price(fill))
        return crosses

    def _fill(self, order: OrderData, market: Market, price: float) -> None:
        self.resting.pop(order.orderid, None)
        size = market.contract.size
        trade = TradeData(
            gateway_name=self.gateway_name,
            symbol=order.symbol,
            exchange=order.exchange,
            orderid=order.orderid,
            tradeid=f"{self._session}_t{next(self._ids)}",
            direction=order.direction,
            offset=order.offset,
            price=price,
            volume=order.volume,
            datetime=datetime.now(TZ),
        )
        order.traded, order.status = order.volume, Status.ALLTRADED
        self.realized -= price * order.volume * size * COMMISSION_RATE
        if order.offset in (Offset.OPEN, Offset.NONE):
            held = self.holdings.setdefault((order.vt_symbol, order.direction), Holding())
            held.price = (held.price * held.volume + price * order.volume) / (
                held.volume + order.volume
            )
            held.volume += order.volume
            moved = order.direction
        else:
            moved = _opposite(order.direction)
            held = self.holdings[(order.vt_symbol, moved)]
            sign = 1 if moved is Direction.LONG else -1
            self.realized += sign * (price - held.price) * order.volume * size
            held.volume -= order.volume
        market.last = market.bid if order.direction is Direction.SHORT else market.ask
        self.on_trade(trade)
        self.on_order(copy(order))
        self.on_position(self._position(order.vt_symbol, moved))
        self._push_account()

    def _cancel(self, orderid: str) -> None:
        order = self.resting.pop(orderid, None)
        if order is None:
            self.write_log(f"cancel refused: order {orderid} is not active")
            return
        order.status = Status.CANCELLED
        self.on_order(copy(order))
        self._push_account()

    # ---------------------------------------------------------------- book-keeping

    def _margin(self, order: OrderData) -> float:
        market = self.markets[order.vt_symbol]
        price = order.price if order.type is not OrderType.MARKET else market.price(market.ask)
        return price * order.volume * market.contract.size * MARGIN_RATE

    def _balance(self) -> float:
        return self.capital + self.realized

    def _frozen(self) -> float:
        held = sum(
            h.price * h.volume * self.markets[vt].contract.size * MARGIN_RATE
            for (vt, _), h in self.holdings.items()
        )
        pending = sum(
            self._margin(o) for o in self.resting.values() if o.offset in (Offset.OPEN, Offset.NONE)
        )
        return held + pending

    def _position(self, vt_symbol: str, direction: Direction) -> PositionData:
        market = self.markets[vt_symbol]
        held = self.holdings.get((vt_symbol, direction), Holding())
        sign = 1 if direction is Direction.LONG else -1
        last = market.price(market.last)
        return PositionData(
            gateway_name=self.gateway_name,
            symbol=market.contract.symbol,
            exchange=market.contract.exchange,
            direction=direction,
            volume=held.volume,
            price=held.price,
            pnl=sign * (last - held.price) * held.volume * market.contract.size,
        )

    def _push_account(self) -> None:
        self.on_account(
            AccountData(
                gateway_name=self.gateway_name,
                accountid=self.accountid,
                balance=round(self._balance(), 2),
                frozen=round(self._frozen(), 2),
            )
        )

    def _push_positions(self) -> None:
        for vt_symbol, direction in list(self.holdings):
            self.on_position(self._position(vt_symbol, direction))


def _opposite(direction: Direction | None) -> Direction:
    return Direction.SHORT if direction is Direction.LONG else Direction.LONG
