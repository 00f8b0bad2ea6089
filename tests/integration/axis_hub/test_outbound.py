"""Local documents for ministries leave through the axis: once, retried, or parked with a reason."""

from __future__ import annotations

import pytest

from hub.auth.callers import AuthenticatedAgency
from hub.db.models import DeliveryState
from hub.tracking.timeline import document_timeline
from simulators.axis import AxisSimulator, Faults
from tests.integration.hub.pipeline.packets import document

from .conftest import (
    CITY_SYSTEM,
    DISTRICT,
    GOVERNMENT_OFFICE,
    SECURITY,
    UNSERVED_MINISTRY,
    WARD,
    AxisHub,
    MakeAxisHub,
)

pytestmark = pytest.mark.integration


def test_a_document_to_two_ministries_is_one_send_naming_both(
    axis_hub: AxisHub, simulator: AxisSimulator
) -> None:
    _, data = document(WARD, (GOVERNMENT_OFFICE, SECURITY))
    result = axis_hub.post(data, WARD)

    with axis_hub.hub.worker():
        for delivery in result.deliveries:
            axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)

    ((sent, entries),) = simulator.store.sent_by(CITY_SYSTEM)
    assert (sent.sender, sent.recipients, sent.message_type) == (
        WARD,
        (GOVERNMENT_OFFICE, SECURITY),
        "edoc",
    )
    assert sent.data == data
    assert {entry.system_id for entry in entries} == {"vpcp", "bca"}
    rows = axis_hub.deliveries(result.packet_id)
    assert {code: row.external_ref for code, row in rows.items()} == {
        GOVERNMENT_OFFICE: sent.doc_id,
        SECURITY: sent.doc_id,
    }
    assert [row.attempts for row in rows.values()] == [1, 1]


def test_local_recipients_of_the_same_packet_are_not_sent_to_the_axis(
    axis_hub: AxisHub, simulator: AxisSimulator
) -> None:
    _, data = document(WARD, (DISTRICT, GOVERNMENT_OFFICE))
    result = axis_hub.post(data, WARD)

    with axis_hub.hub.worker():
        for delivery in result.deliveries:
            axis_hub.hub.wait_state(
                delivery.delivery_id, DeliveryState.DELIVERED, DeliveryState.AVAILABLE
            )

    ((sent, _),) = simulator.store.sent_by(CITY_SYSTEM)
    assert sent.recipients == (GOVERNMENT_OFFICE,)
    assert axis_hub.deliveries(result.packet_id)[DISTRICT].state is DeliveryState.AVAILABLE


def test_a_wrong_secret_parks_the_deliveries_with_the_auth_error_on_the_timeline(
    make_axis_hub: MakeAxisHub, simulator: AxisSimulator
) -> None:
    axis_hub = make_axis_hub(axis_secret="not-the-secret")
    packet, data = document(WARD, (GOVERNMENT_OFFICE,))
    result = axis_hub.post(data, WARD)
    (delivery,) = result.deliveries

    with axis_hub.hub.worker():
        row = axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.PARKED)

    assert row.attempts == 1
    assert row.last_error is not None
    assert "refused the credentials of system 'hanoi.hub'" in row.last_error
    assert "AUTH_FAILED" in row.last_error
    assert simulator.store.sent_by(CITY_SYSTEM) == []
    seen = _sender_view(axis_hub, packet.document_id)
    assert seen == [(GOVERNMENT_OFFICE, DeliveryState.PARKED, row.last_error)]


def test_while_the_axis_is_down_deliveries_retry_then_go_through_once(
    make_axis_hub: MakeAxisHub, simulator: AxisSimulator
) -> None:
    axis_hub = make_axis_hub(retry_delays=(0.5, 1.0, 1.0, 1.0, 1.0))
    _, data = document(WARD, (GOVERNMENT_OFFICE,))
    simulator.faults.set(Faults(down_for_seconds=1.5))
    result = axis_hub.post(data, WARD)
    (delivery,) = result.deliveries

    with axis_hub.hub.worker():
        row = axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)

    attempts = axis_hub.hub.attempts(delivery.delivery_id)
    assert row.attempts >= 2
    assert attempts[0].outcome == "transient"
    assert attempts[0].http_status == 503
    assert attempts[-1].outcome == "delivered"
    ((sent, _),) = simulator.store.sent_by(CITY_SYSTEM)
    assert row.external_ref == sent.doc_id


def test_a_recipient_the_axis_refuses_is_parked_its_sender_sees_why_and_the_rest_go(
    axis_hub: AxisHub, simulator: AxisSimulator
) -> None:
    simulator.faults.set(Faults(refuse_codes=(SECURITY,)))
    packet, data = document(WARD, (GOVERNMENT_OFFICE, SECURITY))
    result = axis_hub.post(data, WARD)
    accepted, refused = result.deliveries

    with axis_hub.hub.worker():
        parked = axis_hub.hub.wait_state(refused.delivery_id, DeliveryState.PARKED)
        delivered = axis_hub.hub.wait_state(accepted.delivery_id, DeliveryState.DELIVERED)

    assert "RECIPIENT_REFUSED" in (parked.last_error or "")
    assert parked.external_ref is None
    ((sent, _),) = simulator.store.sent_by(CITY_SYSTEM)
    assert sent.recipients == (GOVERNMENT_OFFICE,)
    assert delivered.external_ref == sent.doc_id
    seen = _sender_view(axis_hub, packet.document_id)
    assert seen == [
        (GOVERNMENT_OFFICE, DeliveryState.DELIVERED, None),
        (SECURITY, DeliveryState.PARKED, parked.last_error),
    ]


def test_an_agency_no_axis_system_serves_is_parked_as_an_unknown_recipient(
    axis_hub: AxisHub,
) -> None:
    packet, data = document(WARD, (UNSERVED_MINISTRY,))
    (delivery,) = axis_hub.post(data, WARD).deliveries

    with axis_hub.hub.worker():
        row = axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.PARKED)

    assert row.attempts == 1
    assert "UNKNOWN_RECIPIENT" in (row.last_error or "")
    assert UNSERVED_MINISTRY in (row.last_error or "")
    ((code, state, error),) = _sender_view(axis_hub, packet.document_id)
    assert (code, state, error) == (UNSERVED_MINISTRY, DeliveryState.PARKED, row.last_error)


def _sender_view(
    axis_hub: AxisHub, document_id: str
) -> list[tuple[str, DeliveryState, str | None]]:
    """Each delivery of the document as its sender (the ward) sees it on the timeline."""
    with axis_hub.hub.database.transaction() as session:
        timeline = document_timeline(
            session, AuthenticatedAgency(code=WARD, name="ward"), document_id
        )
    return [
        (delivery.recipient, delivery.state, delivery.last_error)
        for packet in timeline.packets
        for delivery in packet.deliveries
    ]


def test_an_unknown_axis_error_code_is_retried_and_kept_on_the_attempt(
    make_axis_hub: MakeAxisHub, simulator: AxisSimulator
) -> None:
    axis_hub = make_axis_hub(retry_delays=(0.5, 1.0, 1.0, 1.0, 1.0))
    simulator.refusals_as_200 = True
    simulator.faults.set(Faults(refuse_codes=(GOVERNMENT_OFFICE,), refuse_error_code="-1"))
    _, data = document(WARD, (GOVERNMENT_OFFICE,))
    result = axis_hub.post(data, WARD)
    (delivery,) = result.deliveries

    try:
        with axis_hub.hub.worker():
            axis_hub.hub.wait_until(lambda: bool(axis_hub.hub.attempts(delivery.delivery_id)))
            simulator.faults.clear()
            row = axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)
    finally:
        simulator.refusals_as_200 = False

    first = axis_hub.hub.attempts(delivery.delivery_id)[0]
    assert (first.outcome, first.peer_code, first.http_status) == ("transient", "-1", 200)
    assert first.error is not None
    assert "axis.unknown_failure" in first.error
    assert row.state is DeliveryState.DELIVERED
