"""Positions and the one account of the simulated exchange.

Funds model: ``balance`` starts at :data:`INITIAL_BALANCE` and moves by realized P&L and
commissions.  ``frozen`` is the margin held by open positions (at their average price)
plus the funds frozen for the unfilled part of pending opening orders; ``available`` is
``balance - frozen``.  A position's ``frozen`` is the volume that pending closing orders
will take from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine_bridge.sim.contracts import SimSpec
from schemas.enums import Direction, Exchange, Offset
from schemas.objects import AccountData, PositionData

INITIAL_BALANCE = 10_000_000.0
ACCOUNT_ID = "SIM"

_EPS = 1e-9
_CLOSING = frozenset({Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY})

PositionKey = tuple[str, Direction]
"""``(vt_symbol, direction)``: direction is LONG/SHORT (futures) or NET (stocks)."""


@dataclass
class Holding:
    """One position's state; ``margin`` is the funds it holds frozen."""

    symbol: str
    exchange: Exchange
    direction: Direction
    size: float
    volume: float = 0.0
    price: float = 0.0
    frozen: float = 0.0
    margin: float = 0.0
    opened: bool = False
    """True once anything was bought into it (positions never opened are not listed)."""

    @property
    def closable(self) -> float:
        """Volume not yet promised to a pending closing order."""
        return self.volume - self.frozen


@dataclass
class FundsFreeze:
    """Funds frozen by a pending opening order: ``per_unit`` for each unfilled unit."""

    per_unit: float
    remaining: float


class Portfolio:
    """Positions and account; every method is synchronous and cheap."""

    def __init__(
        self,
        gateway_name: str,
        accountid: str = ACCOUNT_ID,
        balance: float = INITIAL_BALANCE,
    ) -> None:
        self.gateway_name = gateway_name
        self.accountid = accountid
        self.balance = balance
        self.holdings: dict[PositionKey, Holding] = {}
        self.freezes: dict[str, FundsFreeze] = {}
        self._margin = 0.0  # running sum of holdings' margin
        self._funds = 0.0  # running sum of freezes' per_unit * remaining

    # ------------------------------------------------------------------------------ funds

    @property
    def frozen(self) -> float:
        """Position margin plus funds frozen for pending opening orders (O(1))."""
        return self._margin + self._funds

    def recompute(self) -> None:
        """Recompute the running sums after ``holdings`` or ``freezes`` were set directly."""
        self._margin = sum(h.margin for h in self.holdings.values())
        self._funds = sum(f.per_unit * f.remaining for f in self.freezes.values())

    @property
    def available(self) -> float:
        """``balance - frozen``."""
        return self.balance - self.frozen

    def freeze_funds(self, vt_orderid: str, per_unit: float, volume: float) -> str | None:
        """Freeze ``per_unit * volume`` for an opening order; return a reason if short of funds."""
        needed = per_unit * volume
        available = self.available
        if needed > available + _EPS:
            return f"insufficient funds: needs {needed:,.2f}, available {available:,.2f}"
        self.freezes[vt_orderid] = FundsFreeze(per_unit, volume)
        self._funds += needed
        return None

    def release_funds(self, vt_orderid: str, volume: float | None = None) -> bool:
        """Release the freeze of ``volume`` units (all if None); True if anything changed."""
        freeze = self.freezes.get(vt_orderid)
        if freeze is None:
            return False
        released = freeze.remaining if volume is None else min(volume, freeze.remaining)
        freeze.remaining -= released
        self._funds -= freeze.per_unit * released
        if freeze.remaining <= _EPS:
            del self.freezes[vt_orderid]
            if not self.freezes:
                self._funds = 0.0  # no drift survives the last freeze
        return True

    def charge(self, amount: float) -> None:
        """Take a commission from the balance."""
        self.balance -= amount

    def account(self) -> AccountData:
        """The account as an :class:`AccountData` (``available`` computed by it)."""
        return AccountData(
            gateway_name=self.gateway_name,
            accountid=self.accountid,
            balance=round(self.balance, 2),
            frozen=round(self.frozen, 2),
        )

    # -------------------------------------------------------------------------- positions

    def holding(self, key: PositionKey, *, symbol: str, exchange: Exchange, size: float) -> Holding:
        """The holding of ``key`` (created empty on first use)."""
        h = self.holdings.get(key)
        if h is None:
            h = self.holdings[key] = Holding(symbol, exchange, key[1], size)
        return h

    def holding_for(
        self, spec: SimSpec, direction: Direction, offset: Offset
    ) -> tuple[bool, Holding]:
        """Whether an order closes, and the holding it opens or closes.

        Stocks hold one NET position: LONG buys, SHORT sells what is held (offset ignored).
        Futures open in the order's direction with OPEN (or NONE) and close the opposite
        direction with CLOSE, CLOSETODAY or CLOSEYESTERDAY (no today/yesterday split).
        """
        c = spec.contract
        if spec.is_stock:
            closing, held = direction is Direction.SHORT, Direction.NET
        elif offset in _CLOSING:
            closing = True
            held = Direction.LONG if direction is Direction.SHORT else Direction.SHORT
        else:
            closing, held = False, direction
        key = (c.vt_symbol, held)
        return closing, self.holding(key, symbol=c.symbol, exchange=c.exchange, size=c.size)

    @staticmethod
    def freeze_close(h: Holding, volume: float) -> str | None:
        """Promise ``volume`` of ``h`` to a closing order; return a reason if not held."""
        if volume > h.closable + _EPS:
            return (
                f"cannot close {volume:g}: {h.direction.value} position holds {h.volume:g}, "
                f"{h.frozen:g} of it pending close"
            )
        h.frozen += volume
        return None

    @staticmethod
    def release_close(h: Holding, volume: float) -> None:
        """Give back ``volume`` promised to a closing order that will not fill."""
        h.frozen = max(0.0, h.frozen - volume)

    def open(self, h: Holding, price: float, volume: float, margin: float) -> None:
        """Add ``volume`` at ``price`` holding ``margin`` more funds; average the price."""
        total = h.volume + volume
        h.price = (h.price * h.volume + price * volume) / total
        h.volume = total
        h.margin += margin
        self._margin += margin
        h.opened = True

    def close(self, h: Holding, price: float, volume: float) -> float:
        """Take ``volume`` (promised before) out of ``h`` at ``price``; return realized P&L."""
        sign = -1.0 if h.direction is Direction.SHORT else 1.0
        pnl = sign * (price - h.price) * volume * h.size
        share = volume / h.volume if h.volume > _EPS else 1.0
        released = h.margin * share
        h.volume -= volume
        h.frozen = max(0.0, h.frozen - volume)
        if h.volume <= _EPS:
            released = h.margin
            h.volume = h.price = 0.0
        h.margin -= released
        self._margin -= released
        self.balance += pnl
        return pnl

    def position(self, h: Holding, last_price: float) -> PositionData:
        """``h`` as a :class:`PositionData`, ``pnl`` marked to ``last_price``."""
        sign = -1.0 if h.direction is Direction.SHORT else 1.0
        pnl = sign * (last_price - h.price) * h.volume * h.size if h.volume else 0.0
        return PositionData(
            gateway_name=self.gateway_name,
            symbol=h.symbol,
            exchange=h.exchange,
            direction=h.direction,
            volume=h.volume,
            frozen=h.frozen,
            price=round(h.price, 6),
            pnl=round(pnl, 2),
        )
