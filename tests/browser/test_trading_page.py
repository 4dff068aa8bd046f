"""The trading page end to end: Chromium, the gateway serving the page, a real engine.

Each test trades on a fresh engine (``fresh_bridge``), chosen in the page's engine picker,
so what the tables show is that test's own doing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.trading_page import (
    WAIT,
    login,
    order_row,
    pick_contract,
    pick_engine,
    send,
    ticket,
)
from tests.support.processes import Bridge, Gateway

RB = "rb2601.SHFE"
RB_LIMIT_UP = "3745"  # a buy here always crosses at once (docs/sim-engine.md)
RB_LIMIT_DOWN = "3255"  # a buy here always rests
AT_LEAST_5 = re.compile(r"^([5-9]|\d\d+)$")
AT_LEAST_60 = re.compile(r"^([6-9]\d|\d\d\d+)$")
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "trading-page.png"


def test_trader_sees_ticks_and_a_crossing_order_fills_into_a_trade_and_position(
    context_factory: Callable[..., Page],
    web_gateway: Gateway,
    fresh_bridge: Bridge,
    shots: Callable[[Page, str], Path],
) -> None:
    page = context_factory()
    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    page.fill("#contract-search", "rb")
    expect(page.locator("button.contract")).to_have_count(1)
    pick_contract(page, RB)

    # ticks keep arriving: the quote, book and chart are redrawn tick after tick
    quote = page.locator("#quote-body")
    expect(quote).to_have_attribute("data-ticks", AT_LEAST_5, timeout=WAIT)
    for level in ("ask1", "ask5", "bid1", "bid5"):
        price = page.locator(f"#book-body tr[data-level='{level}'] td.price")
        expect(price).to_have_text(re.compile(r"^\d[\d,]*$"))
    expect(page.locator("#ticket-limits")).to_contain_text("3,255 \u2013 3,745")

    ticket(page, price=RB_LIMIT_UP)
    vt_orderid = send(page)
    expect(order_row(page, "all-orders", vt_orderid)).to_have_attribute(
        "data-status", "ALLTRADED", timeout=WAIT
    )
    expect(page.locator(f"#trades tbody tr[data-order='{vt_orderid}']")).to_have_count(
        1, timeout=WAIT
    )
    position = page.locator(f"#positions tbody tr[data-id$='{RB}.LONG']")
    expect(position.locator(".volume")).to_have_text("1", timeout=WAIT)
    expect(order_row(page, "active-orders", vt_orderid)).to_have_count(0)
    expect(page.locator("#accounts tbody tr")).to_have_count(1)

    # a resting order too, so the picture shows every table filled
    ticket(page, price=RB_LIMIT_DOWN, volume="2")
    resting = send(page)
    expect(order_row(page, "active-orders", resting)).to_have_count(1, timeout=WAIT)
    expect(quote).to_have_attribute("data-ticks", AT_LEAST_60, timeout=WAIT)  # a fuller chart
    shots(page, "desktop")
    if os.environ.get("WEBTRADER_UPDATE_SCREENSHOT"):  # refresh the README's picture
        page.screenshot(path=README_SHOT)


def test_ticket_refuses_what_the_contract_cannot_take_and_shows_the_servers_verdict(
    context_factory: Callable[..., Page], web_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    page = context_factory()
    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    pick_contract(page, RB)
    error = page.locator("#ticket-error")

    # checked in the page: nothing is sent
    for price, volume, field, message in [
        ("3500.5", "1", "price", "multiple of 1"),
        ("3800", "1", "price", "above the limit up 3745"),
        ("3200", "1", "price", "below the limit down 3255"),
        ("3500", "0", "volume", "> 0"),
        ("3500", "1.5", "volume", "multiple of 1"),
        ("", "1", "price", "> 0"),
    ]:
        ticket(page, price=price, volume=volume)
        page.click("#ticket-submit")
        expect(error).to_have_attribute("data-field", field)
        expect(error).to_contain_text(message)
        expect(page.locator(f"#ticket-{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#all-orders tbody tr.empty")).to_have_count(1)

    # the page's copy of the contract is stale (a finer tick than the engine's): the engine
    # refuses the order, and the page shows its ErrorBody, marking the field it names
    page.evaluate(
        "webtraderApp.ticket.contract = {...webtraderApp.ticket.contract, pricetick: 0.5}"
    )
    ticket(page, price="3500.5")
    page.click("#ticket-submit")
    expect(error).to_contain_text("price 3500.5 is not on the price grid", timeout=WAIT)
    expect(error).to_have_attribute("data-field", "price")
    expect(page.locator("#all-orders tbody tr.empty")).to_have_count(1)


def test_viewer_is_shown_the_servers_403_when_sending_an_order(
    context_factory: Callable[..., Page], web_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    page = context_factory()
    login(page, web_gateway.url, user="viewer")
    pick_engine(page, fresh_bridge.engine_id)
    pick_contract(page, RB)
    ticket(page, price=RB_LIMIT_DOWN)
    page.click("#ticket-submit")
    expect(page.locator("#ticket-error")).to_contain_text(
        "role 'viewer', which may not submit or cancel orders", timeout=WAIT
    )
    expect(page.locator("#all-orders tbody tr.empty")).to_have_count(1)


def test_resting_orders_are_cancelled_one_by_one_and_all_at_once(
    context_factory: Callable[..., Page], web_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    page = context_factory()
    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    pick_contract(page, RB)

    ticket(page, price=RB_LIMIT_DOWN)
    first = send(page)
    row = order_row(page, "active-orders", first)
    expect(row).to_have_attribute("data-status", "NOTTRADED", timeout=WAIT)
    row.locator("button").click()
    expect(row).to_have_count(0, timeout=WAIT)
    expect(order_row(page, "all-orders", first)).to_have_attribute("data-status", "CANCELLED")

    ids = []
    for volume in ("1", "2"):
        ticket(page, price=RB_LIMIT_DOWN, volume=volume)
        ids.append(send(page))
    expect(page.locator("#active-orders tbody tr[data-id]")).to_have_count(2, timeout=WAIT)
    page.click("#cancel-all")
    expect(page.locator("#active-orders tbody tr[data-id]")).to_have_count(0, timeout=WAIT)
    for vt_orderid in ids:
        expect(order_row(page, "all-orders", vt_orderid)).to_have_attribute(
            "data-status", "CANCELLED"
        )
    expect(page.locator("#cancel-all")).to_be_disabled()
    expect(page.locator("#orders-error")).to_be_empty()


def test_engine_picker_shows_an_engine_going_down(
    context_factory: Callable[..., Page], web_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    page = context_factory()
    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    fresh_bridge.stop()
    expect(page.locator("#engine-status")).to_have_attribute("data-status", "down", timeout=WAIT)
    option = page.locator(f"#engine-select option[value='{fresh_bridge.engine_id}']")
    expect(option).to_have_attribute("data-status", "down")
