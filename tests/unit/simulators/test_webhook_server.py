"""Webhook servers of simulated agencies: one path per agency, a policy per request, and
refused connections while down."""

from __future__ import annotations

import time

import httpx
import pytest

from hub.channels.webhook import signature_header
from simulators.agencies import (
    SILENT,
    Accepted,
    Agency,
    Reply,
    WebhookEndpoint,
    WebhookServer,
    document_packet,
)

SECRET = "s3cret"


class Nowhere:
    """A poster never reached: these agencies answer nothing."""

    def post_packet(self, data: bytes) -> Accepted:
        raise AssertionError("nothing is posted")


def push(url: str, body: bytes, delivery_id: str, secret: str | None = SECRET) -> httpx.Response:
    now = str(int(time.time()))
    headers = {"X-Lienthong-Delivery-Id": delivery_id, "X-Lienthong-Timestamp": now}
    if secret is not None:
        headers["X-Lienthong-Signature"] = signature_header([secret], now, body)
    return httpx.post(url, content=body, headers=headers, timeout=5)


@pytest.fixture
def body() -> bytes:
    return document_packet("000.00.22.H26", ["000.21.22.H26"], number="3")[1]


def test_agencies_sharing_a_port_each_get_their_own_path(body: bytes) -> None:
    with (
        WebhookServer() as server,
        Agency("000.21.22.H26", Nowhere(), SILENT) as ward,
        Agency("000.22.22.H26", Nowhere(), SILENT) as other,
        WebhookEndpoint(ward, [SECRET], server=server, path="/a/edxml") as first,
        WebhookEndpoint(other, [SECRET], server=server, path="/b/edxml") as second,
    ):
        assert push(first.url, body, "d-1").status_code == 200
        assert push(f"{server.url}/c/edxml", body, "d-2").status_code == 404

        assert [r.delivery_id for r in ward.received] == ["d-1"]
        assert other.received == []
        assert second.requests == []


def test_a_policy_decides_each_answer_and_a_refused_packet_is_not_kept(body: bytes) -> None:
    answers = iter([Reply(503), Reply(200)])
    with (
        Agency("000.21.22.H26", Nowhere(), SILENT) as ward,
        WebhookEndpoint(ward, [SECRET], policy=lambda: next(answers)) as endpoint,
    ):
        assert push(endpoint.url, body, "d-1").status_code == 503
        assert ward.received == []
        assert push(endpoint.url, body, "d-1").status_code == 200
        assert push(endpoint.url, body, "d-1", secret="wrong").status_code == 401

        assert ward.offers("d-1") == 1


def test_without_a_secret_unsigned_deliveries_are_taken(body: bytes) -> None:
    with (
        Agency("000.21.22.H26", Nowhere(), SILENT) as ward,
        WebhookEndpoint(ward, []) as endpoint,
    ):
        assert push(endpoint.url, body, "d-1", secret=None).status_code == 200


def test_a_paused_server_refuses_connections_until_it_resumes(body: bytes) -> None:
    with (
        Agency("000.21.22.H26", Nowhere(), SILENT) as ward,
        WebhookEndpoint(ward, [SECRET]) as endpoint,
    ):
        endpoint.pause()
        with pytest.raises(httpx.ConnectError):
            push(endpoint.url, body, "d-1")
        endpoint.resume()

        assert push(endpoint.url, body, "d-1").status_code == 200
        assert not endpoint.server.paused
