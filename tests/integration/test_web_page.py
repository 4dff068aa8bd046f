"""The gateway serves the trading page: at ``/`` and ``/static/``, without a token, with
nothing from another origin, and outside the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.web import find_web_root

WEB = Path(__file__).resolve().parents[2] / "web"
IMPORT_RE = re.compile(r"""(?:import|export)\s[^"';]*?from\s+["']([^"']+)["']""")
ASSET_RE = re.compile(r"""(?:href|src)="([^"]+)\"""")
EXTERNAL_RE = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


def without_comments(code: str) -> str:
    """JavaScript without its whole-line ``//`` comments (usage examples, references)."""
    return re.sub(r"^\s*//.*$", "", code, flags=re.MULTILINE)


def page_files() -> list[Path]:
    return sorted(p for p in WEB.rglob("*") if p.is_file())


async def test_page_and_assets_need_no_token_but_data_does(anon_client: httpx.AsyncClient) -> None:
    page = await anon_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "no-cache" in page.headers["cache-control"]
    assert 'src="static/app/main.js"' in page.text
    script = await anon_client.get("/static/client/webtrader.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "export class WebTrader" in script.text
    head = await anon_client.head("/static/app.css")
    assert head.status_code == 200
    assert (await anon_client.get("/engines")).status_code == 401


@pytest.mark.parametrize(
    "path", ["/static/nothing.js", "/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml"]
)
async def test_nothing_outside_the_page_is_served(
    anon_client: httpx.AsyncClient, path: str
) -> None:
    r = await anon_client.get(path)
    assert r.status_code in (401, 404), (path, r.status_code)
    assert "hatchling" not in r.text


async def test_every_file_the_page_loads_is_served(anon_client: httpx.AsyncClient) -> None:
    """Follow index.html's links and every module import: all resolve on the gateway."""
    html = (WEB / "index.html").read_text()
    todo = [u for u in ASSET_RE.findall(html) if not u.startswith("data:")]
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        r = await anon_client.get("/" + url)
        assert r.status_code == 200, url
        if url.endswith(".js"):
            for target in IMPORT_RE.findall(without_comments(r.text)):
                assert target.startswith("."), f"{url} imports {target} (not a relative file)"
                todo.append(resolve(url, target))
    assert {"static/app/main.js", "static/client/webtrader.js", "static/app.css"} <= seen
    served = {str(p.relative_to(WEB)) for p in page_files() if p.suffix in (".js", ".css")}
    assert seen == served, "files in web/ the page never loads (or loads but are missing)"


def resolve(url: str, target: str) -> str:
    """``target`` relative to the directory of ``url`` (both URL paths)."""
    parts = url.split("/")[:-1]
    for part in target.split("/"):
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


@pytest.mark.parametrize("path", page_files(), ids=lambda p: str(p.relative_to(WEB)))
def test_page_loads_nothing_from_another_origin(path: Path) -> None:
    """No CDN, no web font, no remote script: the page works offline."""
    text = path.read_text(encoding="utf-8")
    code = without_comments(text)  # comments may cite documentation
    assert not EXTERNAL_RE.findall(code), path
    assert "@import" not in code
    assert "url(" not in code or path.suffix != ".css"


def test_page_is_left_out_of_the_openapi_document(spec_paths: dict[str, Any]) -> None:
    assert "/" not in spec_paths
    assert not [p for p in spec_paths if p.startswith("/static")]


@pytest.fixture(scope="module")
def spec_paths(gateway: Any) -> dict[str, Any]:
    r = httpx.get(f"{gateway.url}/schema/openapi.json")
    r.raise_for_status()
    return dict(r.json()["paths"])


def test_the_checkout_copy_is_found_when_not_installed_from_a_wheel() -> None:
    assert find_web_root() == WEB
