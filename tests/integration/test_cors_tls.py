"""CORS with an explicit allow-list, and TLS served by the gateway itself."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import Gateway, NatsServer

ALLOWED = "https://trader.example.com"
OTHER = "https://evil.example.net"
LOGIN = {"username": "vnpy", "password": "vnpy"}


@pytest.fixture(scope="module")
def cors_gateway(nats_server: NatsServer, sim_bridge: object) -> Iterator[Gateway]:
    gw = Gateway(
        nats_server.url, "sim", "--demo", "--cors-origins", f"{ALLOWED},http://127.0.0.1:5173"
    )
    gw.start_gateway()
    yield gw
    gw.stop()


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_no_cors_headers_by_default(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        r = await c.post("/token", data=LOGIN, headers={"Origin": ALLOWED})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        pre = await c.options("/order", headers=preflight(ALLOWED))
        assert "access-control-allow-origin" not in pre.headers


async def test_allowed_origin_gets_cors_headers(cors_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway.url, timeout=10) as c:
        pre = await c.options("/order", headers=preflight(ALLOWED))
        assert pre.status_code in (200, 204), pre.text
        assert pre.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in pre.headers
        login = await c.post("/token", data=LOGIN, headers={"Origin": ALLOWED})
        assert login.status_code == 200
        assert login.headers["access-control-allow-origin"] == ALLOWED
        assert "retry-after" in login.headers["access-control-expose-headers"].lower()


async def test_other_origin_gets_no_cors_headers(cors_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway.url, timeout=10) as c:
        pre = await c.options("/order", headers=preflight(OTHER))
        assert "access-control-allow-origin" not in pre.headers
        assert pre.status_code == 400  # Litestar refuses the preflight: "Disallowed CORS origin"
        login = await c.post("/token", data=LOGIN, headers={"Origin": OTHER})
        assert "access-control-allow-origin" not in login.headers


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_gateway(
    nats_server: NatsServer, sim_bridge: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Path, str]]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    gw = Gateway(nats_server.url, "sim", "--demo", "--tls-cert", str(cert), "--tls-key", str(key))
    ready = gw.start(r"gateway ready (\S+)")
    yield gw, cert, ready.group(1)
    gw.stop()


async def test_tls_gateway_serves_https_with_its_certificate(
    tls_gateway: tuple[Gateway, Path, str],
) -> None:
    gw, cert, ready_url = tls_gateway
    assert ready_url == f"https://127.0.0.1:{gw.port}"
    trust = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(base_url=ready_url, verify=trust, timeout=10) as c:
        login = await c.post("/token", data=LOGIN)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        r = await c.get("/contract", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text


async def test_tls_gateway_is_not_trusted_without_its_certificate_nor_plain_http(
    tls_gateway: tuple[Gateway, Path, str],
) -> None:
    gw, _, ready_url = tls_gateway
    async with httpx.AsyncClient(timeout=10) as c:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await c.post(f"{ready_url}/token", data=LOGIN)
        with pytest.raises(httpx.HTTPError):
            await c.post(f"http://127.0.0.1:{gw.port}/token", data=LOGIN)
