"""Token signing keys: an HS256 secret, or an asymmetric key pair (RS256, ES256, EdDSA).

Built once at start from the settings (files are read then, never per request); keys are
parsed once into ``cryptography`` objects so signing and verifying do no PEM parsing.
Verification accepts exactly one algorithm — the configured one — so a token with
another (``none`` included) is refused whatever its header says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HS256 = "HS256"
ASYMMETRIC = ("RS256", "ES256", "EdDSA")
ALGORITHMS = (HS256, *ASYMMETRIC)
MIN_SECRET_CHARS = 32
"""Shortest HS256 key accepted outside demo mode (``secrets.token_urlsafe(48)`` has 64)."""
MIN_RSA_BITS = 2048

MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105
MAKE_KEY_PAIR = (
    "openssl genpkey -algorithm ed25519 -out jwt.key && "
    "openssl pkey -in jwt.key -pubout -out jwt.pub"
)


class KeyConfigError(ValueError):
    """The key material is unusable; the message names the option."""


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """What signs and what verifies tokens, with the one accepted algorithm."""

    algorithm: str
    signing_key: Any
    """The HS256 secret (str) or the private key object."""
    verifying_key: Any
    """The HS256 secret (str) or the public key object."""


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyConfigError(f"{option}: cannot read {path}: {exc.strerror}") from None


def _algorithm_of(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(f"--jwt-private-key: RSA keys need >= {MIN_RSA_BITS} bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyConfigError("--jwt-private-key: ES256 needs a P-256 (secp256r1) key")
        return "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise KeyConfigError("--jwt-private-key: use an RSA, EC P-256 or Ed25519 private key")


def _public_bytes(key: Any) -> bytes:
    data: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def key_pair(private_pem: bytes, public_pem: bytes | None, algorithm: str) -> TokenKeys:
    """Keys from PEM files; ``algorithm`` empty: inferred from the private key.

    Raises:
        KeyConfigError: not a usable private key, the public key is not its pair, or the key
            does not fit ``algorithm``.
    """
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(
            f"--jwt-private-key: not an unencrypted PEM private key ({exc})"
        ) from None
    inferred = _algorithm_of(private)
    if algorithm and algorithm != inferred:
        raise KeyConfigError(f"--jwt-algorithm {algorithm} does not fit the key (it is {inferred})")
    public = private.public_key()
    if public_pem is not None:
        try:
            given = serialization.load_pem_public_key(public_pem)
        except (ValueError, TypeError) as exc:
            raise KeyConfigError(f"--jwt-public-key: not a PEM public key ({exc})") from None
        if _public_bytes(given) != _public_bytes(public):
            raise KeyConfigError("--jwt-public-key is not the pair of --jwt-private-key")
    return TokenKeys(inferred, private, public)


def load_keys(
    *,
    algorithm: str,
    secret: str,
    secret_file: str,
    private_key: str,
    public_key: str,
    demo: bool,
) -> TokenKeys | None:
    """The keys the options describe (None: none configured).

    Raises:
        KeyConfigError: conflicting options, unreadable or unusable key (message names it).
    """
    if algorithm and algorithm not in ALGORITHMS:
        raise KeyConfigError(f"--jwt-algorithm: choose one of {', '.join(ALGORITHMS)}")
    if sum(map(bool, (secret, secret_file, private_key))) > 1:
        raise KeyConfigError("choose one of --jwt-secret, --jwt-secret-file and --jwt-private-key")
    if public_key and not private_key:
        raise KeyConfigError("--jwt-public-key needs --jwt-private-key (the gateway signs tokens)")
    if private_key:
        pem = _read(private_key, "--jwt-private-key")
        pub = _read(public_key, "--jwt-public-key") if public_key else None
        return key_pair(pem, pub, algorithm)
    if secret_file:
        secret = _read(secret_file, "--jwt-secret-file").decode(errors="replace").strip()
    if not secret:
        return None
    if algorithm and algorithm != HS256:
        raise KeyConfigError(f"--jwt-algorithm {algorithm} needs --jwt-private-key, not a secret")
    if len(secret) < MIN_SECRET_CHARS and not demo:
        raise KeyConfigError(
            f"the HS256 key must have at least {MIN_SECRET_CHARS} characters; make one with: "
            f"{MAKE_SECRET}"
        )
    return TokenKeys(HS256, secret, secret)


def sign(keys: TokenKeys, claims: dict[str, Any]) -> str:
    """``claims`` as a JWT signed with ``keys``."""
    return jwt.encode(claims, keys.signing_key, algorithm=keys.algorithm)
