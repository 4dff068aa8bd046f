"""What a user does on the trading page, as Playwright steps (the tests' vocabulary).

Every wait is Playwright's ``expect`` with a timeout: the page is asynchronous (a socket,
REST calls), and the tests assert what it ends up showing, never how fast.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import USERS

WAIT = 20_000
"""ms to wait for something the page must show (well above normal, for a busy CI)."""


def open_page(page: Page, base_url: str) -> None:
    """Load the page from the gateway."""
    page.goto(f"{base_url}/")
    expect(page.locator("#login-view")).to_be_visible(timeout=WAIT)


def login(page: Page, base_url: str, user: str = "trader") -> None:
    """Load the page and log in as ``user``; wait until the stream is live."""
    open_page(page, base_url)
    page.fill("#login-user", user)
    page.fill("#login-password", USERS[user])
    page.click("#login-submit")
    expect(page.locator("#trade-view")).to_be_visible(timeout=WAIT)
    expect_live(page)


def expect_live(page: Page, timeout: float = WAIT) -> None:
    """The connection badge says the stream is open."""
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=timeout)


def pick_engine(page: Page, engine_id: str) -> None:
    """Choose an engine in the picker (it must be listed as up)."""
    option = page.locator(f"#engine-select option[value='{engine_id}']")
    expect(option).to_have_attribute("data-status", "up", timeout=WAIT)
    page.select_option("#engine-select", engine_id)
    expect(page.locator("#engine-status")).to_have_attribute("data-status", "up", timeout=WAIT)


def pick_contract(page: Page, vt_symbol: str, search: str | None = None) -> None:
    """Search (optionally) and click a contract; wait for its first ticks."""
    if search is not None:
        page.fill("#contract-search", search)
    page.click(f"button.contract[data-vt-symbol='{vt_symbol}']")
    expect(page.locator("#ticket-symbol")).to_have_value(vt_symbol, timeout=WAIT)
    expect(page.locator("#quote-body")).to_be_visible(timeout=WAIT)


def ticket(page: Page, *, direction: str = "LONG", price: str = "", volume: str = "1") -> None:
    """Fill the order ticket (a LIMIT order unless the type was changed)."""
    page.click("#side-long" if direction == "LONG" else "#side-short")
    page.fill("#ticket-price", price)
    page.fill("#ticket-volume", volume)


def send(page: Page) -> str:
    """Press "send" and return the vt_orderid the page reports (fails on an error)."""
    result = page.locator("#ticket-result")
    page.click("#ticket-submit")
    expect(result).to_have_attribute("data-orderid", re.compile(r"^SIM\.\d+$"), timeout=WAIT)
    expect(page.locator("#ticket-error")).to_be_empty()
    return str(result.get_attribute("data-orderid"))


def order_row(page: Page, table: str, vt_orderid: str) -> Locator:
    """The row of an order in ``#active-orders`` or ``#all-orders``."""
    return page.locator(f"#{table} tbody tr[data-id='{vt_orderid}']")
