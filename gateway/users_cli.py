"""``webtrader user add|passwd|set|remove|list``: manage the gateway's users file.

The password is read from an interactive prompt (asked twice) or, when stdin is not a
terminal or with ``--password-stdin``, from the first line of stdin — never from an argument
(a command line is visible to every local user).  ``list`` never prints hashes.  Errors
(unknown or duplicate user, bad role, bad engine id, short password) exit 2 with a message.
The gateway notices changes on the next login or refresh; no restart is needed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from gateway.access import ALL_ENGINES, Role
from gateway.passwords import hash_password
from gateway.users import (
    User,
    UsersFileError,
    check_engines,
    check_username,
    load_users,
    locked,
    save_users,
)
from schemas.config import add_option

EXIT_USAGE = 2
MIN_PASSWORD = 8
PROG = "webtrader user"


class CliError(Exception):
    """A usage error; the message is printed and the exit status is 2."""


def role_type(text: str) -> Role:
    """``--role``: viewer, trader or admin."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise argparse.ArgumentTypeError(f"unknown role {text!r} (choose {choices})") from None


def engines_type(text: str) -> tuple[str, ...]:
    """``--engines``: comma-separated engine ids, or ``*`` for every engine."""
    try:
        return check_engines(tuple(e.strip() for e in text.split(",") if e.strip()))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def username_type(text: str) -> str:
    """A positional ``NAME``."""
    try:
        return check_username(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Options of every subcommand; ``--users-file`` also from ``WEBTRADER_USERS_FILE``."""
    # No abbreviations: "--password SECRET" must not pass for "--password-stdin".
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_option(common, "--users-file", help="the users file (JSON, mode 0600)", env=env)
    stdin = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    stdin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin's first line (implied when stdin is not a terminal)",
    )
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser(
        "add", allow_abbrev=False, parents=[common, stdin], help="add a user (asks the password)"
    )
    add.add_argument("name", type=username_type)
    add.add_argument("--role", type=role_type, required=True, help="viewer, trader or admin")
    add.add_argument(
        "--engines",
        type=engines_type,
        required=True,
        help=f"comma-separated engine ids the user may use ('{ALL_ENGINES}': all)",
    )
    passwd = sub.add_parser(
        "passwd", allow_abbrev=False, parents=[common, stdin], help="change a user's password"
    )
    passwd.add_argument("name", type=username_type)
    change = sub.add_parser(
        "set", allow_abbrev=False, parents=[common], help="change a user's role or engines"
    )
    change.add_argument("name", type=username_type)
    change.add_argument("--role", type=role_type, help="viewer, trader or admin")
    change.add_argument("--engines", type=engines_type, help="comma-separated engine ids, or *")
    remove = sub.add_parser("remove", allow_abbrev=False, parents=[common], help="remove a user")
    remove.add_argument("name", type=username_type)
    sub.add_parser(
        "list",
        allow_abbrev=False,
        parents=[common],
        help="list users, roles and engines (no hashes)",
    )
    return p


def read_password(from_stdin: bool, stdin: TextIO) -> str:
    """The new password: stdin's first line, or typed twice at a prompt.

    Raises:
        CliError: empty, shorter than ``MIN_PASSWORD``, or the two entries differ.
    """
    if from_stdin or not stdin.isatty():
        password = stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CliError("the passwords differ")
    if len(password) < MIN_PASSWORD:
        raise CliError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def _existing(users: Mapping[str, User], name: str, path: Path) -> User:
    user = users.get(name)
    if user is None:
        raise CliError(f"no user {name!r} in {path}")
    return user


def _precheck(ns: argparse.Namespace, users: Mapping[str, User], path: Path) -> None:
    if ns.action == "add" and ns.name in users:
        raise CliError(f"user {ns.name!r} already exists (use: {PROG} passwd)")
    if ns.action != "add":
        _existing(users, ns.name, path)


def run(ns: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> str:
    """Carry out one action; returns the confirmation to print.

    Raises:
        CliError: the action cannot be done (message says why).
        UsersFileError: the file cannot be read or written.
    """
    if not ns.users_file:
        raise CliError("set --users-file or WEBTRADER_USERS_FILE")
    path = Path(ns.users_file)
    if ns.action == "list":
        for name, user in sorted(load_users(path).items()):
            stdout.write(f"{name}\t{user.role.value}\t{','.join(user.engines)}\n")
        return ""
    _precheck(ns, load_users(path), path)  # before asking a password that cannot be used
    password = read_password(ns.password_stdin, stdin) if ns.action in ("add", "passwd") else ""
    with locked(path):
        users = load_users(path)
        _precheck(ns, users, path)  # again, under the lock
        if ns.action == "add":
            users[ns.name] = User(
                password=hash_password(password), role=ns.role, engines=ns.engines
            )
        else:
            old = _existing(users, ns.name, path)
            if ns.action == "remove":
                del users[ns.name]
            elif ns.action == "passwd":
                users[ns.name] = User(
                    password=hash_password(password), role=old.role, engines=old.engines
                )
            else:  # set
                users[ns.name] = User(
                    password=old.password,
                    role=ns.role or old.role,
                    engines=ns.engines or old.engines,
                )
        save_users(path, users)
    return f"{ns.action}: {ns.name} ({path})"


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Entry point of ``webtrader user``; returns the exit status."""
    ns = build_parser(os.environ).parse_args(argv)  # usage errors exit 2
    try:
        done = run(ns, stdin or sys.stdin, stdout or sys.stdout)
    except (CliError, UsersFileError) as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write(f"{PROG}: cancelled\n")
        return EXIT_USAGE
    if done:
        sys.stderr.write(done + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
