"""The users file and the gateway's view of it.

The file (``--users-file`` / ``WEBTRADER_USERS_FILE``) is JSON, mode 0600, managed with
``webtrader user add|passwd|remove|list``::

    {"version": 1,
     "users": {"alice": {"password": "scrypt$16384$8$1$SALT$HASH",
                         "role": "trader", "engines": ["sim", "sim2"]}}}

``role`` is a :class:`~gateway.access.Role` value; ``engines`` lists engine ids (``"*"``:
every engine).  Writes are atomic (temporary file in the same directory, fsync, rename),
so a reader never sees half a file.

:class:`UserStore` is what the gateway holds: loaded once at start, it re-reads the file
when it changed (checked on each login and refresh, in a worker thread), so ``passwd`` and
``remove`` take effect without a restart.  Password checks run in a worker thread (scrypt is
~50 ms of CPU), at most ``MAX_CONCURRENT_HASHES`` at a time, and an unknown user costs the
same as a known one (checked against a dummy hash), so timing does not tell who exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import anyio.to_thread
import msgspec
from anyio import CapacityLimiter

from gateway.access import ALL_ENGINES, Role
from gateway.passwords import HashFormatError, hash_password, parse_hash, verify_password
from schemas.subjects import check_engine_id

log = logging.getLogger("gateway.users")

FILE_VERSION = 1
FILE_MODE = 0o600
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
"""1-64 of letters, digits, ``_ . @ -``, starting with a letter or digit."""
MAX_CONCURRENT_HASHES = 2
"""Password checks running at once (each takes 16 MiB and one core for ~50 ms)."""


class UsersFileError(Exception):
    """The users file cannot be read, parsed or written; the message says why."""


class User(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One user as stored: password hash, role and engines."""

    password: str
    """``scrypt$N$r$p$SALT$HASH`` (never the password)."""
    role: Role
    engines: tuple[str, ...]
    """Engine ids this user may use; ``"*"``: every engine."""


class UsersDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole file."""

    version: int = FILE_VERSION
    users: dict[str, User] = msgspec.field(default_factory=dict)


def check_username(name: str) -> str:
    """Return ``name`` if it is a valid username.

    Raises:
        ValueError: it is not (the message says what is allowed).
    """
    if not USERNAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid username {name!r}: use 1-64 of A-Z a-z 0-9 _ . @ -, "
            "starting with a letter or digit"
        )
    return name


def check_engines(engines: tuple[str, ...]) -> tuple[str, ...]:
    """Return ``engines`` (sorted, deduplicated) if each is ``"*"`` or a valid engine id.

    Raises:
        ValueError: empty, or an invalid id (named).
    """
    if not engines:
        raise ValueError("a user needs at least one engine ('*' for all)")
    for engine in engines:
        if engine != ALL_ENGINES:
            check_engine_id(engine)
    return tuple(sorted(set(engines)))


def _validate(doc: UsersDocument) -> None:
    if doc.version != FILE_VERSION:
        raise ValueError(f"unsupported version {doc.version} (expected {FILE_VERSION})")
    for name, user in doc.users.items():
        try:
            check_username(name)
            check_engines(user.engines)
            parse_hash(user.password)
        except (ValueError, HashFormatError) as exc:
            raise ValueError(f"user {name!r}: {exc}") from None


def load_users(path: Path) -> dict[str, User]:
    """The users of the file at ``path`` (missing file: none).

    Raises:
        UsersFileError: unreadable, not valid JSON, or a user that is not valid.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsersFileError(f"cannot read users file {path}: {exc.strerror}") from None
    try:
        doc = msgspec.json.decode(data, type=UsersDocument)
        _validate(doc)
    except (msgspec.DecodeError, ValueError) as exc:
        raise UsersFileError(f"users file {path}: {exc}") from None
    return dict(doc.users)


def save_users(path: Path, users: Mapping[str, User]) -> None:
    """Write ``users`` to ``path`` atomically, mode 0600.

    Raises:
        UsersFileError: the directory is not writable.
    """
    data = msgspec.json.format(
        msgspec.json.encode(UsersDocument(users=dict(sorted(users.items())))), indent=2
    )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data + b"\n")
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise UsersFileError(f"cannot write users file {path}: {exc.strerror}") from None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``PATH.lock`` (serialises read-modify-write of the file)."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise UsersFileError(f"cannot lock users file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fingerprint(user: User) -> str:
    """A short digest of the user's password hash.

    Refresh tokens carry it: a password change makes those issued before it useless.
    """
    return hashlib.sha256(user.password.encode()).hexdigest()[:16]


class UserStore:
    """The users the gateway accepts, kept in step with the users file.

    Build it at start (:meth:`from_file` or :meth:`demo`), not on the event loop.
    """

    def __init__(self, users: Mapping[str, User], path: Path | None = None) -> None:
        self._users = dict(users)
        self._path = path
        self._signature = self._stat() if path else None
        self._lock = threading.Lock()
        self._dummy = hash_password(secrets.token_urlsafe(16))
        self._limiter = CapacityLimiter(MAX_CONCURRENT_HASHES)

    @classmethod
    def from_file(cls, path: Path) -> UserStore:
        """The users of ``path``.

        Raises:
            UsersFileError: unreadable or invalid (missing is an empty store).
        """
        return cls(load_users(path), path)

    @classmethod
    def demo(cls) -> UserStore:
        """Demo mode's one user: ``vnpy``/``vnpy``, admin on every engine."""
        user = User(password=hash_password("vnpy"), role=Role.ADMIN, engines=(ALL_ENGINES,))
        return cls({"vnpy": user})

    def __len__(self) -> int:
        return len(self._users)

    @property
    def path(self) -> Path | None:
        """The users file (None: in-memory demo store)."""
        return self._path

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = self._path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _refresh(self) -> None:
        """Re-read the file if it changed; on a broken file keep the last good users."""
        if self._path is None:
            return
        with self._lock:
            signature = self._stat()
            if signature == self._signature:
                return
            self._signature = signature
            try:
                self._users = load_users(self._path)
            except UsersFileError as exc:
                log.error("%s; keeping the %d users loaded before", exc, len(self._users))
                return
            log.info("users file %s reloaded: %d users", self._path, len(self._users))

    def lookup_sync(self, username: str) -> User | None:
        """The current record of ``username`` (re-reading a changed file). Blocking."""
        self._refresh()
        return self._users.get(username)

    def authenticate_sync(self, username: str, password: str) -> User | None:
        """The user if ``password`` is right, else None; same cost for unknown users. Blocking."""
        user = self.lookup_sync(username)
        ok = verify_password(password, user.password if user else self._dummy)
        return user if ok and user is not None else None

    async def lookup(self, username: str) -> User | None:
        """:meth:`lookup_sync` in a worker thread."""
        return await anyio.to_thread.run_sync(self.lookup_sync, username)

    async def authenticate(self, username: str, password: str) -> User | None:
        """:meth:`authenticate_sync` in a worker thread (bounded concurrency)."""
        return await anyio.to_thread.run_sync(
            self.authenticate_sync, username, password, limiter=self._limiter
        )
