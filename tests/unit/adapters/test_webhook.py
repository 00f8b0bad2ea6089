"""The webhook channel: signatures, the classification of answers and of transport failures."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub.channels import Channel
from hub.channels.base import DeliveryJob
from hub.channels.webhook import (
    SIGNATURE_HEADER,
    WebhookHandler,
    classify_status,
    parse_retry_after,
    sign,
    signature_header,
    verify_signature,
    webhook_secrets,
)
from hub.db.models import DeliveryState
from hub.errors import PermanentDeliveryError, TransientDeliveryError

NOW = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
BODY = b"<edXML>...</edXML>"


def job(**settings: Any) -> DeliveryJob:
    return DeliveryJob(
        delivery_id="D1",
        packet_id="P1",
        recipient="000.00.12.H26",
        channel=Channel.WEBHOOK,
        blob="ab" * 32,
        kind="edoc",
        attempt=2,
        settings={"url": "https://agency.example/edxml", **settings},
    )


def handler(respond: Callable[[httpx.Request], httpx.Response]) -> WebhookHandler:
    client = httpx.Client(transport=httpx.MockTransport(respond))
    return WebhookHandler(client, clock=lambda: 1_700_000_000.5)


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()

    assert sign("s3cret", "1700000000", BODY) == expected


def test_every_secret_signs_so_a_rotation_needs_no_downtime() -> None:
    header = signature_header(["new", "old"], "1700000000", BODY)

    assert (
        header
        == f"sha256={sign('new', '1700000000', BODY)},sha256={sign('old', '1700000000', BODY)}"
    )
    assert verify_signature(header, ["old"], "1700000000", BODY)
    assert verify_signature(header, ["new"], "1700000000", BODY)


@pytest.mark.parametrize(
    ("timestamp", "body", "secrets"),
    [
        ("1700000001", BODY, ["new"]),
        ("1700000000", BODY + b" ", ["new"]),
        ("1700000000", BODY, ["x"]),
    ],
)
def test_a_changed_timestamp_body_or_secret_does_not_verify(
    timestamp: str, body: bytes, secrets: list[str]
) -> None:
    header = signature_header(["new"], "1700000000", BODY)

    assert not verify_signature(header, secrets, timestamp, body)


def test_secrets_are_a_string_or_a_list() -> None:
    assert webhook_secrets({"secret": "a"}) == ("a",)
    assert webhook_secrets({"secret": ["a", "b"]}) == ("a", "b")
    assert webhook_secrets({}) == ()
    with pytest.raises(PermanentDeliveryError, match="secret"):
        webhook_secrets({"secret": 42})


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_a_delivery(status: int) -> None:
    classify_status(status, retry_after=None, snippet="")


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_transient(status: int) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_status(status, retry_after=None, snippet="busy")

    assert caught.value.http_status == status
    assert caught.value.delay is None


def test_retry_after_becomes_the_delay_of_the_retry() -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        classify_status(429, retry_after=120.0, snippet="")

    assert caught.value.delay == 120.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_other_client_errors_are_permanent_with_the_status_and_the_answer(status: int) -> None:
    with pytest.raises(PermanentDeliveryError, match=f"{status}: unknown agency") as caught:
        classify_status(status, retry_after=None, snippet="unknown agency")

    assert caught.value.http_status == status


def test_a_redirect_is_permanent_and_names_where_it_points() -> None:
    with pytest.raises(PermanentDeliveryError, match=r"https://new\.example/in"):
        classify_status(301, retry_after=None, snippet="", location="https://new.example/in")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("Mon, 04 May 2026 10:01:30 GMT", NOW) == 90.0
    assert parse_retry_after("Mon, 04 May 2026 09:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_the_request_carries_the_packet_and_the_signed_headers() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    handover = handler(respond).deliver(job(secret="k"), BODY)

    (request,) = seen
    assert handover.state is DeliveryState.DELIVERED
    assert handover.http_status == 202
    assert request.method == "POST"
    assert request.content == BODY
    assert request.headers["Content-Type"] == "application/xml"
    assert request.headers["X-Lienthong-Timestamp"] == "1700000000"
    assert request.headers["X-Lienthong-Attempt"] == "2"
    assert verify_signature(request.headers[SIGNATURE_HEADER], ["k"], "1700000000", BODY)


def test_without_a_secret_no_signature_is_sent() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    handler(respond).deliver(job(), BODY)

    assert SIGNATURE_HEADER not in seen[0].headers


def test_the_start_of_a_refusal_is_kept_in_the_error() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, content=b"DocumentId\n   is   missing" + b"x" * 5000)

    with pytest.raises(PermanentDeliveryError) as caught:
        handler(respond).deliver(job(), BODY)

    assert "422: DocumentId is missing" in caught.value.message
    assert len(caught.value.message) < 400


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("silent"),
        httpx.RemoteProtocolError("garbage"),
    ],
)
def test_transport_failures_are_transient(failure: httpx.HTTPError) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(TransientDeliveryError):
        handler(respond).deliver(job(), BODY)


@pytest.mark.parametrize("url", [None, "", "ftp://agency.example/", 42])
def test_an_agency_without_a_usable_url_is_a_permanent_failure(url: object) -> None:
    with pytest.raises(PermanentDeliveryError, match="no webhook URL"):
        handler(lambda request: httpx.Response(200)).deliver(job(url=url), BODY)


def test_the_breaker_key_is_the_origin_of_the_webhook() -> None:
    webhook = handler(lambda request: httpx.Response(200))

    assert webhook.peer(job()) == "https://agency.example:443"
    assert webhook.peer(job(url="http://10.0.0.5:8080/a/b")) == "http://10.0.0.5:8080"
    assert webhook.peer(job(url=None)) is None
