"""The app's settings file, ``nats_webtrader_setting.json``, as :class:`BridgeSettings`.

The file (in VeighNa's ``.vntrader`` directory) is a JSON object whose keys are the bridge's
options in snake case (``python -m engine_bridge --help``: ``nats_url``, ``engine_id``,
``nats_user``, ``nats_password_file``, ``js_replicas``, ...), plus ``autostart``.  Each key
becomes its option (``true``/``false`` of a switch: ``--x``/``--no-x``), so the file and the
command line are checked by the same parser; ``WEBTRADER_*`` variables fill what the file
leaves out.  Options of the headless or simulated engine are refused: the app's engine is
the VeighNa Trader it is added to.  No VeighNa import here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine_bridge.settings import BridgeSettings, SettingsError, build_parser, load_settings

SETTING_FILENAME = "nats_webtrader_setting.json"
AUTOSTART = "autostart"
"""Key: start the bridge when the app is added (default true)."""
NOT_IN_APP = frozenset(
    {"engine", "gateway", "gateway_setting", "gateway_name", "tick_rate", "seed", "contracts"}
)
"""Bridge options that make no sense for an app (the engine is the VeighNa Trader's own)."""
PATH_KEYS = frozenset({"nats_creds", "nats_password_file"})
"""Options naming files, read relative to the settings file."""


def bridge_settings(setting: Mapping[str, Any], base: Path) -> BridgeSettings:
    """The bridge settings ``setting`` (the file's object) holds; ``base``: the file's folder.

    Raises:
        SettingsError: an unknown or misplaced key, a missing ``engine_id``, a bad value.
    """
    try:
        known = set(vars(build_parser().parse_args([])))
    except SystemExit:  # a WEBTRADER_* variable argparse refused (it said which on stderr)
        raise SettingsError("invalid WEBTRADER_* variable (see the error above)") from None
    if not setting.get("engine_id"):
        raise SettingsError(f"{SETTING_FILENAME}: set engine_id (and nats_url)")
    argv = ["--engine", "vnpy"]
    for key, value in setting.items():
        if key == AUTOSTART:
            continue
        if key not in known or key in NOT_IN_APP:
            raise SettingsError(f"{SETTING_FILENAME}: unknown key {key!r}")
        option = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv.append(option if value else "--no-" + option[2:])
            continue
        text = str(value)
        if key in PATH_KEYS and text and not Path(text).is_absolute():
            text = str(base / text)
        argv += [option, text]
    try:
        return load_settings(argv)
    except SystemExit:  # argparse refused a value (and said why on stderr)
        raise SettingsError(f"{SETTING_FILENAME}: invalid value (see the error above)") from None
