"""Venue gateways of an engine: list them with their state, connect one (administrators).

What vnpy_webtrader never exposed: the engine's ``gateways`` and ``connect`` ops
(docs/subjects.md, "Gateways and bars") over REST.  ``connect`` carries venue credentials,
so only an ``admin`` may call it; its body is decoded once here (400 naming the field) and
never logged — the access log has the method and path only.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, post

from gateway.controllers.common import CodecDTO, admin_guard, passthrough
from gateway.engine_client import EngineClient
from gateway.errors import ENGINE_ERRORS, error_responses
from schemas.codec import encode
from schemas.messages import GatewayInfo
from schemas.requests import ConnectRequest, SettingValue
from schemas.subjects import Op

CONNECT_ERRORS = error_responses(
    *ENGINE_ERRORS,
    413,
    500,
    described={
        403: "Only an administrator may connect a venue gateway (or the engine is not the user's)",
        404: "Unknown engine, or the engine has no such gateway (`field` = `gateway_name`)",
        500: "The venue gateway's connect raised (its exception type is named)",
    },
)


class ConnectBody(msgspec.Struct, frozen=True, kw_only=True):
    """Body of ``POST .../gateway/{gateway_name}/connect``: VeighNa's connect setting.

    Other keys are ignored, as in every request body of the gateway.
    """

    setting: dict[str, SettingValue] = msgspec.field(default_factory=dict)
    """The gateway's setting (credentials, addresses); missing keys take its defaults."""


class GatewayController(Controller):
    """``GET .../gateway`` and ``POST .../gateway/{gateway_name}/connect``."""

    path = "/gateway"
    tags = ("gateways",)

    @get(responses=error_responses(*ENGINE_ERRORS), summary="List venue gateways")
    async def list_gateways(
        self, engine: str, engine_client: EngineClient
    ) -> Response[list[GatewayInfo]]:
        """Each gateway of the engine, its connection state, exchanges and setting keys."""
        return passthrough((await engine_client.request(engine, Op.GATEWAYS)).data)

    @post(
        "/{gateway_name:str}/connect",
        dto=CodecDTO[ConnectBody],
        return_dto=None,
        status_code=200,
        responses=CONNECT_ERRORS,
        guards=[admin_guard],
        summary="Connect a venue gateway (admin)",
    )
    async def connect_gateway(
        self, engine: str, engine_client: EngineClient, gateway_name: str, data: ConnectBody
    ) -> Response[GatewayInfo]:
        """Connect ``gateway_name`` with ``setting``; the reply is its state right after.

        A gateway already ``CONNECTED`` is left alone; otherwise the state is usually
        ``CONNECTING`` (poll ``GET .../gateway``).  403 for anyone but an administrator.
        """
        payload = encode(ConnectRequest(gateway_name=gateway_name, setting=data.setting))
        return passthrough((await engine_client.request(engine, Op.CONNECT, payload)).data)
