"""The browser trading page: ``GET /`` and its assets under ``/static/``.

The page is plain files (``web/`` in a checkout; shipped in the wheel as ``gateway/_web``):
no build step, nothing loaded from another origin.  The files themselves need no token —
they hold no data — and every call the page makes for data carries one.  These routes are
left out of the OpenAPI document.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litestar import MediaType, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

from gateway.auth_middleware import EXCLUDE_OPT_KEY

PACKAGED_DIR = "_web"
"""Where the wheel puts ``web/`` inside the ``gateway`` package (pyproject force-include)."""
STATIC_PATH = "/static"
_REVALIDATE = CacheControlHeader(no_cache=True)
"""Browsers may keep the files but must ask (ETag / Last-Modified) before using them."""


class WebAssetsMissingError(RuntimeError):
    """Neither the packaged nor the checkout copy of the page exists."""


def find_web_root() -> Path:
    """The directory holding ``index.html`` and ``static/``.

    The wheel's copy (``gateway/_web``) first, else ``web/`` beside the package (a
    checkout or an editable install).

    Raises:
        WebAssetsMissingError: no copy with an ``index.html`` was found.
    """
    packaged = Path(str(resources.files("gateway").joinpath(PACKAGED_DIR)))
    checkout = Path(__file__).resolve().parent.parent / "web"
    for root in (packaged, checkout):
        if (root / "index.html").is_file():
            return root
    raise WebAssetsMissingError(f"the trading page is missing (looked in {packaged}, {checkout})")


def web_router(root: Path | None = None) -> Router:
    """``GET /`` (the page) and ``/static/...`` (its scripts and styles), no token needed."""
    web_root = find_web_root() if root is None else root
    index_file = web_root / "index.html"

    @get(
        "/",
        include_in_schema=False,
        media_type=MediaType.HTML,
        cache_control=_REVALIDATE,
        name="web-index",
    )
    async def index() -> File:
        """The trading page."""
        return File(index_file, content_disposition_type="inline", media_type=MediaType.HTML)

    assets = create_static_files_router(
        path=STATIC_PATH,
        directories=[web_root / "static"],
        name="web-static",
        include_in_schema=False,
        cache_control=_REVALIDATE,
    )
    return Router(
        path="/",
        route_handlers=[index, assets],
        include_in_schema=False,
        opt={EXCLUDE_OPT_KEY: True},
    )


__all__ = ["STATIC_PATH", "WebAssetsMissingError", "find_web_root", "web_router"]
