"""Order checks against the contract: each refusal names its field."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import msgspec
import pytest

from schemas import ContractData, Direction, Exchange, OrderRequest, OrderType, Product
from schemas.errors import UnprocessableError
from schemas.requests import HistoryRequest
from schemas.validation import DEFAULT_MAX_VOLUME, history_window, on_grid, validate_order

REBAR = ContractData(
    symbol="rb2601",
    exchange=Exchange.SHFE,
    name="rebar",
    product=Product.FUTURES,
    size=10,
    pricetick=1.0,
    min_volume=1,
    max_volume=500,
    limit_up=3800,
    limit_down=3200,
)
STOCK = ContractData(
    symbol="600036",
    exchange=Exchange.SSE,
    name="CMB",
    product=Product.EQUITY,
    size=1,
    pricetick=0.01,
    min_volume=100,
)


def order(
    volume: float = 1,
    price: float = 3500,
    type_: OrderType = OrderType.LIMIT,
    symbol: str = "rb2601",
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        exchange=Exchange.SHFE,
        direction=Direction.LONG,
        type=type_,
        volume=volume,
        price=price,
    )


def test_valid_order_passes() -> None:
    validate_order(order(), REBAR)
    validate_order(order(volume=200, price=40.01), STOCK)
    validate_order(order(price=0, type_=OrderType.MARKET), REBAR)


@pytest.mark.parametrize(
    ("req", "contract", "field"),
    [
        (order(volume=0), REBAR, "volume"),
        (order(volume=-1), REBAR, "volume"),
        (order(volume=math.nan), REBAR, "volume"),
        (order(volume=math.inf), REBAR, "volume"),
        (order(volume=501), REBAR, "volume"),
        (order(volume=1.5), REBAR, "volume"),
        (order(volume=50, price=40), STOCK, "volume"),
        (order(volume=150, price=40), STOCK, "volume"),
        (order(volume=DEFAULT_MAX_VOLUME + 100, price=40), STOCK, "volume"),
        (order(price=-1), REBAR, "price"),
        (order(price=math.nan), REBAR, "price"),
        (order(price=3500.5), REBAR, "price"),
        (order(price=0), REBAR, "price"),
        (order(price=3801), REBAR, "price"),
        (order(price=3199), REBAR, "price"),
        (order(volume=100, price=40.005), STOCK, "price"),
    ],
)
def test_refusals_name_the_field(req: OrderRequest, contract: ContractData, field: str) -> None:
    with pytest.raises(UnprocessableError) as err:
        validate_order(req, contract)
    assert err.value.field == field
    assert err.value.code == 422


@pytest.mark.parametrize(("value", "step"), [(40.01, 0.01), (3500.2, 0.2), (0.3, 0.1), (5, 0)])
def test_on_grid_tolerates_float_noise(value: float, step: float) -> None:
    assert on_grid(value, step)


def test_off_grid_is_detected() -> None:
    assert not on_grid(40.005, 0.01)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "end"),
        ("0001-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "start"),
    ],
)
def test_bars_far_outside_history_are_422_naming_the_date(start: str, end: str, field: str) -> None:
    body = f'{{"symbol":"rb2601","exchange":"SHFE","start":"{start}","end":"{end}"}}'
    req = msgspec.json.decode(body, type=HistoryRequest)
    with pytest.raises(UnprocessableError) as refused:
        history_window(req, datetime.now(UTC))
    assert refused.value.field == field
