"""Status packets both ways through the axis: out as messagetype=status, in as receipts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from adapters.axis import AxisClient
from hub.db.models import DeliveryState, DocumentRecipient
from simulators.axis import AxisSimulator
from tests.integration.hub.pipeline.packets import document, status

from .conftest import GOVERNMENT_OFFICE, WARD, AxisHub

pytestmark = pytest.mark.integration


def test_a_local_agencys_status_for_a_ministrys_document_goes_out_as_a_status(
    axis_hub: AxisHub, simulator: AxisSimulator
) -> None:
    original, data = document(GOVERNMENT_OFFICE, (WARD,))
    axis_hub.inject(data, to=[WARD])
    with axis_hub.poller() as poller:
        assert poller.poll("edoc").accepted == 1
    accepted = status(original, "03", WARD)

    result = axis_hub.post(accepted, WARD)
    (delivery,) = result.deliveries
    with axis_hub.hub.worker():
        row = axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)

    (entry,) = simulator.store.queue("vpcp", "status")
    assert entry.transmission.data == accepted
    assert entry.transmission.sender == WARD
    assert entry.recipients == (GOVERNMENT_OFFICE,)
    assert row.external_ref == entry.transmission.doc_id


def test_a_ministrys_status_advances_the_business_state_of_the_local_document(
    axis_hub: AxisHub, ministry: Callable[[str], AxisClient]
) -> None:
    original, data = document(WARD, (GOVERNMENT_OFFICE,))
    (delivery,) = axis_hub.post(data, WARD).deliveries
    with axis_hub.hub.worker():
        axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)
    vpcp = ministry("vpcp")
    (item,) = vpcp.get_received_edoc_list("edoc")
    assert vpcp.get_edoc(item.doc_id) == data
    vpcp.update_status(item.doc_id, "done")
    doc_id = vpcp.send_edoc(status(original, "03", GOVERNMENT_OFFICE), message_type="status").doc_id

    with axis_hub.poller() as poller:
        report = poller.poll("status")

    assert report.doc_ids == {doc_id: "accepted"}
    assert axis_hub.queue_state(doc_id) == "done"
    with axis_hub.hub.database.transaction() as session:
        state = session.scalars(
            select(DocumentRecipient).where(
                DocumentRecipient.document_id == original.document_id,
                DocumentRecipient.recipient_code == GOVERNMENT_OFFICE,
            )
        ).one()
    assert state.status == "03"
