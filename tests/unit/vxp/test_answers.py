"""The VXP endpoint's answers: all text, read by the SDK as it reads them, errors mapped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.errors import (
    ConflictError,
    ForbiddenError,
    HubError,
    InvalidRequestError,
    MalformedPacketError,
    OversizePacketError,
    PayloadPurgedError,
    StorageError,
    UnauthorizedError,
    UnroutablePacketError,
)
from hub.vxp.answers import (
    AgencyItem,
    Answer,
    DocAnswer,
    EdocAnswer,
    ListAnswer,
    ReceivedItem,
    SentItem,
    refusal,
)
from hub.vxp.wire import ErrorCode
from simulators.vxpsdk.answers import (
    read_agencies,
    read_edoc,
    read_received,
    read_result,
    read_send,
    read_sent,
)
from simulators.vxpsdk.gson import parse

RECEIVED = ReceivedItem(
    doc_id="D1",
    service_type="eDoc",
    message_type="edoc",
    created_time="2026/12/07 08:00:00",
    updated_time="2026/12/07 08:00:01",
    from_code="000.00.00.G22",
    to_code="000.00.00.H41",
    status="pending",
    status_desc="Chưa nhận",
)
SENT = SentItem(
    sender_doc_id="P1",
    receiver_doc_id="D1",
    from_code="000.00.00.G22",
    to_code="000.00.00.H41",
    send_status="done",
    send_status_desc="Hub đã tiếp nhận",
    receive_status="pending",
    receive_status_desc="Chưa nhận (available)",
    service_type="eDoc",
    message_type="edoc",
    title="V/v kết nối",
    notation="7816/VPCP-TTĐT",
    sent_time="2026/12/07 08:00:00",
    received_time="",
)


def _wire(answer: Answer) -> Any:
    """The answer as the SDK receives it: JSON text, parsed as gson parses it."""
    return parse(json.dumps(answer.wire(), ensure_ascii=False).encode("utf-8"))


def _strings_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _strings_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(isinstance(item, dict) and _strings_only(item) for item in value)
    return isinstance(value, str)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(),
        DocAnswer(doc_id="P1"),
        DocAnswer(status="FAIL", error_code="AUTH_FAILED", error_desc="no"),
        EdocAnswer(doc_id="D1", data="PGVkWE1MLz4="),
        ListAnswer(data=[RECEIVED]),
        ListAnswer(data=[SENT]),
        ListAnswer(data=[AgencyItem(code="000.00.00.G17", name="HP", pid="000.00.00.H14")]),
    ],
)
def test_every_field_of_every_answer_is_text(answer: Answer) -> None:
    assert _strings_only(answer.wire())


def test_a_refused_send_still_carries_a_doc_id_the_sdk_reads() -> None:
    read = read_send(_wire(DocAnswer(status="FAIL", error_code="BAD_REQUEST", error_desc="x")))

    assert (read.status, read.error_code, read.doc_id) == ("FAIL", "BAD_REQUEST", "")


def test_the_sdk_reads_each_operations_answer() -> None:
    assert read_send(_wire(DocAnswer(doc_id="P1"))).doc_id == "P1"
    assert read_result(_wire(DocAnswer(doc_id="D1"))).ok
    assert read_edoc(_wire(EdocAnswer(doc_id="D1", data="PGVkWE1MLz4="))).data == b"<edXML/>"
    [received] = read_received(_wire(ListAnswer(data=[RECEIVED]))).items
    assert (received.doc_id, received.to_code, received.status) == (
        "D1",
        "000.00.00.H41",
        "pending",
    )
    [sent] = read_sent(_wire(ListAnswer(data=[SENT]))).items
    assert (sent.sender_doc_id, sent.receiver_doc_id, sent.to_code) == ("P1", "D1", "000.00.00.H41")
    [agency] = read_agencies(
        _wire(ListAnswer(data=[AgencyItem(code="000.00.00.G17", name="HP", pid="000.00.00.H14")]))
    ).items
    assert agency.pid == "000.00.00.H14"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UnauthorizedError("x", code="vxp.bad-signature"), (ErrorCode.AUTH_FAILED, 401)),
        (UnauthorizedError("x", code="vxp.timestamp-expired"), (ErrorCode.TIMESTAMP_EXPIRED, 401)),
        (ForbiddenError("x"), (ErrorCode.FORBIDDEN_SENDER, 403)),
        (InvalidRequestError("x", code="vxp.hash-mismatch"), (ErrorCode.HASH_MISMATCH, 400)),
        (
            MalformedPacketError("x", code="packet.kind-mismatch"),
            (ErrorCode.MESSAGE_TYPE_MISMATCH, 400),
        ),
        (MalformedPacketError("x", code="xml.dtd-forbidden"), (ErrorCode.INVALID_EDXML, 400)),
        (OversizePacketError("x"), (ErrorCode.BAD_REQUEST, 413)),
        (UnroutablePacketError("x"), (ErrorCode.UNKNOWN_RECIPIENT, 400)),
        (ConflictError("x"), (ErrorCode.BAD_REQUEST, 409)),
        (PayloadPurgedError("x"), (ErrorCode.NOT_FOUND, 410)),
        (InvalidRequestError("x"), (ErrorCode.BAD_REQUEST, 400)),
        (StorageError("x"), (ErrorCode.SERVICE_UNAVAILABLE, 503)),
        (HubError("x"), (ErrorCode.INTERNAL_ERROR, 500)),
    ],
)
def test_each_hub_error_has_an_axis_error_code_and_status(
    error: HubError, expected: tuple[ErrorCode, int]
) -> None:
    assert refusal(error) == expected
