"""Pushes over TLS to agencies that require the hub's client certificate (mutual TLS).

A real HTTPS server in this process, with a CA, server and client certificates made at test
time; the worker's HTTP client is built from the settings as ``lienthong worker`` builds it.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from adapters.http import make_http_client
from hub.bootstrap import client_tls
from hub.channels import Channel
from hub.channels.base import DeliveryJob
from hub.channels.webhook import WebhookHandler
from hub.db.models import DeliveryState
from hub.errors import ConfigurationError, TransientDeliveryError
from hub.settings import Settings, load_settings
from tests.integration.pki import HOST, Authority, Issued


class _Agency(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        subject = dict(part[0] for part in peer["subject"]) if peer else {}
        self.server.client_names.append(subject.get("commonName"))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    city = Authority(folder, "city-ca")
    return {
        "ca": city,
        "server": city.issue("agency", server=True),
        "hub": city.issue("hub", server=False),
    }


@pytest.fixture
def agency(pki: dict[str, Any]) -> Iterator[tuple[str, list[str | None]]]:
    """An HTTPS webhook that requires a client certificate of the city's authority."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert: Issued = pki["server"]
    context.load_cert_chain(str(server_cert.cert), str(server_cert.key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(pki["ca"].pem))
    server = ThreadingHTTPServer((HOST, 0), _Agency)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.client_names = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://{HOST}:{server.server_address[1]}/edxml", server.client_names  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def push(settings: Settings, url: str) -> DeliveryState:
    client = make_http_client(
        connect_timeout=2.0, read_timeout=5.0, max_connections=2, tls=client_tls(settings)
    )
    job = DeliveryJob(
        delivery_id="01TLS",
        packet_id="01PACKET",
        recipient="000.00.12.H26",
        channel=Channel.WEBHOOK,
        blob="0" * 64,
        kind="edoc",
        attempt=1,
        settings={"url": url},
    )
    try:
        return WebhookHandler(client).deliver(job, b"<edXMLEnvelope/>").state
    finally:
        client.close()


def test_the_hub_presents_its_client_certificate_to_an_agency_that_requires_one(
    pki: dict[str, Any], agency: tuple[str, list[str | None]]
) -> None:
    url, client_names = agency
    settings = Settings(
        webhook_ca_file=pki["ca"].pem,
        webhook_client_cert_file=pki["hub"].cert,
        webhook_client_key_file=pki["hub"].key,
    )

    assert push(settings, url) is DeliveryState.DELIVERED
    assert client_names == ["hub"]


def test_without_a_client_certificate_the_push_fails_and_is_retried(
    pki: dict[str, Any], agency: tuple[str, list[str | None]]
) -> None:
    url, client_names = agency

    with pytest.raises(TransientDeliveryError) as raised:
        push(Settings(webhook_ca_file=pki["ca"].pem), url)

    assert raised.value.code == "delivery.webhook_unreachable"
    assert client_names == []


def test_an_agency_certificate_from_an_unknown_authority_is_not_trusted(
    pki: dict[str, Any], agency: tuple[str, list[str | None]]
) -> None:
    url, client_names = agency
    settings = Settings(
        webhook_client_cert_file=pki["hub"].cert, webhook_client_key_file=pki["hub"].key
    )

    with pytest.raises(TransientDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        push(settings, url)
    assert client_names == []


def test_a_client_certificate_without_its_key_is_a_configuration_error(
    pki: dict[str, Any],
) -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_WEBHOOK_CLIENT_KEY_FILE"):
        load_settings(webhook_client_cert_file=pki["hub"].cert)


def test_a_missing_authority_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_WEBHOOK_CA_FILE"):
        client_tls(Settings(webhook_ca_file=tmp_path / "absent.pem"))


def test_without_tls_settings_the_system_defaults_are_used() -> None:
    assert client_tls(Settings()) is None
