"""Access tokens in URLs (``?token=``): taken out of the request before anything can log it.

Browsers cannot set headers on a WebSocket, so ``/ws/`` and ``/stream`` accept the token in
the query string.  The ASGI server logs every WebSocket handshake with its path *and query
string* (uvicorn: ``"WebSocket /stream?token=..." [accepted]``, ``... 403``), including
handshakes to paths no route serves.  :class:`QueryTokenRedactor` wraps the whole app: for
every HTTP and WebSocket scope whose query string has a ``token`` parameter it replaces the
value with ``redacted`` and keeps the real one in the scope under :data:`SCOPE_KEY`, where
:func:`take_query_token` finds it.  Nothing is done for a query string without ``token=``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar.types import ASGIApp, Receive, Scope, Send

PARAM = "token"
REDACTED = "redacted"
SCOPE_KEY = "webtrader.query_token"
"""Scope key holding the query token taken out of ``query_string``."""
_NEEDLE = PARAM.encode() + b"="


def take_query_token(scope: MutableMapping[str, Any]) -> str | None:
    """Redact ``token`` in ``scope["query_string"]``; return its (first) value, or None.

    Idempotent: a scope already redacted returns the value kept under :data:`SCOPE_KEY`.
    """
    if SCOPE_KEY in scope:
        return str(scope[SCOPE_KEY])
    raw: bytes = scope.get("query_string") or b""
    if _NEEDLE not in raw:
        return None
    query = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    tokens = [v for k, v in query if k == PARAM]
    if not tokens:
        return None
    redacted = [(k, REDACTED if k == PARAM else v) for k, v in query]
    scope["query_string"] = urlencode(redacted).encode("latin-1")
    scope[SCOPE_KEY] = tokens[0]
    return tokens[0]


class QueryTokenRedactor:
    """ASGI wrapper: no ``?token=`` value survives in a scope the server or app sees.

    Usage::

        uvicorn.Config(QueryTokenRedactor(create_app(settings)), ...)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redact, then run the app."""
        if scope["type"] in ("http", "websocket"):
            take_query_token(scope)  # type: ignore[arg-type]
        await self.app(scope, receive, send)
