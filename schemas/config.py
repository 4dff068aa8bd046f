"""Command-line conventions shared by every process: each option has a ``WEBTRADER_*`` twin.

Only argparse plumbing lives here; each process declares its own options and builds its
own frozen settings object from them in ``main()``.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SECRET_WORDS = ("secret", "password")
"""Options whose name holds one of these are secrets unless told otherwise."""


def env_name(option: str) -> str:
    """``--nats-url`` -> ``WEBTRADER_NATS_URL``."""
    return "WEBTRADER_" + option.lstrip("-").replace("-", "_").upper()


def add_option(
    parser: argparse.ArgumentParser,
    option: str,
    *,
    help: str,  # noqa: A002 - mirrors argparse
    default: Any = None,
    type: Any = str,  # noqa: A002 - mirrors argparse
    env: Mapping[str, str] | None = None,
    flag: bool = False,
    secret: bool | None = None,
) -> None:
    """Add ``option`` whose default comes from its ``WEBTRADER_*`` variable, then ``default``.

    ``--help`` shows the variable's name and the effective default.  A ``flag`` is a
    boolean switch; its variable counts as set when it is ``1``/``true``/``yes``/``on``.
    A variable that ``type`` refuses ends the program like a bad option (exit status 2,
    message naming the variable).  A ``secret`` (by default: an option whose name holds
    ``secret`` or ``password``) never shows its value in ``--help`` or in that message,
    only whether it is set.
    """
    environ = os.environ if env is None else env
    var = env_name(option)
    raw = environ.get(var)
    if flag:
        value: Any = default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}
        parser.add_argument(
            option, action=argparse.BooleanOptionalAction, default=value, help=f"{help} [{var}]"
        )
        return
    if secret is None:
        secret = any(word in option for word in SECRET_WORDS)
    try:
        value = default if raw is None else type(raw)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        shown = "(hidden)" if secret else repr(raw)
        parser.error(f"{var}={shown}: {'invalid value' if secret else exc}")  # exits 2
    shown_default = ("set" if value else "unset") if secret else "%(default)s"
    parser.add_argument(
        option, type=type, default=value, help=f"{help} [{var}; default: {shown_default}]"
    )


def redact_url(url: str) -> str:
    """``url`` (or a comma-separated list) with any ``user:password@`` shown as ``***@``."""
    parts = []
    for item in url.split(","):
        split = urlsplit(item.strip())
        if "@" in split.netloc:
            split = split._replace(netloc="***@" + split.netloc.rpartition("@")[2])
        parts.append(urlunsplit(split))
    return ",".join(parts)


def parse_tick_rate(text: str) -> float:
    """``--tick-rate``: ticks per second per subscribed contract; ``max`` (or 0) = unthrottled.

    Raises:
        argparse.ArgumentTypeError: not ``max`` nor a finite number >= 0.
    """
    if text.strip().lower() == "max":
        return 0.0
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'max': {text!r}") from None
    if not math.isfinite(rate) or rate < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 or 'max': {text!r}")
    return rate
