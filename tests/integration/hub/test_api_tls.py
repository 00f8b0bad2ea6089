"""The API serving HTTPS itself, and requiring client certificates (mutual TLS).

A real ``lienthong serve`` process on a SQLite database, with a certificate authority, server
and client certificates made at test time; real TLS handshakes from httpx.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from hub.bootstrap import server_tls
from hub.errors import ConfigurationError
from hub.settings import Settings, load_settings
from simulators.hubprocess import ManagedProcess, free_port, hub_environment
from tests.integration.pki import HOST, Authority, Issued


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
