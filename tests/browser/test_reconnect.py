"""The page across a lost connection: reconnect with backoff, resume, resync, refresh.

The page's gateway is stopped and started again (same port, same signing key: the page's
token stays good, as in a real restart). While it is down, orders are placed, filled and
cancelled through *another* gateway on the same NATS — events the page can only learn by
resuming its subscriptions from the last ``seq`` it saw.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
from playwright.sync_api import Page, expect

from tests.browser.trading_page import (
    WAIT,
    expect_live,
    login,
    order_row,
    pick_contract,
    pick_engine,
    send,
    ticket,
)
from tests.support.processes import Bridge, Gateway, NatsServer

RECONNECT_WAIT = 45_000
"""ms: the page backs off (0.5 s doubling) while the gateway is down; allow a few rounds."""


def order_body(price: float) -> dict[str, Any]:
    return {
        "symbol": "rb2601",
        "exchange": "SHFE",
        "direction": "LONG",
        "type": "LIMIT",
        "offset": "OPEN",
        "volume": 1,
        "price": price,
    }


def test_order_events_while_disconnected_appear_after_reconnect_by_resuming(
    context_factory: Callable[..., Page],
    gateway_factory: Callable[..., Gateway],
    fresh_bridge: Bridge,
    other_http: httpx.Client,
    shots: Callable[[Page, str], Path],
) -> None:
    engine = fresh_bridge.engine_id
    page_gw = gateway_factory()
    page = context_factory()
    login(page, page_gw.url)
    pick_engine(page, engine)
    pick_contract(page, "rb2601.SHFE")
    ticket(page, price="3255")
    before = send(page)
    expect(order_row(page, "active-orders", before)).to_have_count(1, timeout=WAIT)

    page_gw.stop()
    badge = page.locator("#connection")
    expect(badge).to_have_attribute("data-state", re.compile("reconnecting|connecting"))
    shots(page, "disconnected")

    filled = other_http.post(f"/engines/{engine}/order", json=order_body(3745)).json()
    resting = other_http.post(f"/engines/{engine}/order", json=order_body(3256)).json()
    cancelled = other_http.delete(f"/engines/{engine}/order/{before}")
    assert cancelled.status_code == 200, cancelled.text

    page_gw.start_gateway()  # same port, same key
    expect_live(page, timeout=RECONNECT_WAIT)
    expect(badge).to_have_attribute("data-resumed-from", re.compile(r"^\d+$"), timeout=WAIT)
    expect(order_row(page, "all-orders", filled["vt_orderid"])).to_have_attribute(
        "data-status", "ALLTRADED", timeout=WAIT
    )
    expect(page.locator(f"#trades tbody tr[data-order='{filled['vt_orderid']}']")).to_have_count(1)
    expect(order_row(page, "active-orders", resting["vt_orderid"])).to_have_count(1)
    expect(order_row(page, "all-orders", before)).to_have_attribute("data-status", "CANCELLED")
    expect(order_row(page, "active-orders", before)).to_have_count(0)
    # resumed, not reloaded: the resume point was still in the stream
    expect(badge).not_to_have_attribute("data-resynced", "true")
    shots(page, "resumed")

    # and the stream is live again: an order placed elsewhere now shows up at once
    after = other_http.post(f"/engines/{engine}/order", json=order_body(3257)).json()
    expect(order_row(page, "active-orders", after["vt_orderid"])).to_have_count(1, timeout=WAIT)


def delete_stream(nats_server: NatsServer, name: str) -> None:
    """Delete a JetStream stream as an operator would (in a thread: Playwright owns this
    thread's event loop)."""

    async def run() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().delete_stream(name)
        finally:
            await nc.drain()

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "deleting the stream hung"
    if errors:
        raise errors[0]


def test_page_reloads_state_over_rest_when_its_resume_point_is_gone(
    context_factory: Callable[..., Page],
    gateway_factory: Callable[..., Gateway],
    fresh_bridge: Bridge,
    nats_server: NatsServer,
    other_http: httpx.Client,
) -> None:
    engine = fresh_bridge.engine_id
    page_gw = gateway_factory()
    page = context_factory()
    login(page, page_gw.url)
    pick_engine(page, engine)
    pick_contract(page, "rb2601.SHFE")
    # some history: the page's resume point moves well into the engine's event log
    cancelled = []
    for price in ("3255", "3256", "3257"):
        ticket(page, price=price)
        cancelled.append(send(page))
    page.click("#cancel-all")
    expect(page.locator("#active-orders tbody tr[data-id]")).to_have_count(0, timeout=WAIT)
    ticket(page, price="3258")
    kept = send(page)
    expect(order_row(page, "active-orders", kept)).to_have_count(1, timeout=WAIT)

    page_gw.stop()
    # the engine's event log is lost (an operator deleted it): the bridge starts a new one
    # from seq 1, and the page's resume point lies beyond its end
    delete_stream(nats_server, f"WT_{engine}_EVENTS")
    placed = other_http.post(f"/engines/{engine}/order", json=order_body(3259))
    assert placed.status_code == 201, placed.text
    added = placed.json()

    page_gw.start_gateway()
    expect_live(page, timeout=RECONNECT_WAIT)
    badge = page.locator("#connection")
    expect(badge).to_have_attribute("data-resynced", "true", timeout=WAIT)
    # the state came over REST: the order placed while the log was gone, and the old ones
    expect(order_row(page, "active-orders", added["vt_orderid"])).to_have_count(1, timeout=WAIT)
    expect(order_row(page, "active-orders", kept)).to_have_count(1)
    for vt_orderid in cancelled:
        expect(order_row(page, "all-orders", vt_orderid)).to_have_attribute(
            "data-status", "CANCELLED"
        )
    # and the stream follows on from the REST state's sequence
    after = other_http.post(f"/engines/{engine}/order", json=order_body(3745)).json()
    expect(order_row(page, "all-orders", after["vt_orderid"])).to_have_attribute(
        "data-status", "ALLTRADED", timeout=WAIT
    )
    expect(page.locator(f"#trades tbody tr[data-order='{after['vt_orderid']}']")).to_have_count(1)


def jwt_expiry(token: str) -> float:
    """The ``exp`` claim of a JWT (read, not verified)."""
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session_state(page: Page) -> dict[str, Any]:
    raw = page.evaluate("sessionStorage.getItem('webtrader.session')")
    assert raw, "no session in sessionStorage"
    return dict(json.loads(raw))


def test_session_outlives_its_access_token_by_refreshing(
    context_factory: Callable[..., Page],
    gateway_factory: Callable[..., Gateway],
    fresh_bridge: Bridge,
    other_http: httpx.Client,
) -> None:
    engine = fresh_bridge.engine_id
    page_gw = gateway_factory("--token-ttl", "6")
    page = context_factory()
    login(page, page_gw.url)
    pick_engine(page, engine)
    first = session_state(page)
    assert first["refreshToken"], first

    # refreshed before it expires (the page counts the tokens it got: login, refreshes)
    tokens = page.locator("html")
    expect(tokens).to_have_attribute("data-tokens", re.compile(r"^([2-9]|\d\d+)$"), timeout=WAIT)
    assert session_state(page)["accessToken"] != first["accessToken"]
    # wait out the first token: the gateway refuses it now
    time.sleep(max(0.0, jwt_expiry(first["accessToken"]) + 1 - time.time()))
    dead = other_http.get(f"{page_gw.url}/engines", headers=bearer(first["accessToken"]))
    assert dead.status_code == 401, dead.text
    expect_live(page)
    # the same socket all along: the new tokens went over it ({"op": "refresh"})
    expect(page.locator("#connection")).to_have_attribute("data-connections", "1")

    # REST and the stream still work for the page after its first token died
    pick_contract(page, "rb2601.SHFE")
    ticket(page, price="3255")
    mine = send(page)
    expect(order_row(page, "active-orders", mine)).to_have_count(1, timeout=WAIT)
    theirs = other_http.post(f"/engines/{engine}/order", json=order_body(3256)).json()
    expect(order_row(page, "active-orders", theirs["vt_orderid"])).to_have_count(1, timeout=WAIT)

    # a reload keeps the session (sessionStorage): no login form
    page.reload()
    expect(page.locator("#trade-view")).to_be_visible(timeout=WAIT)
    expect_live(page)
    # logging out forgets it
    page.click("#logout")
    expect(page.locator("#login-view")).to_be_visible(timeout=WAIT)
    expect(page.locator("#login-error")).to_be_empty()
    expect(page.locator("#connection")).to_have_attribute("data-state", "auth-required")
    assert page.evaluate("sessionStorage.getItem('webtrader.session')") is None
