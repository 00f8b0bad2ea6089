"""What the SDK emulator puts on the wire: AXIS-SDK.md's requests, header by header."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets

import httpx

from simulators.vxpsdk import VxpSdk, sdk_hash_file, sdk_timestamp

PACKET = b"<edXML>packet bytes</edXML>"
CITY = "000.00.00.H26"
OK_SEND = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "DocId": "tx-1"}
MOMENT = dt.datetime(2026, 11, 20, 1, 30, 0, 123_000, tzinfo=dt.UTC)


class Recorder:
    """A node that records each request and answers ``answer``."""

    def __init__(self, answer: dict[str, object] | None = None) -> None:
        self.answer = answer or OK_SEND
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answer)

    def sdk(self, secret: str = "", clock: dt.datetime = MOMENT) -> VxpSdk:
        return VxpSdk(
            "http://axis.test/vxp/",
            "hanoi.hub",
            secret or secrets.token_hex(8),
            clock=lambda: clock,
            transport=httpx.MockTransport(self),
        )


def _prefixed(request: httpx.Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in request.headers.multi_items():
        found.setdefault(name, []).append(value)
    return found


def test_the_timestamp_is_the_sdk_layout_on_vietnamese_time() -> None:
    assert sdk_timestamp(MOMENT) == "20112026T083000+0123"


def test_the_hash_file_writes_each_byte_without_zero_padding() -> None:
    digest = hashlib.sha256(PACKET).digest()

    assert sdk_hash_file(PACKET) == "".join(f"{b:x}" for b in digest)
    # JVM: Integer.toHexString(b & 0xFF) of 0a, ff, 00, 7f printed "aff07f".
    assert "".join(format(b, "x") for b in bytes([0x0A, 0xFF, 0x00, 0x7F])) == "aff07f"
    assert 32 <= len(sdk_hash_file(PACKET)) <= 64


def test_send_edoc_posts_the_file_then_crlf_with_the_hash_of_the_file_alone() -> None:
    node = Recorder()
    with node.sdk() as sdk:
        result = sdk.send_edoc(PACKET, sender=CITY, to=["000.00.00.G22", "000.00.00.H41"])

    [request] = node.requests
    assert result is not None
    assert (result.status, result.doc_id) == ("OK", "tx-1")
    assert (request.method, request.url.path) == ("POST", "/vxp/sendEdoc")
    assert request.content == PACKET + b"\r\n"
    assert request.headers["XroadVnpt-hash-file"] == sdk_hash_file(PACKET)
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.headers["XroadVnpt-Content-Type"] == "application/octet-stream"
    assert request.headers["XroadVnpt-to"] == '["000.00.00.G22","000.00.00.H41"]'
    assert request.headers["XroadVnpt-from"] == CITY
    assert request.headers["XroadVnpt-servicetype"] == "eDoc"
    assert request.headers["XroadVnpt-messagetype"] == "edoc"
    assert request.headers["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert request.headers["XroadVnpt-version"] == "3.0.201608"


def test_the_signature_covers_the_map_in_java_hashmap_order() -> None:
    node = Recorder()
    with node.sdk(secret="Jefe") as sdk:
        sdk.send_edoc(PACKET, sender=CITY, to=["000.00.00.G22"])

    headers = node.requests[0].headers
    order = "systemid;servicetype;messagetype;hash-file;from;to;timestamp;Content-Type"
    assert headers["XroadVnpt-sign-header-key"] == order
    text = headers["XroadVnpt-sign-header"]
    assert list(json.loads(text)) == [f"XroadVnpt-{key}" for key in order.split(";")]
    assert text.startswith('{"XroadVnpt-systemid":"hanoi.hub","XroadVnpt-servicetype":"eDoc",')
    assert '"XroadVnpt-to":"[\\"000.00.00.G22\\"]"' in text
    assert " " not in text
    assert headers["XroadVnpt-hash-header"] == (
        hmac.new(b"Jefe", text.encode(), hashlib.sha256).hexdigest()
    )
    assert all(headers[name] == value for name, value in json.loads(text).items())


def test_one_object_keeps_every_key_and_its_first_timestamp_for_life() -> None:
    node = Recorder({"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "data": "e30="})
    later = iter([MOMENT, MOMENT + dt.timedelta(days=3)])
    sdk = VxpSdk("http://axis.test", "s", "k", clock=lambda: next(later),
                 transport=httpx.MockTransport(node))  # fmt: skip

    with sdk:
        sdk.send_edoc(PACKET, sender=CITY, to=["000.00.00.G22"])
        sdk.get_edoc("tx-9")

    fetch = node.requests[1].headers
    assert fetch["XroadVnpt-timestamp"] == "20112026T083000+0123"
    assert fetch["XroadVnpt-from"] == CITY
    assert fetch["XroadVnpt-hash-file"] == sdk_hash_file(PACKET)
    assert fetch["XroadVnpt-docId"] == "tx-9"
    assert fetch["XroadVnpt-Content-Type"] == "application/json"
    assert fetch["XroadVnpt-sign-header-key"].split(";") == sdk.headers.keys()


def test_get_edoc_and_update_status_send_an_empty_json_object_expecting_continue() -> None:
    node = Recorder({"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "data": ""})
    with node.sdk() as sdk:
        sdk.get_edoc("tx-1")
        sdk.update_status("tx-1", "done")

    for request in node.requests:
        assert request.content == b"{}"
        assert request.headers["Expect"] == "100-continue"
    assert node.requests[1].headers["XroadVnpt-status"] == "done"


def test_list_calls_send_an_empty_body_as_json() -> None:
    node = Recorder({"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "data": []})
    with node.sdk() as sdk:
        sdk.get_received_edoc_list("status")
        sdk.get_sent_edoc_list()
        sdk.get_agencies_list()

    assert [r.url.path for r in node.requests] == [
        "/vxp/getReceivedEdocList",
        "/vxp/getSentEdocList",
        "/vxp/getAgenciesList",
    ]
    for request in node.requests:
        assert request.content == b""
        assert request.headers["Content-Type"] == "application/json"
        assert "Expect" not in request.headers
    assert node.requests[0].headers["XroadVnpt-messagetype"] == "status"


def test_both_doc_id_spellings_travel_together_once_both_were_used() -> None:
    node = Recorder({"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "data": ""})
    with node.sdk() as sdk:
        sdk.update_status("tx-1", "done", doc_id_key="docid")
        sdk.get_edoc("tx-2")

    headers = _prefixed(node.requests[1])
    assert sorted(headers["xroadvnpt-docid"]) == ["tx-1", "tx-2"]
    signed = json.loads(node.requests[1].headers["XroadVnpt-sign-header"])
    assert (signed["XroadVnpt-docId"], signed["XroadVnpt-docid"]) == ("tx-2", "tx-1")


def test_one_recipient_given_as_text_is_sent_as_a_json_string() -> None:
    node = Recorder()
    with node.sdk() as sdk:
        sdk.send_edoc(PACKET, sender=CITY, to="000.00.00.G22")

    assert node.requests[0].headers["XroadVnpt-to"] == '"000.00.00.G22"'
