"""The engines resource: which engines the gateway knows and whether they are up."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from gateway.controllers.common import check_engine_access, principal_of
from gateway.engines import EngineDirectory, EngineStatus
from gateway.errors import error_responses


class EngineController(Controller):
    """``GET /engines`` and ``GET /engines/{engine_id}``."""

    path = "/engines"
    tags = ("engines",)

    @get(responses=error_responses(401), summary="List engines")
    async def list_engines(
        self, engines: EngineDirectory, request: Request[Any, Any, Any]
    ) -> list[EngineStatus]:
        """The engines the user may use among those seen (heartbeat, discovery, reply)."""
        principal = principal_of(request)
        return [s for s in engines.statuses() if principal.may_use(s.engine_id)]

    @get("/{engine_id:str}", responses=error_responses(401, 403, 404), summary="Get an engine")
    async def get_engine(
        self, engine_id: str, engines: EngineDirectory, request: Request[Any, Any, Any]
    ) -> EngineStatus:
        """One engine, its info refreshed by a live ``info`` request when it answers.

        403 for an engine outside the user's list (known or not), else 404 if unknown.
        """
        check_engine_access(principal_of(request), engine_id)
        await engines.resolve(engine_id)
        await engines.probe(engine_id)
        return engines.status(engine_id)
