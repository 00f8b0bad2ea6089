"""What the simulated axis checks on each call, with hand-made requests."""

from __future__ import annotations

import datetime as dt

import httpx

from adapters.axis.protocol import ProtocolOptions, format_timestamp, hmac_hex, signed_headers
from tests.integration.axis.conftest import VPCP


def _signed(secret: str, **params: str) -> dict[str, str]:
    return signed_headers(
        params,
        system_id=VPCP,
        secret=secret,
        timestamp=format_timestamp(dt.datetime.now(dt.UTC)),
        options=ProtocolOptions(),
    )


def test_a_correctly_signed_call_is_served(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    answer = admin.post(
        "/getReceivedEdocList", headers=_signed(system_secrets[VPCP], messagetype="edoc")
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "OK",
        "ErrorCode": "0",
        "ErrorDesc": "Thành công",
        "data": [],
    }


def test_an_unsigned_call_is_refused(admin: httpx.Client) -> None:
    answer = admin.post("/getAgenciesList", headers={"XroadVnpt-systemid": VPCP})

    assert answer.status_code == 401
    assert answer.json()["ErrorCode"] == "AUTH_FAILED"


def test_a_parameter_changed_after_signing_is_refused(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], messagetype="edoc")
    headers["XroadVnpt-messagetype"] = "status"

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert answer.status_code == 401
    assert "differs from its signed value" in answer.json()["ErrorDesc"]


def test_a_key_list_that_does_not_match_the_signed_headers_is_refused(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], messagetype="edoc")
    headers["XroadVnpt-sign-header-key"] = "systemid;timestamp"

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert answer.json()["ErrorCode"] == "AUTH_FAILED"


def test_a_wrong_service_type_is_a_bad_request(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], servicetype="eForm")

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert (answer.status_code, answer.json()["ErrorCode"]) == (400, "BAD_REQUEST")


def test_an_acknowledgement_other_than_done_fail_processing_is_a_bad_request(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], docId="x", status="read")

    answer = admin.post("/updateStatus", headers=headers)

    assert answer.json()["ErrorCode"] == "BAD_REQUEST"


def test_operator_endpoints_never_show_secrets(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    answer = admin.get("/_sim/systems")

    assert {system["id"] for system in answer.json()} == set(system_secrets)
    assert not any(secret in answer.text for secret in system_secrets.values())


def test_the_signature_is_checked_over_the_sign_header_text_as_received(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    stamp = format_timestamp(dt.datetime.now(dt.UTC))
    text = (
        '{ "XroadVnpt-timestamp" : "' + stamp + '", "XroadVnpt-messagetype": "edoc",'
        ' "XroadVnpt-systemid": "' + VPCP + '" }'
    )
    headers = {
        "XroadVnpt-systemid": VPCP,
        "XroadVnpt-timestamp": stamp,
        "XroadVnpt-messagetype": "edoc",
        "XroadVnpt-sign-header-key": "timestamp;messagetype;systemid",
        "XroadVnpt-sign-header": text,
        "XroadVnpt-hash-header": hmac_hex(system_secrets[VPCP], text),
    }

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert (answer.status_code, answer.json()["status"]) == (200, "OK")


def test_a_signed_header_missing_from_the_request_is_refused(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], messagetype="edoc")
    del headers["XroadVnpt-messagetype"]

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert answer.status_code == 401
    assert "signed but not sent" in answer.json()["ErrorDesc"]


def test_a_refused_send_still_answers_an_empty_doc_id(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers = _signed(system_secrets[VPCP], servicetype="eDoc", messagetype="edoc")

    answer = admin.post("/sendEdoc", headers=headers, content=b"<edXML/>")

    assert answer.status_code == 400
    assert answer.json() == {
        "status": "FAIL",
        "ErrorCode": "BAD_REQUEST",
        "ErrorDesc": "the from parameter is required",
        "DocId": "",
    }


def test_a_signature_that_is_not_ascii_is_refused_not_crashed_on(
    admin: httpx.Client, system_secrets: dict[str, str]
) -> None:
    headers: dict[str, str | bytes] = {**_signed(system_secrets[VPCP], messagetype="edoc")}
    headers["XroadVnpt-hash-header"] = "é".encode()

    answer = admin.post("/getReceivedEdocList", headers=headers)

    assert (answer.status_code, answer.json()["ErrorCode"]) == (401, "AUTH_FAILED")
