"""How the SDK emulator reads answers: gson's ``getAsString()``, null where the SDK throws."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from simulators.vxpsdk import VxpSdk
from simulators.vxpsdk.gson import GsonReadError, get_as_string, parse, to_json

HEAD = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thành công"}
RECEIVED = {
    "docId": "tx-1",
    "serviceType": "eDoc",
    "messageType": "edoc",
    "created_time": "2026/11/20 08:30:00",
    "updated_time": "2026/11/20 08:30:00",
    "from": "000.00.00.G22",
    "to": "000.00.00.H26",
    "status": "pending",
    "status_desc": "Chờ nhận",
}


def _sdk(body: Any, status: int = 200) -> VxpSdk:
    content = body if isinstance(body, bytes) else None
    answer = (
        httpx.Response(status, content=content)
        if content is not None
        else httpx.Response(status, json=body)
    )
    return VxpSdk("http://axis.test", "s", "k", transport=httpx.MockTransport(lambda _: answer))


def test_a_fail_with_its_doc_id_reaches_the_integrator_with_its_code() -> None:
    fail = {"status": "FAIL", "ErrorCode": "-1", "ErrorDesc": "lỗi", "DocId": ""}
    with _sdk(fail, status=400) as sdk:
        result = sdk.send_edoc(b"<x/>", sender="a")

    assert result is not None
    assert (result.ok, result.error_code, result.doc_id) == (False, "-1", "")


def test_a_send_answer_without_doc_id_is_lost_as_null() -> None:
    with _sdk({"status": "FAIL", "ErrorCode": "HASH_MISMATCH", "ErrorDesc": "x"}) as sdk:
        assert sdk.send_edoc(b"<x/>", sender="a") is None
        assert sdk.last_error == "'DocId' is missing"


@pytest.mark.parametrize("missing", ["status", "ErrorCode", "ErrorDesc"])
def test_every_answer_needs_its_three_status_fields(missing: str) -> None:
    body = {**HEAD, "data": []}
    del body[missing]
    with _sdk(body) as sdk:
        assert sdk.get_agencies_list() is None


def test_a_received_list_is_read_item_by_item_as_strings() -> None:
    with _sdk({**HEAD, "data": [RECEIVED]}) as sdk:
        listed = sdk.get_received_edoc_list()

    assert listed is not None
    [item] = listed.items
    assert (item.doc_id, item.from_code, item.to_code, item.status) == (
        "tx-1",
        "000.00.00.G22",
        "000.00.00.H26",
        "pending",
    )


def test_one_item_with_two_recipients_in_an_array_loses_the_whole_list() -> None:
    two = {**RECEIVED, "to": ["000.00.00.H26", "000.00.12.H26"]}
    with _sdk({**HEAD, "data": [RECEIVED, two]}) as sdk:
        assert sdk.get_received_edoc_list() is None
        assert "array of 2 values" in (sdk.last_error or "")


def test_an_item_missing_a_field_loses_the_whole_list() -> None:
    partial = {key: value for key, value in RECEIVED.items() if key != "status_desc"}
    with _sdk({**HEAD, "data": [partial]}) as sdk:
        assert sdk.get_received_edoc_list() is None


def test_sent_items_need_the_sdk_field_names() -> None:
    old_shape = {"docId": "tx-1", "from": "a", "to": ["b"], "status": "done"}
    with _sdk({**HEAD, "data": [old_shape]}) as sdk:
        assert sdk.get_sent_edoc_list() is None
        assert sdk.last_error == "'senderDocId' is missing"


def test_an_agency_without_pid_loses_the_list() -> None:
    with _sdk({**HEAD, "data": [{"code": "a", "name": "A", "parentCode": ""}]}) as sdk:
        assert sdk.get_agencies_list() is None
    with _sdk({**HEAD, "data": [{"code": "a", "name": "A", "pid": "p"}]}) as sdk:
        listed = sdk.get_agencies_list()
    assert listed is not None
    assert listed.items[0].pid == "p"


def test_get_edoc_decodes_the_base64_data() -> None:
    with _sdk({**HEAD, "data": base64.b64encode(b"<edXML/>").decode()}) as sdk:
        fetched = sdk.get_edoc("tx-1")

    assert fetched is not None
    assert fetched.data == b"<edXML/>"


def test_an_answer_that_is_not_json_or_no_answer_at_all_is_null() -> None:
    with _sdk(b"<html>502</html>", status=502) as sdk:
        assert sdk.get_agencies_list() is None
    refused = httpx.MockTransport(lambda _: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    with VxpSdk("http://axis.test", "s", "k", transport=refused) as sdk:
        assert sdk.update_status("tx-1", "done") is None
        assert "ConnectError" in (sdk.last_error or "")


@pytest.mark.parametrize(
    ("raw", "text"),
    [('"x"', "x"), ("true", "true"), ("-1", "-1"), ("1.50", "1.50")],
)
def test_get_as_string_reads_as_gson_does(raw: str, text: str) -> None:
    assert get_as_string(parse(f'{{"f":{raw}}}'.encode()), "f") == text


@pytest.mark.parametrize("raw", ["null", "{}", "[]", '["a"]', '["a","b"]'])
def test_get_as_string_throws_where_gson_does(raw: str) -> None:
    with pytest.raises(GsonReadError):
        get_as_string(parse(f'{{"f":{raw}}}'.encode()), "f")


def test_json_is_written_compact_with_gsons_html_escaping() -> None:
    assert to_json(["a", "b"]) == '["a","b"]'
    assert to_json({"k": 'x=<"y">&\'z\n'}) == (
        '{"k":"x\\u003d\\u003c\\"y\\"\\u003e\\u0026\\u0027z\\n"}'
    )
    assert to_json("Hà Nội") == '"Hà Nội"'
