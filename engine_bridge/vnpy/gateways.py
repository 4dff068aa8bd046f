"""Gateways of a VeighNa ``MainEngine`` as the ``gateways``/``connect`` ops show them.

VeighNa has no connection-state API: the state comes from :class:`~.state.VenueState`
(``CONNECTED`` once a contract or an account arrived from the gateway, ``CONNECTING``
after a ``connect`` until then, ``DISCONNECTED`` before).  ``default_setting`` is the
gateway class's own (what VeighNa's connect dialog shows), never the values last used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vnpy.trader.gateway import BaseGateway

from engine_bridge.vnpy.state import VenueState
from schemas.messages import DefaultValue, GatewayInfo
from schemas.requests import SettingValue


def gateway_info(gateway: BaseGateway, state: VenueState) -> GatewayInfo:
    """What the ``gateways`` op says about ``gateway``."""
    name = gateway.gateway_name
    return GatewayInfo(
        name=name,
        state=state.gateway_state(name),
        exchanges=[e.name for e in gateway.exchanges],
        contracts=sum(1 for c in state.contracts.values() if c.gateway_name == name),
        default_setting={k: _default(v) for k, v in gateway.default_setting.items()},
    )


def _default(value: object) -> DefaultValue:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return str(value)


def connect_setting(defaults: dict[str, Any], given: dict[str, SettingValue]) -> dict[str, Any]:
    """The setting ``connect`` gets: ``given`` over the defaults (a list's first choice)."""
    setting: dict[str, Any] = {}
    for key, default in defaults.items():
        if isinstance(default, list):
            default = default[0] if default else ""  # noqa: PLW2901 - the choice's default
        setting[key] = default
    setting.update(given)
    return setting
