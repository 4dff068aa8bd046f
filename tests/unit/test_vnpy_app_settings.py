"""The VeighNa app's settings file becomes the same BridgeSettings a command line would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine_bridge.settings import SettingsError
from engine_bridge.vnpy.setting import bridge_settings


def test_keys_are_the_bridge_options_and_the_engine_is_vnpy(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("s3cret\n")
    settings = bridge_settings(
        {
            "nats_url": "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
            "engine_id": "ctp-live",
            "nats_user": "bridge-ctp-live",
            "nats_password_file": "pw.txt",  # relative to the settings file
            "js_replicas": 3,
            "tick_snapshots": False,
            "autostart": True,
        },
        tmp_path,
    )
    assert (settings.engine, settings.engine_id, settings.js_replicas) == ("vnpy", "ctp-live", 3)
    assert settings.nats_servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
    assert settings.tick_snapshots is False
    assert (settings.nats_auth.user, settings.nats_auth.password) == ("bridge-ctp-live", "s3cret")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({}, "set engine_id"),
        ({"engine_id": "x", "gateway": "vnpy_ctp:CtpGateway"}, "unknown key 'gateway'"),
        ({"engine_id": "x", "tick_rate": 5}, "unknown key 'tick_rate'"),
        ({"engine_id": "x", "nats_urls": "nats://h"}, "unknown key 'nats_urls'"),
        ({"engine_id": "not valid!"}, "--engine-id"),
        ({"engine_id": "x", "js_replicas": 9}, "--js-replicas"),
    ],
)
def test_a_bad_setting_file_says_what_to_fix(
    tmp_path: Path, setting: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        bridge_settings(setting, tmp_path)
