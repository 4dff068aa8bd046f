"""The simulated market: random walk on the price grid, 5-level book, reproducible paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine_bridge.sim.contracts import default_specs
from schemas.enums import Exchange, Product
from schemas.validation import on_grid
from tests.unit._sim import exchange

NOW = datetime(2025, 1, 2, 9, 30, tzinfo=UTC)


def test_contracts_cover_futures_and_stocks_on_at_least_three_exchanges() -> None:
    contracts = [s.contract for s in default_specs()]
    assert len(contracts) >= 6
    assert len({c.exchange for c in contracts}) >= 3
    assert {c.product for c in contracts} >= {Product.FUTURES, Product.EQUITY}
    by_vt = {c.vt_symbol: c for c in contracts}
    assert by_vt["rb2601.SHFE"].size == 10
    assert by_vt["au2606.SHFE"].pricetick == 0.02
    assert by_vt["600036.SSE"].min_volume == 100
    assert by_vt["BRK.B.SMART"].exchange is Exchange.SMART
    for c in contracts:
        assert c.gateway_name == "SIM"
        assert c.limit_down is not None
        assert c.limit_up is not None
        assert 0 < c.limit_down < c.limit_up
        assert on_grid(c.limit_down, c.pricetick)
        assert on_grid(c.limit_up, c.pricetick)


@pytest.mark.parametrize("vt_symbol", [s.contract.vt_symbol for s in default_specs()])
def test_ticks_stay_on_the_price_grid_inside_the_limits(vt_symbol: str) -> None:
    market = exchange(seed=3).markets[vt_symbol]
    c = market.spec.contract
    assert c.limit_down is not None
    assert c.limit_up is not None
    for _ in range(1500):
        market.step()
        tick = market.tick(NOW)
        bids = [
            tick.bid_price_1,
            tick.bid_price_2,
            tick.bid_price_3,
            tick.bid_price_4,
            tick.bid_price_5,
        ]
        asks = [
            tick.ask_price_1,
            tick.ask_price_2,
            tick.ask_price_3,
            tick.ask_price_4,
            tick.ask_price_5,
        ]
        bid_vols = [
            tick.bid_volume_1,
            tick.bid_volume_2,
            tick.bid_volume_3,
            tick.bid_volume_4,
            tick.bid_volume_5,
        ]
        shown_bids = [p for p in bids if p]
        shown_asks = [p for p in asks if p]
        assert shown_bids
        assert shown_asks
        for price in [tick.last_price, *shown_bids, *shown_asks]:
            assert on_grid(price, c.pricetick), price
            assert c.limit_down <= price <= c.limit_up
        assert shown_bids == sorted(shown_bids, reverse=True)
        assert shown_asks == sorted(shown_asks)
        assert shown_asks[0] > shown_bids[0]
        for volume in bid_vols[: len(shown_bids)]:
            assert volume > 0
            assert on_grid(volume, c.min_volume)


def test_best_ask_is_never_above_limit_up_nor_best_bid_below_limit_down() -> None:
    market = exchange().markets["rb2601.SHFE"]
    up = market.ticks_of(market.spec.contract.limit_up or 0)
    down = market.ticks_of(market.spec.contract.limit_down or 0)
    for start in (up + 5, up, down, down - 5):
        market.bid1 = start
        for _ in range(50):
            market.step()
            assert market.asks[0].ticks <= up
            assert market.bids[0].ticks >= down
            assert market.asks[0].ticks > down


def test_same_seed_gives_the_same_price_path_and_another_seed_another() -> None:
    def path(seed: int) -> list[float]:
        market = exchange(seed).markets["au2606.SHFE"]
        out = []
        for _ in range(200):
            market.step()
            out.append(market.tick(NOW).last_price)
        return out

    assert path(11) == path(11)
    assert path(11) != path(12)


def test_a_contracts_path_does_not_depend_on_other_contracts_stepping() -> None:
    alone, busy = exchange(5), exchange(5)
    busy.subscribe("IF2512.CFFEX")
    busy.subscribe("rb2601.SHFE")
    alone.subscribe("rb2601.SHFE")
    for _ in range(100):
        alone.step()
        busy.step()
    assert alone.last_ticks["rb2601.SHFE"].last_price == busy.last_ticks["rb2601.SHFE"].last_price


def test_ticks_are_made_only_for_subscribed_contracts() -> None:
    ex = exchange()
    first = ex.subscribe("BRK.B.SMART")
    assert [obj.vt_symbol for _, obj in first] == ["BRK.B.SMART"]  # type: ignore[union-attr]
    assert ex.subscribe("BRK.B.SMART") == []  # idempotent: no second first tick
    for _ in range(20):
        events = ex.step()
        assert {obj.vt_symbol for _, obj in events} == {"BRK.B.SMART"}  # type: ignore[union-attr]
    assert list(ex.last_ticks) == ["BRK.B.SMART"]
