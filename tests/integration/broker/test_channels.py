"""The other channels through the real broker: pull inbox, the VXP endpoint, the agency's AMQP
queue, no adapter."""

from __future__ import annotations

import pytest

from adapters.payloads.files import FileBlobStore
from hub.api.app import create_app
from hub.channels import Channel
from hub.db.models import DeliveryState
from hub.vxp.secrets import SecretBox, issue_secret, new_key
from simulators.axis import BackgroundServer
from simulators.vxpsdk import VxpSdk

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


def test_a_vxp_delivery_is_listed_fetched_and_acknowledged_by_the_agencys_sdk(hub: Hub) -> None:
    key = new_key()
    settings = hub.settings.replace(vxp_keys=key)
    hub.agency(AGENCY, Channel.VXP)
    with hub.database.transaction() as session:
        secret = issue_secret(session, SecretBox([key]), AGENCY).secret
    delivery_id = hub.delivery(AGENCY, Channel.VXP)
    hub.relay_once()

    with hub.worker():
        hub.wait_state(delivery_id, DeliveryState.AVAILABLE)
    app = create_app(settings, hub.database, FileBlobStore(settings.storage.blob_dir))
    with BackgroundServer(app) as server, VxpSdk(f"{server.url}/vxp", AGENCY, secret) as sdk:
        listed = sdk.get_received_edoc_list("edoc")
        fetched = sdk.get_edoc(delivery_id)
        acknowledged = sdk.update_status(delivery_id, "done")

    assert listed is not None
    assert [item.doc_id for item in listed.items] == [delivery_id]
    assert fetched is not None
    assert fetched.data == hub.payload(delivery_id)
    assert acknowledged is not None
    assert acknowledged.ok
    assert hub.delivery_row(delivery_id).state is DeliveryState.DELIVERED
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
