"""The engines resource: which engines the gateway knows and whether they are up."""

from __future__ import annotations

from litestar import Controller, get

from gateway.engines import EngineDirectory, EngineStatus
from gateway.errors import error_responses


class EngineController(Controller):
    """``GET /engines`` and ``GET /engines/{engine_id}``."""

    path = "/engines"
    tags = ("engines",)

    @get(responses=error_responses(401), summary="List engines")
    async def list_engines(self, engines: EngineDirectory) -> list[EngineStatus]:
        """Every engine seen (heartbeat, discovery or reply), plus the default engine."""
        return engines.statuses()

    @get("/{engine_id:str}", responses=error_responses(401, 404), summary="Get an engine")
    async def get_engine(self, engine_id: str, engines: EngineDirectory) -> EngineStatus:
        """One engine, its info refreshed by a live ``info`` request when it answers."""
        await engines.resolve(engine_id)
        await engines.probe(engine_id)
        return engines.status(engine_id)
