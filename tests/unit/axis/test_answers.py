"""Reading the axis's answers leniently: field names in any case, values in several shapes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from adapters.axis.protocol import (
    ProtocolOptions,
    read_agencies,
    read_answer,
    read_content,
    read_received,
    read_sent,
)

OPTIONS = ProtocolOptions()


def _answer(payload: Any, *, http_ok: bool = True) -> Any:
    return read_answer(payload, http_ok=http_ok, options=OPTIONS)


@pytest.mark.parametrize("name", ["DocId", "docId", "doc_id", "DOCID", "doc-id", "DocID"])
def test_the_doc_id_is_found_whatever_its_spelling(name: str) -> None:
    assert _answer({"status": "OK", name: "tx-1"}).doc_id == "tx-1"


@pytest.mark.parametrize("status", ["OK", "ok", "Success", "SUCCESS"])
def test_ok_statuses_are_recognised_in_any_case(status: str) -> None:
    assert _answer({"Status": status}).ok


def test_fail_carries_its_code_and_description_under_any_spelling() -> None:
    answer = _answer({"STATUS": "FAIL", "error_code": "E42", "errorDescription": "bad"})

    assert (answer.ok, answer.error_code, answer.error_desc) == (False, "E42", "bad")


def test_without_a_status_a_2xx_answer_with_no_error_code_is_ok() -> None:
    assert _answer({"data": []}).ok
    assert _answer({"ErrorCode": "0"}).ok
    assert not _answer({"ErrorCode": "E1"}).ok
    assert not _answer({"data": []}, http_ok=False).ok


def test_a_bare_list_is_read_as_the_data() -> None:
    answer = _answer([{"docId": "a"}])

    assert answer.ok
    assert answer.data == [{"docId": "a"}]


def test_received_items_are_read_from_varied_field_names() -> None:
    data = [
        {
            "DocID": "a",
            "From": "000.00.00.G22",
            "TO": '["000.00.00.H26","000.00.12.H26"]',
            "MessageType": "STATUS",
            "Status": "pending",
            "CreatedTime": "2026/11/20 08:30:00",
        },
        {"doc_id": "b", "sender": "000.00.00.G06", "to": "000.00.00.H26; 000.00.12.H26"},
        {"docid": "c", "receivers": [{"OrganId": "000.00.00.H26"}, "000.00.12.H26"]},
    ]

    items = read_received(data, message_type="edoc")

    assert [(i.doc_id, i.message_type) for i in items] == [
        ("a", "status"),
        ("b", "edoc"),
        ("c", "edoc"),
    ]
    assert items[0].sender == "000.00.00.G22"
    assert items[0].created_time == "2026/11/20 08:30:00"
    assert {i.recipients for i in items} == {("000.00.00.H26", "000.00.12.H26")}


def test_received_items_without_a_doc_id_are_skipped() -> None:
    assert (
        read_received([{"from": "x"}, "junk", {"docId": "a"}], message_type="edoc")[0].doc_id == "a"
    )
    assert read_received(None, message_type="edoc") == []


def test_a_list_wrapped_in_an_object_is_unwrapped() -> None:
    items = read_received({"items": [{"docId": "a"}], "total": 1}, message_type="status")

    assert [(i.doc_id, i.message_type) for i in items] == [("a", "status")]


def test_one_packet_listed_once_per_receiving_code_is_read_as_one_item() -> None:
    data = [
        {"docId": "a", "from": "000.00.00.G22", "to": "000.00.00.H26", "status": "pending"},
        {"docId": "b", "from": "000.00.00.G22", "to": "000.00.00.H26"},
        {"docId": "a", "from": "000.00.00.G22", "to": "000.00.12.H26", "status": "pending"},
    ]

    items = read_received(data, message_type="edoc")

    assert [(i.doc_id, i.recipients) for i in items] == [
        ("a", ("000.00.00.H26", "000.00.12.H26")),
        ("b", ("000.00.00.H26",)),
    ]


def test_a_single_recipient_written_as_json_text_is_read() -> None:
    [item] = read_received([{"docId": "a", "to": '"000.00.00.H26"'}], message_type="edoc")

    assert item.recipients == ("000.00.00.H26",)


SENT_ITEM = {
    "senderDocId": "a",
    "receiverDocId": "a-1",
    "fromCode": "000.00.00.H26",
    "toCode": "000.00.00.G22",
    "sendStatus": "done",
    "sendStatusDesc": "Đã gửi",
    "receiveStatus": "pending",
    "receiveStatusDesc": "Chưa nhận",
    "serviceType": "eDoc",
    "messageType": "edoc",
    "title": "Về việc…",
    "notation": "UBND-VP",
    "sentTime": "2026/11/20 08:30:00",
    "receivedTime": "",
    "extra": 1,
}


def test_sent_items_are_read_in_the_sdks_field_names() -> None:
    [item] = read_sent([SENT_ITEM])

    assert (item.sender_doc_id, item.receiver_doc_id, item.from_code, item.to_code) == (
        "a",
        "a-1",
        "000.00.00.H26",
        "000.00.00.G22",
    )
    assert (item.send_status, item.receive_status, item.receive_status_desc) == (
        "done",
        "pending",
        "Chưa nhận",
    )
    assert (item.message_type, item.title, item.notation) == ("edoc", "Về việc…", "UBND-VP")
    assert (item.sent_time, item.received_time) == ("2026/11/20 08:30:00", None)
    assert item.fields["extra"] == 1
    assert item.model_dump(by_alias=True, exclude={"fields"})["senderDocId"] == "a"


def test_sent_items_without_a_sender_doc_id_are_skipped() -> None:
    assert read_sent([{"toCode": "x"}, {"docId": "b"}])[0].sender_doc_id == "b"
    assert len(read_sent([{"toCode": "x"}])) == 0


def test_agencies_are_read_from_varied_field_names() -> None:
    agencies = read_agencies(
        [
            {"code": "000.00.00.G22", "name": "Văn phòng Chính phủ", "parentCode": None},
            {"OrganId": "000.00.00.G06", "OrganName": "Bộ Tư pháp", "ParentId": "G"},
            {"code": "000.00.12.H26", "name": "Quận", "pid": "000.00.00.H26"},
            {"code": "000.00.00.H26", "name": "Hà Nội", "pid": ""},
            {"name": "no code"},
        ]
    )

    assert [(a.code, a.name, a.parent_code) for a in agencies] == [
        ("000.00.00.G22", "Văn phòng Chính phủ", None),
        ("000.00.00.G06", "Bộ Tư pháp", "G"),
        ("000.00.12.H26", "Quận", "000.00.00.H26"),
        ("000.00.00.H26", "Hà Nội", None),
    ]


@pytest.mark.parametrize(
    "data",
    [
        base64.b64encode(b"<edXML/>").decode(),
        base64.encodebytes(b"<edXML/>").decode(),
        base64.b64encode(b"<edXML/>").decode().rstrip("="),
        {"content": base64.b64encode(b"<edXML/>").decode()},
        {"File": base64.b64encode(b"<edXML/>").decode()},
    ],
)
def test_packet_content_is_decoded_from_base64_in_several_shapes(data: Any) -> None:
    assert read_content(data) == b"<edXML/>"


@pytest.mark.parametrize("data", [None, "", "not base64!", {"other": "x"}, 42])
def test_missing_or_broken_content_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError, match="content"):
        read_content(data)
