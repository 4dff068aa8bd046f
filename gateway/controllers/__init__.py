"""REST controllers, one per resource, and the routers that mount them.

* vnpy_webtrader's routes (``/contract``, ``/order``, ...) address the default engine, as
  do ``/gateway`` and ``/bars`` (which vnpy_webtrader did not have);
* the same routes under ``/engines/{engine_id}/`` address any engine;
* ``/engines`` lists engines; ``/token`` logs in.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler

from gateway.asyncapi import asyncapi_route
from gateway.auth_middleware import SECURITY
from gateway.controllers.common import default_engine, path_engine, whole_number_limit
from gateway.controllers.engines import EngineController
from gateway.controllers.gateways import GatewayController
from gateway.controllers.market import BarController, ContractController, TickController
from gateway.controllers.orders import EngineOrderController, VnpyOrderController
from gateway.controllers.portfolio import AccountController, PositionController, TradeController
from gateway.controllers.token import TokenController
from gateway.web import web_router

_SHARED = (
    ContractController,
    TickController,
    AccountController,
    PositionController,
    TradeController,
    GatewayController,
    BarController,
)


def route_handlers() -> list[ControllerRouterHandler]:
    """Every REST route of the gateway."""
    vnpy = Router(
        path="/",
        route_handlers=[*_SHARED, VnpyOrderController],
        dependencies={"engine": Provide(default_engine, sync_to_thread=False)},
        before_request=whole_number_limit,
        security=SECURITY,
    )
    per_engine = Router(
        path="/engines/{engine_id:str}",
        route_handlers=[*_SHARED, EngineOrderController],
        dependencies={"engine": Provide(path_engine)},
        before_request=whole_number_limit,
        security=SECURITY,
    )
    engines = Router(path="/", route_handlers=[EngineController], security=SECURITY)
    return [TokenController, vnpy, per_engine, engines, web_router(), asyncapi_route()]


__all__ = ["route_handlers"]
