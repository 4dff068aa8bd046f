"""Rebuild a :class:`SimExchange` from its events stream (event sourcing after a restart).

The stream holds the last state of every order, position and account and every trade
(:class:`~engine_bridge.engine.RestoredState`); from them the exchange gets back:

* orders, oldest first, and the orderid counter; active orders rest again, an opening order
  with funds frozen for its untraded volume (margin rate x price x size per unit), a closing
  order with the volume it promised (already in its position's ``frozen``);
* trades and the tradeid counter; ``client_order_id`` -> order mapping;
* holdings (volume, frozen close volume, average price; margin recomputed at the average
  price, as it is kept, then matched to the account's ``frozen``) and the account balance;
* each market's last price (the newer of its last tick and its last trade) and, for
  contracts that had ticks, the session stats and the subscription.

Objects of another gateway or an unknown contract are skipped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from engine_bridge.engine import RestoredState
from engine_bridge.sim.exchange import OrderState, SimExchange
from engine_bridge.sim.portfolio import FundsFreeze
from schemas.objects import OrderData, TickData, TradeData

logger = logging.getLogger(__name__)

_Item = TypeVar("_Item", OrderData, TradeData, TickData)
_MARGIN_TOLERANCE = 1e-3


def restore_exchange(ex: SimExchange, state: RestoredState) -> None:
    """Put ``state`` (read from the events stream) back into a fresh ``ex``."""
    _restore_markets(ex, state.ticks, state.trades)
    _restore_portfolio(ex, state)
    trades = _own(ex, state.trades)
    ex.trades = list(trades)
    ex.trade_seq = max((_number(t.tradeid) for t in trades), default=0)
    for order in sorted(_own(ex, state.orders), key=_order_key):
        _restore_order(ex, order)
    ex.order_seq = max((_number(s.order.orderid) for s in ex.orders.values()), default=0)
    _match_account(ex, state)
    ex.portfolio.recompute()


def _own(ex: SimExchange, items: Iterable[_Item]) -> list[_Item]:
    """Items of this exchange's gateway on a known contract."""
    kept = []
    for item in items:
        if item.gateway_name != ex.gateway_name or item.vt_symbol not in ex.specs:
            logger.warning("not restored (other gateway or unknown contract): %r", item)
            continue
        kept.append(item)
    return kept


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _order_key(order: OrderData) -> tuple[int, datetime | None]:
    return _number(order.orderid), order.datetime


def _restore_markets(ex: SimExchange, ticks: list[TickData], trades: list[TradeData]) -> None:
    last_tick = {t.vt_symbol: t for t in _own(ex, ticks)}
    last_trade = {t.vt_symbol: t for t in _own(ex, trades)}
    for vt_symbol in last_tick.keys() | last_trade.keys():
        tick, trade = last_tick.get(vt_symbol), last_trade.get(vt_symbol)
        newer_trade = trade is not None and (
            tick is None or trade.datetime is None or trade.datetime >= tick.datetime
        )
        ex.markets[vt_symbol].resume(tick, trade.price if newer_trade and trade else None)
    for vt_symbol, tick in last_tick.items():
        ex.subscribed[vt_symbol] = None
        ex.last_ticks[vt_symbol] = tick


def _restore_portfolio(ex: SimExchange, state: RestoredState) -> None:
    p = ex.portfolio
    for account in state.accounts:
        if account.gateway_name == ex.gateway_name and account.accountid == p.accountid:
            p.balance = account.balance
    for pos in state.positions:
        spec = ex.specs.get(pos.vt_symbol)
        if spec is None or pos.gateway_name != ex.gateway_name:
            logger.warning("position not restored (other gateway or unknown contract): %r", pos)
            continue
        c = spec.contract
        key = (c.vt_symbol, pos.direction)
        h = p.holding(key, symbol=c.symbol, exchange=c.exchange, size=c.size)
        h.volume, h.frozen, h.price, h.opened = pos.volume, pos.frozen, pos.price, True
        h.margin = spec.margin_rate * pos.price * c.size * pos.volume


def _match_account(ex: SimExchange, state: RestoredState) -> None:
    """Scale the recomputed margins so the account's ``frozen`` is what it was.

    Margins recomputed from the (6-decimal) average prices can differ from the kept ones
    by rounding; the account snapshot says what they summed to.  Applied only when the two
    agree to within 0.1 % (a crash between an action's events can make them disagree).
    """
    p = ex.portfolio
    accounts = [a for a in state.accounts if a.accountid == p.accountid]
    margin = sum(h.margin for h in p.holdings.values())
    if not accounts or margin <= 0:
        return
    target = accounts[-1].frozen - sum(f.per_unit * f.remaining for f in p.freezes.values())
    if abs(target - margin) <= margin * _MARGIN_TOLERANCE:
        for h in p.holdings.values():
            h.margin *= target / margin


def _restore_order(ex: SimExchange, order: OrderData) -> None:
    spec = ex.specs[order.vt_symbol]
    closing, holding = ex.portfolio.holding_for(spec, order.direction, order.offset)
    state = OrderState(order, spec, ex.markets[order.vt_symbol], holding, closing)
    ex.orders[order.vt_orderid] = state
    if order.client_order_id:
        ex.client_orders[order.client_order_id] = order.vt_orderid
    if not order.is_active():
        return
    ex.active[order.vt_orderid] = state
    if not closing:  # a closing order's promise is in its position's restored ``frozen``
        per_unit = spec.margin_rate * order.price * spec.contract.size
        ex.portfolio.freezes[order.vt_orderid] = FundsFreeze(per_unit, state.remaining)
