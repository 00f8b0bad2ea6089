"""Delivery to agencies' webhooks through the real broker: signed pushes, retries, parking."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from hub.channels import Channel
from hub.channels.webhook import verify_signature
from hub.db.models import DeliveryState

from .conftest import Hub
from .receiver import Reply, WebhookReceiver

pytestmark = pytest.mark.integration

AGENCY = "000.00.12.H26"


def webhook(hub: Hub, receiver: WebhookReceiver, path: str = "/in", **settings: object) -> str:
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url(path), **settings)
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()
    return delivery_id


def test_a_webhook_receives_the_raw_packet_signed_with_the_delivery_headers(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    delivery_id = webhook(hub, receiver, secret=["new-secret", "old-secret"])

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    (request,) = receiver.requests("/in")
    assert request.body == hub.payload(delivery_id)
    assert request.headers["content-type"] == "application/xml"
    assert request.headers["x-lienthong-delivery-id"] == delivery_id
    assert request.headers["x-lienthong-packet-id"] == row.packet_id
    assert request.headers["x-lienthong-kind"] == "edoc"
    assert request.headers["x-lienthong-attempt"] == "1"
    timestamp = request.headers["x-lienthong-timestamp"]
    signature = request.headers["x-lienthong-signature"]
    assert verify_signature(signature, ["old-secret"], timestamp, request.body)
    assert verify_signature(signature, ["new-secret"], timestamp, request.body)
    assert not verify_signature(signature, ["other-secret"], timestamp, request.body)
    assert row.delivered_at is not None
    (attempt,) = hub.attempts(delivery_id)
    assert (attempt.outcome, attempt.http_status) == ("delivered", 200)


def test_a_server_error_is_retried_after_the_tier_delay_then_delivered(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    receiver.script("/in", Reply(500, b"database down"), Reply(200))
    delivery_id = webhook(hub, receiver)

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    first, second = receiver.requests("/in")
    assert second.at - first.at >= 0.2
    assert first.headers["x-lienthong-delivery-id"] == second.headers["x-lienthong-delivery-id"]
    assert second.headers["x-lienthong-attempt"] == "2"
    assert [(a.number, a.outcome, a.http_status) for a in hub.attempts(delivery_id)] == [
        (1, "transient", 500),
        (2, "delivered", 200),
    ]
    assert row.attempts == 2
    assert row.last_error is None


def test_a_refusal_parks_the_delivery_at_once_with_the_answer(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    receiver.script("/in", Reply(404, b"no such endpoint for this agency"))
    delivery_id = webhook(hub, receiver)

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.PARKED)

    assert len(receiver.requests("/in")) == 1
    assert row.attempts == 1
    assert row.last_error is not None
    assert "404" in row.last_error
    assert "no such endpoint for this agency" in row.last_error
    ((properties, body),) = hub.broker.take(hub.topology.parking_queue.name)
    assert json.loads(body)["delivery_id"] == delivery_id
    assert properties.headers is not None
    assert properties.headers["x-lienthong-state"] == "parked"
    assert "404" in properties.headers["x-lienthong-error"]
    assert properties.headers["x-lienthong-error-code"] == "delivery.webhook_refused"


def test_too_many_requests_waits_as_long_as_retry_after_asks(
    make_hub: Callable[..., Hub], receiver: WebhookReceiver
) -> None:
    hub = make_hub(retry_delays=(0.2, 1.5))
    receiver.script("/in", Reply(429, headers={"Retry-After": "1"}), Reply(200))
    delivery_id = webhook(hub, receiver)

    with hub.worker():
        hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    first, second = receiver.requests("/in")
    assert second.at - first.at >= 1.0
    assert [a.outcome for a in hub.attempts(delivery_id)] == ["transient", "delivered"]


def test_a_webhook_failing_every_time_is_parked_after_the_last_attempt(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    receiver.script("/in", Reply(503, b"maintenance"))
    delivery_id = webhook(hub, receiver)

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.PARKED)

    assert len(receiver.requests("/in")) == 3
    assert [a.outcome for a in hub.attempts(delivery_id)] == ["transient"] * 3
    assert row.last_error is not None
    assert row.last_error.startswith("3 attempts failed; last error: webhook answered 503")
    ((properties, _body),) = hub.broker.take(hub.topology.parking_queue.name)
    assert properties.headers is not None
    assert properties.headers["x-lienthong-attempt"] == 3


def test_a_delivery_failing_past_the_maximum_age_expires(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    receiver.script("/in", Reply(500))
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    delivery_id = hub.delivery(
        AGENCY, Channel.WEBHOOK, queued_at=datetime.now(UTC) - timedelta(hours=2)
    )
    hub.relay_once()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.EXPIRED)

    assert row.attempts == 1
    assert row.last_error is not None
    assert "maximum age" in row.last_error
    ((properties, _body),) = hub.broker.take(hub.topology.parking_queue.name)
    assert properties.headers is not None
    assert properties.headers["x-lienthong-state"] == "expired"


def test_an_unreachable_webhook_is_retried(hub: Hub, receiver: WebhookReceiver) -> None:
    hub.agency(AGENCY, Channel.WEBHOOK, url="http://127.0.0.1:9/in")
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.PARKED)

    assert [a.outcome for a in hub.attempts(delivery_id)] == ["transient"] * 3
    assert row.last_error is not None
    assert "unreachable" in row.last_error
