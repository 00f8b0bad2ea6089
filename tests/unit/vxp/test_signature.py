"""Reading and checking a VXP call as the official SDK signs it (AXIS-SDK.md, "Signature")."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

from hub.errors import UnauthorizedError
from hub.vxp.signature import check_clock, matching_secret, read_call
from hub.vxp.wire import Operation
from tests.unit.packets import status_bytes
from tests.unit.vxp.sdk import SECRET, SYSTEM, YESTERDAY, Capture, raw, replaced


def _send(capture: Capture) -> list[tuple[bytes, bytes]]:
    data = status_bytes("01")
    return raw(
        capture.last(
            lambda sdk: sdk.send_edoc(
                data, sender=SYSTEM, to=["000.00.00.G22"], message_type="status"
            )
        )
    )


def test_a_call_of_the_sdk_is_read_with_its_system_and_parameters() -> None:
    call = read_call(_send(Capture()))

    assert call.system_id == SYSTEM
    assert call.param("from") == SYSTEM
    assert call.param("messagetype") == "status"
    assert call.param("to") == '["000.00.00.G22"]'
    assert call.param("Content-Type") == "application/octet-stream"


def test_the_sdk_signature_verifies_under_its_secret_only() -> None:
    call = read_call(_send(Capture()))

    assert matching_secret(call, [("old", "another secret"), ("current", SECRET)]) == "current"
    assert matching_secret(call, [("other", "another secret")]) is None


def test_a_sign_header_in_any_key_order_verifies_when_signed_as_received() -> None:
    headers = _send(Capture())
    original = next(v for k, v in headers if k.lower() == b"xroadvnpt-sign-header")
    reordered = json.dumps(dict(sorted(json.loads(original).items())), indent=1).encode()
    digest = hmac.new(SECRET.encode(), reordered, hashlib.sha256).hexdigest()
    headers = [(k, reordered if k.lower() == b"xroadvnpt-sign-header" else v) for k, v in headers]
    headers = [
        (k, digest.encode() if k.lower() == b"xroadvnpt-hash-header" else v) for k, v in headers
    ]

    assert matching_secret(read_call(headers), [(1, SECRET)]) == 1


def test_a_sign_header_changed_after_signing_does_not_verify() -> None:
    headers = _send(Capture())
    original = next(v for k, v in headers if k.lower() == b"xroadvnpt-sign-header")
    spaced = json.dumps(json.loads(original)).encode()
    headers = [(k, spaced if k.lower() == b"xroadvnpt-sign-header" else v) for k, v in headers]

    assert matching_secret(read_call(headers), [(1, SECRET)]) is None


def test_an_unsigned_call_is_refused() -> None:
    capture = Capture()
    request = capture.last(lambda sdk: sdk.get_agencies_list())

    with pytest.raises(UnauthorizedError) as caught:
        read_call(replaced(request, "XroadVnpt-hash-header", None))

    assert caught.value.code == "vxp.unsigned"


def test_a_header_sent_otherwise_than_signed_is_refused() -> None:
    capture = Capture()
    request = capture.last(lambda sdk: sdk.get_received_edoc_list("edoc"))

    with pytest.raises(UnauthorizedError) as caught:
        read_call(replaced(request, "XroadVnpt-messagetype", b"status"))

    assert caught.value.code == "vxp.altered-header"


def test_a_signed_header_left_out_is_refused() -> None:
    capture = Capture()
    request = capture.last(lambda sdk: sdk.get_received_edoc_list("edoc"))

    with pytest.raises(UnauthorizedError) as caught:
        read_call(replaced(request, "XroadVnpt-servicetype", None))

    assert caught.value.code == "vxp.unsent-header"


def test_a_sign_header_key_listing_other_names_is_refused() -> None:
    capture = Capture()
    request = capture.last(lambda sdk: sdk.get_agencies_list())

    with pytest.raises(UnauthorizedError) as caught:
        read_call(replaced(request, "XroadVnpt-sign-header-key", b"timestamp;systemid;from"))

    assert caught.value.code == "vxp.bad-sign-header"


def test_an_sdk_object_that_used_both_doc_id_spellings_is_read_for_each_operation() -> None:
    capture = Capture()
    capture.sdk.get_edoc("DOC-A", doc_id_key="docId")
    request = capture.last(lambda sdk: sdk.update_status("DOC-B", "done", doc_id_key="docid"))
    call = read_call(raw(request))

    assert call.doc_id(Operation.UPDATE_STATUS) == "DOC-B"
    assert call.doc_id(Operation.GET_EDOC) == "DOC-A"
    assert matching_secret(call, [(1, SECRET)]) == 1


def test_a_frozen_timestamp_is_accepted_unless_a_clock_skew_is_set() -> None:
    call = read_call(raw(Capture().last(lambda sdk: sdk.get_agencies_list())))
    now = YESTERDAY + dt.timedelta(days=1)

    check_clock(call, now, None)
    with pytest.raises(UnauthorizedError) as caught:
        check_clock(call, now, 300.0)

    assert caught.value.code == "vxp.timestamp-expired"


def test_a_fresh_timestamp_passes_the_clock_check() -> None:
    call = read_call(raw(Capture().last(lambda sdk: sdk.get_agencies_list())))

    check_clock(call, YESTERDAY + dt.timedelta(seconds=20), 300.0)
