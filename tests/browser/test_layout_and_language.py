"""The page on a phone-width screen, and in Chinese and English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.trading_page import (
    WAIT,
    login,
    open_page,
    order_row,
    pick_contract,
    pick_engine,
    send,
    ticket,
)
from tests.support.processes import Bridge, Gateway

PHONE = {"width": 390, "height": 844}


def test_phone_width_page_fits_the_screen_and_trades(
    context_factory: Callable[..., Page],
    web_gateway: Gateway,
    fresh_bridge: Bridge,
    shots: Callable[[Page, str], Path],
) -> None:
    page = context_factory(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    pick_contract(page, "au2606.SHFE", search="au")

    # one column: nothing wider than the screen (tables scroll inside their cards)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    quote, ticket_card = page.locator("section.quote"), page.locator("section.ticket")
    quote_box, ticket_box = quote.bounding_box(), ticket_card.bounding_box()
    assert quote_box is not None
    assert ticket_box is not None
    assert ticket_box["y"] >= quote_box["y"] + quote_box["height"], "cards should stack"
    assert ticket_box["width"] <= PHONE["width"]

    ticket(page, price="993.60")  # gold's limit up: a buy there fills at once
    vt_orderid = send(page)
    expect(order_row(page, "all-orders", vt_orderid)).to_have_attribute(
        "data-status", "ALLTRADED", timeout=WAIT
    )
    page.locator("#ticket-result").scroll_into_view_if_needed()
    shots(page, "phone")


def test_language_follows_the_browser_and_switches_every_label(
    context_factory: Callable[..., Page], web_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    page = context_factory(locale="zh-CN")
    open_page(page, web_gateway.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#login-submit")).to_have_text("登录")

    login(page, web_gateway.url)
    pick_engine(page, fresh_bridge.engine_id)
    pick_contract(page, "rb2601.SHFE")
    ticket(page, price="3745")
    vt_orderid = send(page)
    status = order_row(page, "all-orders", vt_orderid).locator("td").nth(7)
    expect(status).to_have_text("全部成交", timeout=WAIT)  # VeighNa's own Chinese value
    expect(page.locator("#connection-text")).to_have_text("实时")
    expect(page.locator("#ticket-submit")).to_have_text("下单")
    expect(page.locator("#ticket-type option[value='LIMIT']")).to_have_text("限价")

    page.select_option("#lang-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(status).to_have_text("All traded")
    expect(page.locator("#connection-text")).to_have_text("Live")
    expect(page.locator("#ticket-submit")).to_have_text("Send order")
    expect(page.locator("#ticket-type option[value='LIMIT']")).to_have_text("Limit")
    expect(page.locator("[data-i18n='active_orders']")).to_have_text("Active orders")

    page.reload()  # the choice is remembered over the browser's language
    expect(page.locator("#ticket-submit")).to_have_text("Send order", timeout=WAIT)
