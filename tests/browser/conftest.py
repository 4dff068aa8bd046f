"""Browser fixtures: Debian's Chromium driven by Playwright, and gateways serving the page.

The browser is ``/usr/bin/chromium`` (``apt-get install chromium``; ``WEBTRADER_CHROMIUM``
names another binary) — never one downloaded by ``playwright install``.  Without it the
tests FAIL with a message saying what to install: a CI that silently skipped the browser
would prove nothing.

These tests use Playwright's sync API, so they are plain (non-async) tests and use only
sync fixtures.  Each page records uncaught script errors; a test fails if there are any.
Every test leaves a screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.processes import REPO, Gateway, NatsServer, ProcessGroup

CHROMIUM = os.environ.get("WEBTRADER_CHROMIUM", "/usr/bin/chromium")
USERS = {"trader": "trader-pass-1", "viewer": "viewer-pass-1"}
ROLES = {"trader": "trader", "viewer": "viewer"}
DESKTOP = {"width": 1400, "height": 1000}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium binary; fails (not skips) when it is not installed."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: install Debian's package "
            "(apt-get install -y chromium) or set WEBTRADER_CHROMIUM; never 'playwright install'",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver for this module."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    """Headless Chromium for this module."""
    browser = playwright.chromium.launch(executable_path=chromium_path, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def shots(artifacts_dir: Path, request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shots(page, name)`` saves a screenshot as ``test-artifacts/browser/<test>-<name>.png``."""
    folder = artifacts_dir / "browser"
    folder.mkdir(exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = folder / f"{request.node.name}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save


@pytest.fixture
def context_factory(
    browser: Browser, shots: Callable[[Page, str], Path]
) -> Iterator[Callable[..., Page]]:
    """``new_page(**context_options)``: a fresh context and page; closed after the test.

    Each page's uncaught errors are collected; the test fails if any occurred.  The last
    state of each page is saved as a screenshot (``...-final.png``).
    """
    opened: list[tuple[BrowserContext, Page, list[str]]] = []

    def new_page(**options: object) -> Page:
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)  # type: ignore[arg-type]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append((context, page, errors))
        return page

    yield new_page
    problems = []
    for i, (context, page, errors) in enumerate(opened):
        if not page.is_closed():
            shots(page, f"final{i or ''}")
        context.close()
        problems += errors
    assert not problems, f"uncaught errors in the page: {problems}"


def add_user(users_file: Path, name: str, password: str, role: str) -> None:
    """``webtrader user add`` as an operator runs it (password on stdin)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "webtrader",
            "user",
            "add",
            name,
            "--role",
            role,
            "--engines",
            "*",
            "--users-file",
            str(users_file),
            "--password-stdin",
        ],
        input=password + "\n",
        text=True,
        check=True,
        cwd=REPO,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file with a trader and a viewer (see USERS)."""
    path = tmp_path_factory.mktemp("users") / "users.json"
    for name, password in USERS.items():
        add_user(path, name, password, ROLES[name])
    return path


@pytest.fixture(scope="module")
def gateway_factory(nats_server: NatsServer, users_file: Path) -> Iterator[Callable[..., Gateway]]:
    """Production-mode gateways (users file, fixed signing key): ``start(*extra_args)``.

    The key is fixed per module, so a restarted gateway accepts the tokens of its previous
    run — as a real deployment does.  All are stopped at the end of the module.
    """
    group = ProcessGroup()
    env = {
        "WEBTRADER_JWT_SECRET": secrets.token_urlsafe(48),
        "WEBTRADER_USERS_FILE": str(users_file),
    }

    def start(*extra: str) -> Gateway:
        return group.gateway(Gateway(nats_server.url, "sim", *extra, env=env))

    yield start
    group.stop_all()


@pytest.fixture
def other_http(gateway: Gateway, token: str) -> Iterator[httpx.Client]:
    """REST on the session's demo gateway: same NATS and engines, not the page's gateway."""
    with httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="module")
def web_gateway(gateway_factory: Callable[..., Gateway]) -> Gateway:
    """The module's gateway serving the page (tests that restart it restart this one)."""
    return gateway_factory()
