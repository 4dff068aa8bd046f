"""The simulated exchange's contracts and the market parameters of each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.enums import Exchange, Product
from schemas.objects import ContractData

GATEWAY_NAME = "SIM"
"""Gateway name of the simulator: ``vt_orderid`` is ``SIM.1``, ``SIM.2``, ..."""


@dataclass(frozen=True, kw_only=True)
class SimSpec:
    """A contract plus how the simulator trades it.

    ``limit_up``/``limit_down`` of the contract bound the random walk; ``margin_rate`` is the
    share of notional (``price * size * volume``) frozen for an open position or a pending
    opening order (1.0 for stocks: bought with cash); ``commission_rate`` is charged on the
    notional of every fill; each book level shows ``1..depth`` lots of ``min_volume``.
    """

    contract: ContractData
    start_price: float
    margin_rate: float
    commission_rate: float
    depth: int = 20
    step: int = 2
    """Most ticks the price moves in one step of the random walk."""

    @property
    def is_stock(self) -> bool:
        """Net-position contract (stock): buy with LONG, sell what is held with SHORT."""
        return self.contract.net_position


def _futures(
    symbol: str,
    exchange: Exchange,
    name: str,
    *,
    size: float,
    pricetick: float,
    price: float,
    limit_pct: float,
    margin_rate: float,
    gateway_name: str,
) -> SimSpec:
    down, up = _limits(price, pricetick, limit_pct)
    return SimSpec(
        contract=ContractData(
            gateway_name=gateway_name,
            symbol=symbol,
            exchange=exchange,
            name=name,
            product=Product.FUTURES,
            size=float(size),
            pricetick=float(pricetick),
            min_volume=1.0,
            max_volume=1000.0,
            limit_up=up,
            limit_down=down,
            history_data=False,
        ),
        start_price=price,
        margin_rate=margin_rate,
        commission_rate=0.0001,
        depth=30,
    )


def _stock(
    symbol: str,
    exchange: Exchange,
    name: str,
    *,
    price: float,
    limit_pct: float,
    min_volume: float,
    gateway_name: str,
) -> SimSpec:
    down, up = _limits(price, 0.01, limit_pct)
    return SimSpec(
        contract=ContractData(
            gateway_name=gateway_name,
            symbol=symbol,
            exchange=exchange,
            name=name,
            product=Product.EQUITY,
            size=1.0,
            pricetick=0.01,
            min_volume=float(min_volume),
            max_volume=1_000_000.0,
            limit_up=up,
            limit_down=down,
            net_position=True,
        ),
        start_price=price,
        margin_rate=1.0,
        commission_rate=0.0003,
        depth=50,
    )


def _limits(price: float, pricetick: float, pct: float) -> tuple[float, float]:
    """Price limits ``price * (1 -/+ pct)`` snapped inward to the price grid."""
    digits = price_digits(pricetick)
    ticks = round(price / pricetick)
    band = int(ticks * pct)
    return (
        float(round((ticks - band) * pricetick, digits)),
        float(round((ticks + band) * pricetick, digits)),
    )


def price_digits(pricetick: float) -> int:
    """Decimal places needed to print prices on the grid of ``pricetick``."""
    text = f"{pricetick:.10f}".rstrip("0")
    return len(text.partition(".")[2])


def default_specs(gateway_name: str = GATEWAY_NAME) -> list[SimSpec]:
    """The simulator's contracts: futures on SHFE, CFFEX, DCE; stocks on SSE, SZSE, SMART."""
    g = gateway_name
    return [
        _futures(
            "rb2601",
            Exchange.SHFE,
            "螺纹钢2601 rebar",
            size=10,
            pricetick=1,
            price=3500,
            limit_pct=0.07,
            margin_rate=0.10,
            gateway_name=g,
        ),
        _futures(
            "au2606",
            Exchange.SHFE,
            "黄金2606 gold",
            size=1000,
            pricetick=0.02,
            price=920,
            limit_pct=0.08,
            margin_rate=0.12,
            gateway_name=g,
        ),
        _futures(
            "IF2512",
            Exchange.CFFEX,
            "沪深300股指2512 CSI 300 index",
            size=300,
            pricetick=0.2,
            price=4600,
            limit_pct=0.10,
            margin_rate=0.12,
            gateway_name=g,
        ),
        _futures(
            "m2605",
            Exchange.DCE,
            "豆粕2605 soybean meal",
            size=10,
            pricetick=1,
            price=2900,
            limit_pct=0.06,
            margin_rate=0.08,
            gateway_name=g,
        ),
        _stock(
            "600036",
            Exchange.SSE,
            "招商银行 China Merchants Bank",
            price=42,
            limit_pct=0.10,
            min_volume=100,
            gateway_name=g,
        ),
        _stock(
            "000001",
            Exchange.SZSE,
            "平安银行 Ping An Bank",
            price=11.5,
            limit_pct=0.10,
            min_volume=100,
            gateway_name=g,
        ),
        _stock(
            "BRK.B",
            Exchange.SMART,
            "Berkshire Hathaway Class B",
            price=480,
            limit_pct=0.20,
            min_volume=1,
            gateway_name=g,
        ),
    ]


def select_specs(vt_symbols: Iterable[str], gateway_name: str = GATEWAY_NAME) -> list[SimSpec]:
    """The default contracts named in ``vt_symbols`` (all of them when it is empty).

    Raises:
        ValueError: a name is not one of the simulator's contracts (the message lists them).
    """
    specs = default_specs(gateway_name)
    wanted = list(dict.fromkeys(vt_symbols))
    if not wanted:
        return specs
    by_name = {spec.contract.vt_symbol: spec for spec in specs}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise ValueError(
            f"unknown contract(s) {', '.join(unknown)}; the simulator trades {', '.join(by_name)}"
        )
    return [by_name[name] for name in wanted]
