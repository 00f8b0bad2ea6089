"""The API serving HTTPS itself, and requiring client certificates (mutual TLS).

A real ``lienthong serve`` process on a SQLite database, with a certificate authority, server
and client certificates made at test time; real TLS handshakes from httpx.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.bootstrap import server_tls
from hub.errors import ConfigurationError
from hub.settings import Settings, load_settings
from simulators.hubprocess import ManagedProcess, free_port, hub_environment

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


class Authority:
    """A throwaway CA writing PEM files into ``folder``."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            self._builder(subject, subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = folder / f"{name}.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(
        subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
        )

    def issue(self, common_name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = self._builder(subject, self.cert.subject, key.public_key()).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        stem = self.folder / f"{self.name}-{common_name}"
        issued = Issued(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return issued


@dataclass(frozen=True)
class Pki:
    ca: Authority
    server: Issued
    client: Issued
    stranger: Issued
    """A client certificate from another authority."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = Authority(folder, "city-ca")
    other = Authority(folder, "other-ca")
    return Pki(
        ca=ca,
        server=ca.issue("hub", server=True),
        client=ca.issue("agency", server=False),
        stranger=other.issue("agency", server=False),
    )


def _client(pki: Pki, cert: Issued | None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(pki.ca.pem))
    if cert is not None:
        context.load_cert_chain(str(cert.cert), str(cert.key))
    return httpx.Client(verify=context, timeout=5.0)


class Serve(Protocol):
    def __call__(self, pki: Pki, *, mutual: bool) -> str: ...


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start ``lienthong serve`` with the given TLS settings; stopped after the test."""
    started: list[ManagedProcess] = []

    def start(pki: Pki, *, mutual: bool) -> str:
        port = free_port()
        settings = {
            "LIENTHONG_DATA_DIR": str(tmp_path / "var"),
            "LIENTHONG_PORT": str(port),
            "LIENTHONG_AUTO_MIGRATE": "always",
            "LIENTHONG_TLS_CERT_FILE": str(pki.server.cert),
            "LIENTHONG_TLS_KEY_FILE": str(pki.server.key),
        }
        if mutual:
            settings["LIENTHONG_TLS_CLIENT_CA_FILE"] = str(pki.ca.pem)
        url = f"https://{HOST}:{port}"

        def ready() -> bool:
            try:
                with _client(pki, pki.client) as client:
                    return client.get(f"{url}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        process = ManagedProcess(
            [sys.executable, "-m", "hub.cli", "serve"],
            root=Path.cwd(),
            environment=hub_environment(settings),
            log_path=tmp_path / "serve.log",
            ready=ready,
            name="serve",
        )
        started.append(process.start(timeout=60))
        return url

    yield start
    for process in started:
        process.stop()


def test_the_api_serves_https_with_its_certificate(pki: Pki, serve: Serve) -> None:
    url = serve(pki, mutual=False)
    with _client(pki, None) as client:
        assert client.get(f"{url}/healthz").status_code == 200
        answer = client.get(f"{url}/api/v1/inbox")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "auth.missing"


def test_plain_http_to_the_tls_port_gets_no_api_answer(pki: Pki, serve: Serve) -> None:
    url = serve(pki, mutual=False).replace("https://", "http://")
    with httpx.Client(timeout=5.0) as client:
        try:
            answer = client.get(f"{url}/healthz")
        except httpx.HTTPError:
            return
    assert answer.status_code != 200


def test_mutual_tls_admits_a_client_certificate_of_the_configured_authority(
    pki: Pki,
    serve: Serve,
) -> None:
    url = serve(pki, mutual=True)
    with _client(pki, pki.client) as client:
        assert client.get(f"{url}/healthz").status_code == 200
        assert client.get(f"{url}/api/v1/inbox").json()["error"]["code"] == "auth.missing"


def test_mutual_tls_refuses_a_client_without_a_certificate(pki: Pki, serve: Serve) -> None:
    url = serve(pki, mutual=True)
    with _client(pki, None) as client, pytest.raises(httpx.HTTPError):
        client.get(f"{url}/healthz")


def test_mutual_tls_refuses_a_certificate_from_another_authority(pki: Pki, serve: Serve) -> None:
    url = serve(pki, mutual=True)
    with _client(pki, pki.stranger) as client, pytest.raises(httpx.HTTPError):
        client.get(f"{url}/healthz")


def test_a_certificate_without_its_key_is_a_configuration_error(pki: Pki) -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_TLS_KEY_FILE"):
        load_settings(tls_cert_file=pki.server.cert)


def test_client_authorities_without_a_server_certificate_are_a_configuration_error(
    pki: Pki,
) -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_TLS_CLIENT_CA_FILE"):
        load_settings(tls_client_ca_file=pki.ca.pem)


def test_a_missing_certificate_file_is_named(pki: Pki, tmp_path: Path) -> None:
    settings = Settings(tls_cert_file=tmp_path / "absent.crt", tls_key_file=pki.server.key)
    with pytest.raises(ConfigurationError, match="LIENTHONG_TLS_CERT_FILE: no such file"):
        server_tls(settings)


def test_the_api_serves_plain_http_without_tls_settings() -> None:
    assert server_tls(Settings()) == {}
