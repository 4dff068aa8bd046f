"""Gateway security settings: keys, users file, TTLs, CORS and TLS options are checked at start."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.auth import issue_token, verify_token
from gateway.settings import GatewaySettings, SettingsError, load_settings

SECRET = "k" * 48


def settings(*argv: str) -> GatewaySettings:
    return load_settings(list(argv), env={})


def write_key(
    path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_outside_demo_without_key_and_users_says_how_to_make_them() -> None:
    with pytest.raises(SettingsError) as err:
        settings()
    message = str(err.value)
    assert "--jwt-secret" in message
    assert "secrets.token_urlsafe" in message
    assert "openssl genpkey" in message
    assert "webtrader user add" in message
    assert "--users-file" in message


def test_outside_demo_without_users_file_is_refused() -> None:
    with pytest.raises(SettingsError, match="webtrader user add") as err:
        settings("--jwt-secret", SECRET)
    assert "signing key" not in str(err.value)


def test_short_hs256_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        settings("--jwt-secret", "short", "--users-file", "u.json")


def test_secret_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(SECRET + "\n")
    s = settings("--jwt-secret-file", str(tmp_path / "key"), "--users-file", "u.json")
    assert s.token_keys.algorithm == "HS256"
    assert s.token_keys.signing_key == SECRET


def test_two_key_sources_are_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "k.pem", ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(SettingsError, match="choose one"):
        settings("--jwt-secret", SECRET, "--jwt-private-key", str(key), "--users-file", "u")


@pytest.mark.parametrize(
    ("make", "algorithm"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ed25519.Ed25519PrivateKey.generate, "EdDSA"),
    ],
)
def test_key_pair_algorithm_is_inferred_and_tokens_round_trip(
    tmp_path: Path, make: object, algorithm: str
) -> None:
    key = write_key(tmp_path / "k.pem", make())  # type: ignore[operator]
    s = settings("--jwt-private-key", str(key), "--users-file", "u.json")
    assert s.token_keys.algorithm == algorithm
    token = issue_token(s, "ann")
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert verify_token(s, token).username == "ann"


def test_algorithm_that_does_not_fit_the_key_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "k.pem", ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(SettingsError, match="does not fit"):
        settings("--jwt-private-key", str(key), "--jwt-algorithm", "RS256", "--users-file", "u")


def test_public_key_of_another_pair_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "k.pem", ed25519.Ed25519PrivateKey.generate())
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    (tmp_path / "o.pub").write_bytes(
        other.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(SettingsError, match="not the pair"):
        settings(
            "--jwt-private-key",
            str(key),
            "--jwt-public-key",
            str(tmp_path / "o.pub"),
            "--users-file",
            "u",
        )


def test_small_rsa_key_is_refused(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key = write_key(tmp_path / "k.pem", weak)
    with pytest.raises(SettingsError, match="2048"):
        settings("--jwt-private-key", str(key), "--users-file", "u")


def test_missing_key_file_is_named() -> None:
    with pytest.raises(SettingsError, match="--jwt-private-key: cannot read"):
        settings("--jwt-private-key", "/nonexistent/k.pem", "--users-file", "u")


def test_demo_signs_with_a_random_key_and_long_token_ttl() -> None:
    a, b = settings("--demo"), settings("--demo")
    assert a.token_keys.algorithm == "HS256"
    assert a.token_keys.signing_key != b.token_keys.signing_key
    assert a.token_ttl == 8 * 3600


def test_access_tokens_live_15_minutes_outside_demo_by_default() -> None:
    assert settings("--jwt-secret", SECRET, "--users-file", "u").token_ttl == 900
    s = settings("--jwt-secret", SECRET, "--users-file", "u", "--token-ttl", "60")
    assert s.token_ttl == 60


@pytest.mark.parametrize("origin", ["*", "https://a.example/path", "a.example", "null"])
def test_cors_origins_must_be_explicit_origins(origin: str) -> None:
    with pytest.raises(SettingsError, match="--cors-origins"):
        settings("--demo", "--cors-origins", origin)


def test_cors_origins_list() -> None:
    s = settings("--demo", "--cors-origins", "https://a.example, http://127.0.0.1:5173")
    assert s.cors_origin_list == ["https://a.example", "http://127.0.0.1:5173"]


def test_tls_needs_both_files(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    with pytest.raises(SettingsError, match="go together"):
        settings("--demo", "--tls-cert", str(tmp_path / "c.pem"))
    with pytest.raises(SettingsError, match="--tls-key: no such file"):
        settings("--demo", "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", "/nope")
