"""Password hashes: stdlib scrypt in a self-describing string, verified in constant time.

Format: ``scrypt$N$r$p$SALT$HASH`` (salt and hash urlsafe base64 without padding), e.g.
``scrypt$16384$8$1$...$...``.  The parameters travel with each hash, so they can be raised
later without breaking existing users.  Hashing costs ~50 ms of CPU and 16 MiB of memory
(N=2^14, r=8): callers on an event loop run it in a worker thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
"""Default cost: the parameters of new hashes."""
SALT_BYTES = 16
HASH_BYTES = 32
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
"""Bounds on parameters read from a file (a hostile file cannot ask for 100 GiB)."""


class HashFormatError(ValueError):
    """The string is not a hash in this module's format."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, *, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=130 * n * r * p + 2**20
    )


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted hash of ``password`` (``scrypt$N$r$p$SALT$HASH``)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n=n, r=r, p=p, length=HASH_BYTES)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> _Parsed:
    """The parameters, salt and digest of ``encoded``.

    Raises:
        HashFormatError: not ``scrypt$N$r$p$SALT$HASH`` with sane parameters.
    """
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:  # noqa: PLR2004 - the format's six fields
        raise HashFormatError("not a scrypt$N$r$p$salt$hash password hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise HashFormatError("malformed scrypt password hash") from None
    if not (1 < n <= MAX_N and n & (n - 1) == 0 and 0 < r <= MAX_R and 0 < p <= MAX_P):
        raise HashFormatError(f"scrypt parameters out of range: N={n} r={r} p={p}")
    if len(salt) < 8 or len(digest) < 16:  # noqa: PLR2004 - minimum sane salt and digest
        raise HashFormatError("scrypt salt or hash too short")
    return _Parsed(n, r, p, salt, digest)


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; compares digests in constant time.

    A malformed ``encoded`` is False (never an exception). CPU-heavy: not on an event loop.
    """
    try:
        parsed = parse_hash(encoded)
    except HashFormatError:
        return False
    candidate = _scrypt(
        password, parsed.salt, n=parsed.n, r=parsed.r, p=parsed.p, length=len(parsed.digest)
    )
    return hmac.compare_digest(candidate, parsed.digest)
