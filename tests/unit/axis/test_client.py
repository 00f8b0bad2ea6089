"""The axis client against a scripted node: what it sends, and how it classifies answers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.axis import (
    AxisAuthError,
    AxisBusyError,
    AxisClient,
    AxisConfig,
    AxisPermanentError,
    AxisProtocolError,
    AxisRefusedError,
    AxisTransientError,
    AxisUnavailableError,
    AxisUnknownFailureError,
    ProtocolOptions,
    Upstream,
    open_upstream,
)

CITY = "000.00.00.H26"
PACKET = b"<edXML>packet bytes</edXML>"


class Node:
    """A scripted node: answers in turn from ``script`` (the last one repeats)."""

    def __init__(self, *script: httpx.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step

    def client(self, **config: Any) -> AxisClient:
        settings = {
            "url": "http://axis.test/vxp/",
            "system_id": "hanoi.hub",
            "secret": secrets.token_hex(16),
            "organ_id": CITY,
            "retry_initial": 0.01,
            "retry_max": 2.0,
            **config,
        }
        return AxisClient(
            AxisConfig.model_validate(settings),
            transport=httpx.MockTransport(self),
            sleep=self.sleeps.append,
        )


def ok(**fields: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "OK", "ErrorCode": "0", **fields})


def fail(code: str, desc: str = "refused", http: int = 200, **headers: str) -> httpx.Response:
    body = {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc}
    return httpx.Response(http, json=body, headers=headers)


# -- what goes out ----------------------------------------------------------------------------


def _sdk_hex(data: bytes) -> str:
    """SHA-256 with each byte in hex without zero padding (AXIS-SDK.md)."""
    return "".join(f"{byte:x}" for byte in hashlib.sha256(data).digest())


def test_send_posts_the_packet_then_crlf_with_its_hash_and_signed_parameters() -> None:
    node = Node(ok(DocId="tx-1"))

    with node.client() as client:
        result = client.send_edoc(PACKET, message_type="edoc", to=["000.00.00.G22"])

    [request] = node.requests
    assert result.doc_id == "tx-1"
    assert (request.method, request.url.path) == ("POST", "/vxp/sendEdoc")
    assert request.content == PACKET + b"\r\n"
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.headers["XroadVnpt-Content-Type"] == "application/octet-stream"
    assert request.headers["XroadVnpt-from"] == CITY
    assert request.headers["XroadVnpt-servicetype"] == "eDoc"
    assert request.headers["XroadVnpt-messagetype"] == "edoc"
    assert request.headers["XroadVnpt-to"] == '["000.00.00.G22"]'
    assert request.headers["XroadVnpt-hash-file"] == _sdk_hex(PACKET)
    assert request.headers["XroadVnpt-sign-header-key"] == (
        "systemid;servicetype;messagetype;hash-file;from;to;timestamp;Content-Type"
    )
    signed = json.loads(request.headers["XroadVnpt-sign-header"])
    assert signed["XroadVnpt-hash-file"] == _sdk_hex(PACKET)
    assert signed["XroadVnpt-Content-Type"] == "application/octet-stream"


def test_every_call_carries_the_sdks_user_agent_and_version_unsigned() -> None:
    node = Node(ok(data=[]))

    with node.client() as client:
        client.get_agencies_list()

    headers = node.requests[0].headers
    assert headers["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert headers["XroadVnpt-version"] == "3.0.201608"
    assert "version" not in headers["XroadVnpt-sign-header-key"].split(";")


def test_fetch_and_acknowledge_send_an_empty_json_object_and_lists_an_empty_body() -> None:
    node = Node(ok(data=base64.b64encode(PACKET).decode()))

    with node.client() as client:
        client.get_edoc("tx-1")
        client.update_status("tx-1", "done")
        client.get_received_edoc_list("edoc")

    fetch, ack, poll = node.requests
    assert (fetch.content, ack.content, poll.content) == (b"{}", b"{}", b"")
    assert fetch.headers["Expect"] == ack.headers["Expect"] == "100-continue"
    assert "Expect" not in poll.headers
    for request in node.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["XroadVnpt-Content-Type"] == "application/json"


def test_the_hash_form_crlf_and_extra_headers_are_options() -> None:
    node = Node(ok(DocId="tx-1"))
    options = ProtocolOptions(
        hash_file_form="padded",
        body_crlf=False,
        sdk_version=None,
        user_agent="lienthong",
        expect_continue=False,
    )

    with node.client(options=options) as client:
        client.send_edoc(PACKET, message_type="edoc")
        client.update_status("tx-1", "done")

    sent, ack = node.requests
    assert sent.content == PACKET
    assert sent.headers["XroadVnpt-hash-file"] == hashlib.sha256(PACKET).hexdigest()
    assert "XroadVnpt-version" not in sent.headers
    assert sent.headers["User-Agent"] == "lienthong"
    assert "Expect" not in ack.headers


def test_without_recipients_no_to_parameter_is_sent() -> None:
    node = Node(ok(DocId="tx-1"))

    with node.client() as client:
        client.send_edoc(PACKET, message_type="status", to=[], sender="000.00.12.H26")

    assert "XroadVnpt-to" not in node.requests[0].headers
    assert node.requests[0].headers["XroadVnpt-from"] == "000.00.12.H26"


def test_each_operation_posts_to_its_path_with_its_parameters() -> None:
    node = Node(ok(data=[]))

    with node.client() as client:
        client.get_received_edoc_list("status")
        client.update_status("tx-1", "done")
        client.get_sent_edoc_list()
        client.get_agencies_list()

    paths = [r.url.path for r in node.requests]
    assert paths == [
        "/vxp/getReceivedEdocList",
        "/vxp/updateStatus",
        "/vxp/getSentEdocList",
        "/vxp/getAgenciesList",
    ]
    assert node.requests[0].headers["XroadVnpt-messagetype"] == "status"
    assert node.requests[1].headers["XroadVnpt-docId"] == "tx-1"
    assert node.requests[1].headers["XroadVnpt-status"] == "done"


def test_an_operation_path_can_be_configured() -> None:
    node = Node(ok(DocId="tx-1"))
    options = ProtocolOptions(paths={"sendEdoc": "/edoc/send"})

    with node.client(options=options) as client:
        client.send_edoc(PACKET, message_type="edoc")

    assert node.requests[0].url.path == "/vxp/edoc/send"


def test_get_edoc_returns_the_decoded_packet() -> None:
    node = Node(ok(data=base64.b64encode(PACKET).decode()))

    with node.client() as client:
        assert client.get_edoc("tx-1") == PACKET


# -- how answers are classified ---------------------------------------------------------------


def test_a_fail_with_an_auth_code_is_an_auth_error_even_under_http_200() -> None:
    node = Node(fail("AUTH_FAILED", "bad signature"))

    with node.client() as client, pytest.raises(AxisAuthError) as caught:
        client.get_agencies_list()

    assert isinstance(caught.value, AxisPermanentError)
    assert caught.value.error_desc == "bad signature"


def test_a_fail_with_an_unknown_code_under_http_200_is_transient_and_keeps_the_code() -> None:
    node = Node(httpx.Response(200, json={"status": "FAIL", "ErrorCode": -1, "ErrorDesc": "lỗi"}))

    with node.client() as client, pytest.raises(AxisUnknownFailureError) as caught:
        client.send_edoc(PACKET, message_type="edoc")

    assert isinstance(caught.value, AxisTransientError)
    assert (caught.value.error_code, caught.value.error_desc) == ("-1", "lỗi")
    assert caught.value.as_dict()["error_code"] == "-1"
    assert "-1" in str(caught.value)
    assert caught.value.operation == "sendEdoc"
    assert len(node.requests) == 1


def test_a_fail_without_any_code_is_transient_too() -> None:
    node = Node(httpx.Response(200, json={"status": "FAIL"}))

    with node.client() as client, pytest.raises(AxisUnknownFailureError):
        client.get_received_edoc_list("edoc")


def test_an_unknown_code_under_a_4xx_status_is_a_refusal_with_the_axis_code_and_text() -> None:
    node = Node(fail("E-1024", "Đơn vị nhận không tồn tại", http=400))

    with node.client() as client, pytest.raises(AxisRefusedError) as caught:
        client.send_edoc(PACKET, message_type="edoc")

    assert (caught.value.error_code, caught.value.error_desc) == (
        "E-1024",
        "Đơn vị nhận không tồn tại",
    )


def test_a_code_declared_a_refusal_is_a_refusal_under_http_200() -> None:
    node = Node(fail("-7"))
    options = ProtocolOptions(refusal_error_codes=frozenset({"-7"}))

    with node.client(options=options) as client, pytest.raises(AxisRefusedError) as caught:
        client.send_edoc(PACKET, message_type="edoc")

    assert caught.value.error_code == "-7"


def test_a_fail_with_a_busy_code_is_transient() -> None:
    node = Node(fail("RATE_LIMITED"))

    with node.client() as client, pytest.raises(AxisBusyError):
        client.get_received_edoc_list("edoc")


def test_429_asks_to_slow_down_with_the_delay_given() -> None:
    node = Node(httpx.Response(429, headers={"Retry-After": "7"}))

    with node.client() as client, pytest.raises(AxisBusyError) as caught:
        client.get_received_edoc_list("edoc")

    assert caught.value.delay == 7.0
    assert len(node.requests) == 1


def test_a_401_without_json_is_an_auth_error() -> None:
    node = Node(httpx.Response(401, text="Unauthorized"))

    with node.client() as client, pytest.raises(AxisAuthError, match="Unauthorized"):
        client.get_agencies_list()


def test_an_html_404_is_a_permanent_refusal() -> None:
    node = Node(httpx.Response(404, html="<html><body>Not Found</body></html>"))

    with node.client() as client, pytest.raises(AxisRefusedError) as caught:
        client.get_agencies_list()

    assert caught.value.http_status == 404
    assert "Not Found" in str(caught.value)


def test_a_redirect_is_refused_and_names_where_it_points() -> None:
    node = Node(httpx.Response(302, headers={"Location": "https://axis.test/vxp"}))

    with (
        node.client() as client,
        pytest.raises(AxisRefusedError, match=re.escape("https://axis.test/vxp")),
    ):
        client.get_agencies_list()


def test_a_2xx_answer_that_is_not_json_is_a_protocol_error() -> None:
    node = Node(httpx.Response(200, html="<html>maintenance</html>"))

    with node.client(http_attempts=1) as client, pytest.raises(AxisProtocolError):
        client.get_agencies_list()


def test_an_accepted_send_without_a_doc_id_is_a_protocol_error() -> None:
    node = Node(ok())

    with node.client() as client, pytest.raises(AxisProtocolError, match="DocId"):
        client.send_edoc(PACKET, message_type="edoc")


def test_packet_content_that_is_not_base64_is_a_protocol_error() -> None:
    node = Node(ok(data="%%%"))

    with node.client() as client, pytest.raises(AxisProtocolError, match="base64"):
        client.get_edoc("tx-1")


# -- retries inside one call ------------------------------------------------------------------


def test_a_connection_failure_that_clears_inside_the_call_goes_unnoticed() -> None:
    node = Node(httpx.ConnectError("refused"), httpx.ConnectError("refused"), ok(DocId="tx-1"))

    with node.client(http_attempts=3) as client:
        assert client.send_edoc(PACKET, message_type="edoc").doc_id == "tx-1"

    assert len(node.requests) == 3


def test_retries_inside_a_call_are_bounded() -> None:
    node = Node(httpx.ConnectError("refused"))

    with node.client(http_attempts=3) as client, pytest.raises(AxisUnavailableError) as caught:
        client.get_received_edoc_list("edoc")

    assert len(node.requests) == 3
    assert len(node.sleeps) == 2
    assert all(0 < wait <= 2.02 for wait in node.sleeps)
    assert caught.value.may_have_arrived is False


def test_a_send_is_not_repeated_once_the_packet_may_have_arrived() -> None:
    for outcome in (httpx.ReadTimeout("slow"), fail("INTERNAL_ERROR", http=500)):
        node = Node(outcome)

        with node.client() as client, pytest.raises(AxisTransientError):
            client.send_edoc(PACKET, message_type="edoc")

        assert len(node.requests) == 1


def test_a_send_is_repeated_on_503_which_means_it_was_not_taken() -> None:
    node = Node(fail("SERVICE_UNAVAILABLE", http=503), ok(DocId="tx-1"))

    with node.client() as client:
        assert client.send_edoc(PACKET, message_type="edoc").doc_id == "tx-1"


def test_reads_are_repeated_after_a_timeout_or_a_5xx() -> None:
    node = Node(httpx.ReadTimeout("slow"), httpx.Response(502), ok(data=[]))

    with node.client() as client:
        assert client.get_received_edoc_list("edoc") == []

    assert len(node.requests) == 3


def test_a_short_retry_after_is_waited_inside_the_call() -> None:
    node = Node(fail("SERVICE_UNAVAILABLE", http=503, **{"Retry-After": "1"}), ok(data=[]))

    with node.client(retry_max=2.0) as client:
        client.get_agencies_list()

    assert node.sleeps[0] >= 1.0


def test_a_long_retry_after_ends_the_call_with_that_delay() -> None:
    node = Node(fail("SERVICE_UNAVAILABLE", http=503, **{"Retry-After": "120"}))

    with node.client() as client, pytest.raises(AxisUnavailableError) as caught:
        client.get_agencies_list()

    assert caught.value.delay == 120.0
    assert len(node.requests) == 1


# -- arguments and configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.send_edoc(PACKET, message_type="letter"),
        lambda c: c.get_received_edoc_list("all"),
        lambda c: c.update_status("tx-1", "ok"),
        lambda c: c.get_edoc(" "),
    ],
)
def test_arguments_no_axis_could_take_are_value_errors(call: Callable[[AxisClient], Any]) -> None:
    node = Node(ok())

    with node.client() as client, pytest.raises(ValueError, match=r"must be|required"):
        call(client)

    assert node.requests == []


def test_a_send_needs_a_sender() -> None:
    with Node(ok()).client(organ_id=None) as client, pytest.raises(ValueError, match="sender"):
        client.send_edoc(PACKET, message_type="edoc")


@pytest.mark.parametrize("url", ["axis.test", "ftp://axis.test", "http://"])
def test_the_node_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError, match="URL"):
        AxisConfig(url=url, system_id="s", secret="k")  # type: ignore[arg-type]


def test_the_secret_never_shows_in_the_configuration() -> None:
    secret = secrets.token_hex(16)
    config = AxisConfig(url="http://axis.test", system_id="s", secret=secret)  # type: ignore[arg-type]

    assert secret not in repr(config)
    assert secret not in str(config.model_dump())


def test_the_vxp_client_is_an_upstream_named_for_its_system() -> None:
    config = AxisConfig(url="http://axis.test", system_id="hanoi.hub", secret="k")  # type: ignore[arg-type]
    upstream = open_upstream(config)

    assert isinstance(upstream, Upstream)
    assert upstream.name == "vxp:hanoi.hub"
    upstream.close()
