"""What the hub's VXP endpoint refuses, answered so that the SDK reads every refusal.

Wrong, revoked or unknown credentials, altered packets and hostile input get FAIL answers the
SDK reads (``status``, ``ErrorCode``, ``ErrorDesc`` as text, and ``DocId`` on ``sendEdoc``),
under a meaningful HTTP status, with the same limits as the agency API.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from edxml.builder import build
from edxml.compose import new_document
from edxml.models import Organization
from hub.auth.tokens import issue_token
from hub.db.database import Database
from hub.settings import Settings
from hub.vxp.secrets import list_secrets, revoke_secret
from simulators.vxpsdk import VxpSdk

from .conftest import G22, H14, H41, VxpHub, serving

pytestmark = pytest.mark.integration


def _document(subject: str = "Về việc kiểm tra", sender: str = G22) -> bytes:
    packet, contents = new_document(
        sender=Organization(organ_id=sender, organ_name="Cơ quan gửi"),
        recipients=(Organization(organ_id=H14, organ_name="UBND tỉnh Cao Bằng"),),
        number="7",
        notation="VPCP-TH",
        subject=subject,
        date=dt.date(2026, 12, 7),
        place="Hà Nội",
        timestamp=dt.datetime(2026, 12, 7, 10, 0, 0),
    )
    return build(packet, contents)


def _status(sdk: VxpSdk) -> int | None:
    exchange = sdk.last_exchange
    assert exchange is not None
    return exchange.response.status_code if exchange.response is not None else None


def test_a_wrong_secret_gets_a_readable_auth_failure_on_every_call(vxp_hub: VxpHub) -> None:
    sdk = vxp_hub.sdk(G22, secret="ltv_not-the-secret")

    sent = sdk.send_edoc(_document(), sender=G22)
    listed = sdk.get_received_edoc_list("edoc")
    agencies = sdk.get_agencies_list()

    assert sent is not None
    assert (sent.status, sent.error_code, sent.doc_id) == ("FAIL", "AUTH_FAILED", "")
    assert "[vxp.bad-signature]" in sent.error_desc
    assert _status(sdk) == 401
    assert listed is not None
    assert agencies is not None
    assert {listed.error_code, agencies.error_code} == {"AUTH_FAILED"}


def test_an_unknown_system_is_told_how_to_get_connected(vxp_hub: VxpHub) -> None:
    sdk = vxp_hub.sdk(G22, system="vxp.saas.03", secret="whatever")

    answer = sdk.get_received_edoc_list("edoc")

    assert answer is not None
    assert answer.error_code == "AUTH_FAILED"
    assert "[vxp.unknown-system]" in answer.error_desc
    assert "vxp-secret" in answer.error_desc


def test_a_rotated_secret_works_beside_the_old_one_until_that_is_revoked(
    vxp_hub: VxpHub,
) -> None:
    old = vxp_hub.secrets[H41]
    new = vxp_hub.issue(H41, "rotation")

    before = (
        vxp_hub.sdk(H41, secret=old).get_agencies_list(),
        vxp_hub.sdk(H41, secret=new).get_agencies_list(),
    )
    with vxp_hub.database.transaction() as session:
        _, secrets = list_secrets(session, H41)
        revoke_secret(session, H41, secrets[0].id)
    after_old = vxp_hub.sdk(H41, secret=old).get_agencies_list()
    after_new = vxp_hub.sdk(H41, secret=new).get_agencies_list()

    assert [answer.error_code if answer else None for answer in before] == ["0", "0"]
    assert after_old is not None
    assert after_old.error_code == "AUTH_FAILED"
    assert "[vxp.secret-revoked]" in after_old.error_desc
    assert after_new is not None
    assert after_new.ok


class _Altering(httpx.BaseTransport):
    """Sends the request with its body changed on the way (one byte flipped)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = bytearray(request.read())
        if body:
            body[len(body) // 2] ^= 0x01
        altered = httpx.Request(
            request.method, request.url, headers=request.headers, content=bytes(body)
        )
        return self._inner.handle_request(altered)

    def close(self) -> None:
        self._inner.close()


def test_a_packet_altered_on_the_way_is_a_hash_mismatch(vxp_hub: VxpHub) -> None:
    sdk = VxpSdk(vxp_hub.endpoint, G22, vxp_hub.secrets[G22], transport=_Altering())

    sent = sdk.send_edoc(_document(), sender=G22)
    sdk.close()

    assert sent is not None
    assert (sent.status, sent.error_code, sent.doc_id) == ("FAIL", "HASH_MISMATCH", "")
    assert vxp_hub.work() == 0


def test_a_packet_with_a_doctype_is_refused_as_invalid_edxml(vxp_hub: VxpHub) -> None:
    data = _document().replace(
        b"?>", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1
    )
    sdk = vxp_hub.sdk(G22)

    sent = sdk.send_edoc(data, sender=G22)

    assert sent is not None
    assert (sent.error_code, sent.doc_id) == ("INVALID_EDXML", "")
    assert "[xml.dtd-forbidden]" in sent.error_desc


def test_a_document_sent_as_a_status_is_a_message_type_mismatch(vxp_hub: VxpHub) -> None:
    sdk = vxp_hub.sdk(G22)

    sent = sdk.send_edoc(_document(), sender=G22, message_type="status")

    assert sent is not None
    assert sent.error_code == "MESSAGE_TYPE_MISMATCH"
    assert vxp_hub.work() == 0


def test_sending_for_an_agency_the_system_does_not_serve_is_forbidden(vxp_hub: VxpHub) -> None:
    sdk = vxp_hub.sdk(H41)

    by_parameter = sdk.send_edoc(_document(), sender=G22)
    by_packet = sdk.send_edoc(_document(), sender=H41)

    assert by_parameter is not None
    assert by_packet is not None
    assert (by_parameter.error_code, by_packet.error_code) == (
        "FORBIDDEN_SENDER",
        "FORBIDDEN_SENDER",
    )


def test_another_agencys_delivery_is_not_found(vxp_hub: VxpHub) -> None:
    vxp_hub.sdk(G22).send_edoc(_document(), sender=G22)
    vxp_hub.work()
    [item] = vxp_hub.sdk(H14).get_received_edoc_list("edoc").items  # type: ignore[union-attr]
    stranger = vxp_hub.sdk(H41)

    fetched = stranger.get_edoc(item.doc_id)

    assert fetched is not None
    assert (fetched.status, fetched.error_code, fetched.data) == ("FAIL", "NOT_FOUND", None)
    assert _status(stranger) == 404


def test_a_packet_over_the_size_limit_is_refused_before_it_is_read(
    vxp_hub: VxpHub, settings: Settings, database: Database
) -> None:
    data = _document()
    small = settings.replace(max_packet_bytes=len(data) - 1)
    with serving(small, database) as endpoint:
        sdk = VxpSdk(endpoint, G22, vxp_hub.secrets[G22])
        sent = sdk.send_edoc(data, sender=G22)
        status = _status(sdk)
        sdk.close()

    assert sent is not None
    assert (sent.error_code, sent.doc_id, status) == ("BAD_REQUEST", "", 413)
    assert "[packet.too-large]" in sent.error_desc


def test_a_frozen_timestamp_is_refused_only_when_a_clock_skew_is_set(
    vxp_hub: VxpHub, settings: Settings, database: Database
) -> None:
    strict = settings.replace(vxp_max_clock_skew=300)
    with serving(strict, database) as endpoint:
        stale = VxpSdk(
            endpoint,
            G22,
            vxp_hub.secrets[G22],
            clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        )
        fresh = VxpSdk(endpoint, G22, vxp_hub.secrets[G22])
        answers = (stale.get_agencies_list(), fresh.get_agencies_list())
        stale.close()
        fresh.close()

    assert [answer.error_code if answer else None for answer in answers] == [
        "TIMESTAMP_EXPIRED",
        "0",
    ]


def test_without_a_key_the_endpoint_answers_readably_that_it_cannot_serve(
    vxp_hub: VxpHub, settings: Settings, database: Database
) -> None:
    keyless = settings.replace(vxp_keys="")
    with serving(keyless, database) as endpoint:
        sdk = VxpSdk(endpoint, G22, vxp_hub.secrets[G22])
        sent = sdk.send_edoc(_document(), sender=G22)
        status = _status(sdk)
        sdk.close()

    assert sent is not None
    assert (sent.error_code, sent.doc_id, status) == ("SERVICE_UNAVAILABLE", "", 503)


def test_secrets_are_stored_encrypted(vxp_hub: VxpHub) -> None:
    with vxp_hub.database.engine.connect() as connection:
        stored = repr(list(connection.exec_driver_sql("SELECT * FROM vxp_secrets")))

    assert all(secret not in stored for secret in vxp_hub.secrets.values())
    assert all(secret[4:] not in stored for secret in vxp_hub.secrets.values())


def test_the_endpoint_counts_its_calls_by_operation_and_error_code(vxp_hub: VxpHub) -> None:
    vxp_hub.sdk(G22).get_agencies_list()
    vxp_hub.sdk(G22, secret="ltv_not-the-secret").get_agencies_list()

    text = httpx.get(vxp_hub.endpoint.removesuffix("/vxp") + "/metrics").text

    assert 'lienthong_vxp_calls_total{error_code="0",operation="getAgenciesList"} 1.0' in text
    assert (
        'lienthong_vxp_calls_total{error_code="AUTH_FAILED",operation="getAgenciesList"} 1.0'
        in text
    )


def test_send_edoc_shares_the_agency_s_upload_slots_with_the_agency_api(
    vxp_hub: VxpHub, settings: Settings, database: Database
) -> None:
    with database.transaction() as session:
        token = issue_token(session, G22, "test").token
    narrow = settings.replace(max_uploads_per_agency=1)
    with serving(narrow, database) as endpoint:
        host, port = urlsplit(endpoint).hostname, urlsplit(endpoint).port
        holding = socket.create_connection((host, port), timeout=20)
        holding.sendall(
            b"POST /api/v1/packets HTTP/1.1\r\nHost: hub.test\r\nContent-Length: 1000\r\n"
            + f"Authorization: Bearer {token}\r\n\r\n<".encode()
        )
        time.sleep(0.3)
        sdk = VxpSdk(endpoint, G22, vxp_hub.secrets[G22])
        sent = sdk.send_edoc(_document(), sender=G22)
        exchange = sdk.last_exchange
        holding.close()
        sdk.close()

    assert sent is not None
    assert (sent.status, sent.error_code, sent.doc_id) == ("FAIL", "SERVICE_UNAVAILABLE", "")
    assert "[upload.agency-busy]" in sent.error_desc
    assert exchange is not None
    assert exchange.response is not None
    assert exchange.response.status_code == 429
    assert int(exchange.response.headers["retry-after"]) > 0


def test_a_sign_header_naming_a_lone_surrogate_is_refused_readably_not_a_crash(
    vxp_hub: VxpHub,
) -> None:
    sign_header = '{"XroadVnpt-systemid": "' + G22 + '", "XroadVnpt-\\udc80": "x"}'
    response = httpx.post(
        f"{vxp_hub.endpoint}/getAgenciesList",
        content=b"{}",
        headers={
            "XroadVnpt-systemid": G22,
            "XroadVnpt-sign-header": sign_header,
            "XroadVnpt-hash-header": "00",
        },
    )

    assert response.status_code == 401
    assert (response.json()["status"], response.json()["ErrorCode"]) == ("FAIL", "AUTH_FAILED")


def test_a_signed_system_id_holding_a_nul_never_reaches_the_database(vxp_hub: VxpHub) -> None:
    sign_header = '{"XroadVnpt-systemid": "' + G22 + '\\u0000"}'
    response = httpx.post(
        f"{vxp_hub.endpoint}/getAgenciesList",
        content=b"{}",
        headers={
            "XroadVnpt-systemid": G22,
            "XroadVnpt-sign-header": sign_header,
            "XroadVnpt-hash-header": "00",
        },
    )

    assert (response.status_code, response.json()["ErrorCode"]) == (401, "AUTH_FAILED")
