"""What the simulated axis checks on each call, with hand-made requests."""

from __future__ import annotations

import datetime as dt

import httpx

from adapters.axis.protocol import ProtocolOptions, format_timestamp, signed_headers
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
