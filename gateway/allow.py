"""A true ``Allow`` header on ``OPTIONS`` answers.

Litestar 2 builds a path's automatic ``OPTIONS`` handler when the path's first method is
registered, and never updates it: ``OPTIONS /order`` said ``Allow: GET, OPTIONS`` although
``POST`` and ``DELETE`` are served too (litestar issue 4169, fixed in Litestar 3).  This
``before_send`` hook rewrites the header of every ``OPTIONS`` answer from the routes the app
really has.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

ALLOW = "Allow"


class AllowHeader:
    """``before_send`` hook: ``Allow`` lists every method of the route an ``OPTIONS`` hit.

    The table is built from the app's routes on the first ``OPTIONS`` request (routes are
    final by then) and reused.
    """

    def __init__(self) -> None:
        self._allow: dict[str, str] | None = None

    def _table(self, app: Litestar) -> dict[str, str]:
        if self._allow is None:
            self._allow = {
                route.path_format: ", ".join(sorted(route.methods))
                for route in app.routes
                if isinstance(route, HTTPRoute)
            }
        return self._allow

    async def __call__(self, message: Message, scope: Scope) -> None:
        """Correct ``Allow`` on the start of an ``OPTIONS`` response; anything else untouched."""
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        headers = MutableScopeHeaders.from_message(message)
        if ALLOW not in headers:
            return
        allow = self._table(scope["litestar_app"]).get(scope.get("path_template", ""))
        if allow is not None:
            headers[ALLOW] = allow
