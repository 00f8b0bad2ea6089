"""The other channels through the real broker: pull inbox, the agency's AMQP queue, no adapter."""

from __future__ import annotations

import pytest

from hub.channels import Channel
from hub.db.models import DeliveryState

from .conftest import Hub

pytestmark = pytest.mark.integration

AGENCY = "000.00.12.H26"


def test_an_inbox_delivery_becomes_available_to_the_agency(hub: Hub) -> None:
    hub.agency(AGENCY, Channel.INBOX)
    delivery_id = hub.delivery(AGENCY, Channel.INBOX)
    hub.relay_once()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.AVAILABLE)

    assert row.attempts == 1
    assert row.delivered_at is None
    assert [a.outcome for a in hub.attempts(delivery_id)] == ["available"]


def test_an_amqp_agency_finds_the_raw_packet_in_its_own_queue(hub: Hub) -> None:
    hub.agency(AGENCY, Channel.AMQP)
    delivery_id = hub.delivery(AGENCY, Channel.AMQP)
    hub.relay_once()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    ((properties, body),) = hub.broker.take(f"{hub.settings.broker.prefix}.agency.{AGENCY}")
    assert body == hub.payload(delivery_id)
    assert properties.message_id == delivery_id
    assert properties.content_type == "application/xml"
    assert properties.type == "edoc"
    assert properties.delivery_mode == 2
    assert properties.headers is not None
    assert properties.headers["X-Lienthong-Delivery-Id"] == delivery_id
    assert properties.headers["X-Lienthong-Packet-Id"] == row.packet_id
    assert properties.headers["X-Lienthong-Attempt"] == "1"


def test_a_channel_without_adapter_is_parked_with_a_clear_error_after_its_retries(
    hub: Hub,
) -> None:
    hub.agency("000.00.00.G22", Channel.AXIS)
    delivery_id = hub.delivery("000.00.00.G22", Channel.AXIS)
    hub.relay_once()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.PARKED)

    assert row.attempts == 3
    assert row.last_error is not None
    assert "no adapter configured for channel axis" in row.last_error
