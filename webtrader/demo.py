"""``webtrader demo``: nats-server, a simulated engine bridge and a demo gateway, supervised.

Three separate processes, started in order and each awaited until it says it is ready;
stopped in reverse order on Ctrl-C/SIGTERM/SIGHUP, or as soon as any of them dies.

NATS credentials: every user of the broker configuration gets a random password per run,
given to nats-server in its environment; the bridge connects as ``bridge-sim`` and the
gateway as ``gateway`` with theirs, also by environment (a command line is visible to every
local user).  The run's passwords are written to ``DATA_DIR/nats-passwords.env`` (mode 600)
for trying other NATS clients against the demo.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from schemas.config import env_name
from webtrader import natsserver
from webtrader.processes import Child, ChildFailedError, StopRequestedError, Supervisor

ENGINE_ID = "sim"
BRIDGE_USER = f"bridge-{ENGINE_ID}"
GATEWAY_USER = "gateway"
PASSWORDS_FILE = "nats-passwords.env"
CONTROLLED_NATS_VARIABLES = (
    "WEBTRADER_NATS_USER",
    "WEBTRADER_NATS_PASSWORD",
    "WEBTRADER_NATS_PASSWORD_FILE",
    "WEBTRADER_NATS_CREDS",
    "WEBTRADER_NATS_INBOX_PREFIX",
)
"""NATS credential variables the demo sets for its children (any other value is dropped)."""
READY_TIMEOUT = 60.0
"""Seconds each child may take to print its readiness line."""
DEMO_LOGIN = ("vnpy", "vnpy")


def parse_port(text: str) -> int:
    """A TCP port number, 1-65535.

    Raises:
        argparse.ArgumentTypeError: not an integer in range.
    """
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < port < 65536:  # noqa: PLR2004 - the TCP port range
        raise argparse.ArgumentTypeError(f"not a port number (1-65535): {text!r}")
    return port


@dataclass(frozen=True, kw_only=True)
class DemoSettings:
    """What ``webtrader demo`` runs with; built once in ``main()``."""

    host: str = "127.0.0.1"
    port: int = 8000
    nats_port: int = 4222
    data_dir: Path = Path(".webtrader")
    tick_rate: float = 2.0
    seed: int | None = None
    nats_server: str | None = None
    stop_timeout: float = 10.0


class PortInUseError(Exception):
    """A port the demo needs is taken; the message says which and how to pick another."""


def ensure_port_free(host: str, port: int, option: str) -> None:
    """Fail fast when nothing could listen on ``host:port`` (as servers bind: SO_REUSEADDR).

    Raises:
        PortInUseError: the port is taken (or the address is not local).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"cannot listen on {host}:{port} ({exc.strerror}); "
                f"pick another with {option} or {env_name(option)}"
            ) from None


def child_env(base: Mapping[str, str]) -> dict[str, str]:
    """Environment for Python children: unbuffered output; a checkout's code on the path."""
    env = {**base, "PYTHONUNBUFFERED": "1"}
    root = natsserver.checkout_root()
    if root is not None:  # run from a source tree: children import the same code
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), base.get("PYTHONPATH")]))
    return env


class DemoConfigError(Exception):
    """The broker configuration lacks a NATS user the demo needs."""


def run_passwords(config: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``({user: password}, {variable: password})``: fresh passwords for this run.

    Raises:
        DemoConfigError: ``config`` has no ``bridge-sim`` or ``gateway`` user.
    """
    users = natsserver.config_users(config)
    missing = [u for u in (BRIDGE_USER, GATEWAY_USER) if u not in users]
    if missing:
        raise DemoConfigError(f"{config} has no NATS user {', '.join(missing)}")
    by_user = {user: natsserver.new_password() for user in users}
    return by_user, {var: by_user[user] for user, var in users.items()}


def as_nats_user(
    env: Mapping[str, str], user: str, password: str, server_vars: Mapping[str, str]
) -> dict[str, str]:
    """``env`` for a child connecting to NATS as ``user`` with ``password``.

    No other user's password is left in it, nor any variable that would override these.
    """
    drop = set(server_vars) | set(CONTROLLED_NATS_VARIABLES)
    kept = {k: v for k, v in env.items() if k not in drop}
    return {**kept, "WEBTRADER_NATS_USER": user, "WEBTRADER_NATS_PASSWORD": password}


def write_passwords(path: Path, server_vars: Mapping[str, str]) -> None:
    """Write ``VARIABLE=password`` lines readable by the owner only."""
    lines = ["# NATS passwords of the running webtrader demo (new on every run)\n"]
    lines += [f"{var}={password}\n" for var, password in server_vars.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(lines)
    path.chmod(0o600)


def banner(url: str, nats_url: str, data_dir: Path) -> str:
    """What the user reads once everything is up."""
    root = natsserver.checkout_root()
    docs = str(root / "docs") if root else "README.md and docs/ in the nats-webtrader sources"
    user, password = DEMO_LOGIN
    return "\n".join(
        [
            "",
            f"webtrader demo is running: {url}",
            f"  API (OpenAPI): {url}/schema",
            f"  login:         {user} / {password}  (POST {url}/token)",
            f"  NATS:          {nats_url}  (engine id {ENGINE_ID!r})",
            f"  NATS users:    this run's passwords in {data_dir / PASSWORDS_FILE}",
            f"  data:          {data_dir}",
            f"  docs:          {docs}",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def say(stream: TextIO, text: str) -> None:
    """Write one line of the launcher's own output and flush it (if the stream still works)."""
    with contextlib.suppress(OSError, ValueError):
        stream.write(text + "\n")
        stream.flush()


def demo_children(
    settings: DemoSettings,
    binary: Path,
    config: Path,
    data_dir: Path,
    passwords: tuple[dict[str, str], dict[str, str]],
) -> list[tuple[Child, str]]:
    """The three children, in start order, each with the pattern of its readiness line.

    ``passwords`` is :func:`run_passwords`'s: nats-server gets every variable, the bridge
    and the gateway only their own user's password.
    """
    by_user, server_vars = passwords
    nats_url = nats_url_of(settings)
    env = child_env(os.environ)
    bridge_env = as_nats_user(env, BRIDGE_USER, by_user[BRIDGE_USER], server_vars)
    gateway_env = as_nats_user(env, GATEWAY_USER, by_user[GATEWAY_USER], server_vars)
    bridge = ["--engine", "sim", "--engine-id", ENGINE_ID, "--nats-url", nats_url]
    bridge += ["--tick-rate", repr(settings.tick_rate)]
    if settings.seed is not None:
        bridge += ["--seed", str(settings.seed)]
    gateway = ["--demo", "--default-engine", ENGINE_ID, "--nats-url", nats_url]
    gateway += ["--host", settings.host, "--port", str(settings.port)]
    nats_argv = natsserver.server_argv(binary, config, settings.nats_port, data_dir / "nats")
    return [
        (Child("nats-server", nats_argv, {**os.environ, **server_vars}), natsserver.READY_PATTERN),
        (
            Child("bridge", [sys.executable, "-m", "engine_bridge", *bridge], bridge_env),
            "bridge ready",
        ),
        (
            Child("gateway", [sys.executable, "-m", "gateway", *gateway], gateway_env),
            r"gateway ready (\S+)",
        ),
    ]


def nats_url_of(settings: DemoSettings) -> str:
    """The URL the bridge and the gateway connect to."""
    return f"nats://127.0.0.1:{settings.nats_port}"


def run_demo(settings: DemoSettings, out: TextIO = sys.stdout) -> int:
    """Run the demo until a stop signal (exit 0) or a child's failure (exit 1).

    Returns 2, starting nothing, when nats-server is missing or a port is taken.
    """
    try:
        binary = natsserver.find_binary(settings.nats_server)
        config = natsserver.find_config()
        ensure_port_free("127.0.0.1", settings.nats_port, "--nats-port")
        ensure_port_free(settings.host, settings.port, "--port")
        passwords = run_passwords(config)
    except (natsserver.NatsServerNotFoundError, PortInUseError, DemoConfigError) as exc:
        say(sys.stderr, f"webtrader demo: error: {exc}")
        return 2
    data_dir = settings.data_dir.resolve()
    (data_dir / "nats").mkdir(parents=True, exist_ok=True)
    write_passwords(data_dir / PASSWORDS_FILE, passwords[1])
    supervisor = Supervisor(echo=out, stop_timeout=settings.stop_timeout)
    code = 0
    with supervisor.handling_signals():
        try:
            url = ""
            for child, ready in demo_children(settings, binary, config, data_dir, passwords):
                supervisor.spawn(child)
                say(out, f"webtrader: started {child.name} (pid {child.pid})")
                match = supervisor.wait_ready(child, ready, READY_TIMEOUT)
                url = match.group(1) if match.groups() else url
            say(out, banner(url, nats_url_of(settings), data_dir))
            supervisor.watch()
        except StopRequestedError:
            say(out, "webtrader: stopping")
        except ChildFailedError as exc:
            code = 1
            tail = "\n".join(f"  {line}" for line in exc.child.tail)
            say(sys.stderr, f"webtrader demo: error: {exc}; its last output:\n{tail}")
        except OSError as exc:
            code = 1
            say(sys.stderr, f"webtrader demo: error: cannot start a process: {exc}")
        finally:
            for child in supervisor.stop_all():
                say(out, f"webtrader: {child.name} (pid {child.pid}) needed SIGKILL")
    for child in supervisor.children:
        say(out, f"webtrader: {child.name} (pid {child.pid}) exited ({child.returncode()})")
    return code
