"""Routing by the directory in force: packets to ended codes reach their successor or are
refused naming them, statuses from old codes are tied to the successor, workers re-target."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, DocumentRecipient, StatusEvent
from hub.directory import parse_changes
from hub.directory.reorganise import record_changes
from hub.errors import UnroutablePacketError
from hub.transport.messages import DeliveryMessage, Round
from hub.transport.worker.outcome import Plan
from hub.transport.worker.records import load_job

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DEPARTMENT, DISTRICT, OTHER_WARD, WARD

pytestmark = pytest.mark.integration

NEW_WARD = "000.01.61.H26"
OFFICE = "000.01.22.H26"


def reorganise(hub: Hub, *, at_offset: float = -1.0) -> None:
    """Wards 000.21.22 and 000.22.22 merge into a new ward; the district splits between the
    new ward and the city (its office dissolves into the new ward)."""
    at = (utcnow() + timedelta(seconds=at_offset)).isoformat()
    text = f"""\
- kind: merge
  effective: "{at}"
  act: Nghị quyết 1656/NQ-UBTVQH15
  from: [{WARD}, {OTHER_WARD}]
  into: {NEW_WARD}
  agency: {{code: {NEW_WARD}, name: UBND phường mới, level: 4, parent: {DISTRICT}}}
- {{kind: dissolve, effective: "{at}", act: NQ 1656, code: {OFFICE}, successor: {NEW_WARD}}}
"""
    with hub.database.transaction() as session:
        record_changes(session, parse_changes(text, "yaml"), actor="test")


def split_district(hub: Hub) -> None:
    at = (utcnow() - timedelta(seconds=1)).isoformat()
    text = f"""\
- kind: move
  effective: "{at}"
  act: x
  codes: [000.02.22.H26, 000.03.22.H26, 000.04.22.H26, 000.05.22.H26, 000.06.22.H26,
          000.23.22.H26, 000.24.22.H26, 000.25.22.H26, 000.26.22.H26, 000.27.22.H26,
          000.28.22.H26, 000.29.22.H26, 000.30.22.H26, {NEW_WARD}]
  parent: {CITY}
- {{kind: split, effective: "{at}", act: Nghị quyết 1656/NQ-UBTVQH15, code: {DISTRICT},
   into: [{NEW_WARD}, {CITY}]}}
"""
    with hub.database.transaction() as session:
        record_changes(session, parse_changes(text, "yaml"), actor="test")


def post(client: ApiClient, hub: Hub, raw: bytes, code: str) -> dict:
    response = client.post("/api/v1/packets", content=raw, headers=hub.auth(code))
    assert response.status_code == 202, response.text
    body: dict = response.json()
    return body


def test_a_packet_to_a_merged_code_goes_to_the_successor_and_the_answer_says_so(
    client: ApiClient, hub: Hub
) -> None:
    reorganise(hub)

    answer = post(client, hub, packets.document(DEPARTMENT, (WARD,))[1], DEPARTMENT)

    (delivery,) = answer["deliveries"]
    assert delivery["recipient"] == NEW_WARD
    (redirect,) = delivery["redirects"]
    assert (redirect["from_code"], redirect["to_code"], redirect["stage"]) == (
        WARD,
        NEW_WARD,
        "ingest",
    )
    assert redirect["act"] == "Nghị quyết 1656/NQ-UBTVQH15"


def test_a_packet_to_a_code_without_single_successor_is_refused_naming_them(
    client: ApiClient, hub: Hub
) -> None:
    reorganise(hub)
    split_district(hub)

    response = client.post(
        "/api/v1/packets",
        content=packets.document(DEPARTMENT, (DISTRICT, CITY))[1],
        headers=hub.auth(DEPARTMENT),
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "packet.recipient-ended"
    assert error["successors"] == {DISTRICT: [CITY, NEW_WARD]}
    assert f"{CITY}, {NEW_WARD}" in error["message"]


def test_a_packet_to_an_agency_not_yet_in_force_is_refused(hub: Hub) -> None:
    reorganise(hub, at_offset=3600)

    with pytest.raises(UnroutablePacketError) as caught:
        hub.ingest.accept(
            packets.document(DEPARTMENT, (NEW_WARD,))[1],
            AuthenticatedAgency(DEPARTMENT, DEPARTMENT),
        )

    assert caught.value.code == "packet.recipient-not-yet"


def test_codes_that_became_one_agency_get_one_delivery(hub: Hub) -> None:
    reorganise(hub)

    result = hub.ingest.accept(
        packets.document(DEPARTMENT, (WARD, OTHER_WARD, CITY))[1],
        AuthenticatedAgency(DEPARTMENT, DEPARTMENT),
    )

    assert [item.recipient for item in result.deliveries] == [NEW_WARD, CITY]
    assert [item.from_code for item in result.deliveries[0].redirects] == [WARD, OTHER_WARD]


def test_the_senders_timeline_shows_where_its_copy_went(client: ApiClient, hub: Hub) -> None:
    reorganise(hub)
    document, raw = packets.document(DEPARTMENT, (WARD,))
    post(client, hub, raw, DEPARTMENT)

    response = client.get(
        f"/api/v1/documents/{quote(document.document_id, safe='')}/timeline",
        headers=hub.auth(DEPARTMENT),
    )

    assert response.status_code == 200
    timeline = response.json()
    (delivery,) = timeline["packets"][0]["deliveries"]
    assert delivery["recipient"] == NEW_WARD
    assert delivery["redirects"][0]["from_code"] == WARD
    assert [row["recipient"] for row in timeline["recipients"]] == [NEW_WARD]


def test_a_status_from_the_old_code_moves_the_successors_copy(hub: Hub) -> None:
    reorganise(hub)
    document, raw = packets.document(DEPARTMENT, (WARD,))
    hub.ingest.accept(raw, AuthenticatedAgency(DEPARTMENT, DEPARTMENT))

    hub.ingest.accept(packets.status(document, "03", WARD), AuthenticatedAgency(WARD, WARD))

    with hub.database.transaction() as session:
        row = session.scalars(
            select(DocumentRecipient).where(DocumentRecipient.document_id == document.document_id)
        ).one()
        event = session.scalars(select(StatusEvent)).one()
    assert (row.recipient_code, row.status) == (NEW_WARD, "03")
    assert (event.reporter_code, event.recipient_code, event.document_known) == (
        WARD,
        NEW_WARD,
        True,
    )


def test_a_status_from_the_successor_moves_a_copy_delivered_before_the_change(
    hub: Hub,
) -> None:
    document, raw = packets.document(DEPARTMENT, (WARD,))
    hub.ingest.accept(raw, AuthenticatedAgency(DEPARTMENT, DEPARTMENT))
    reorganise(hub)

    hub.ingest.accept(
        packets.status(document, "06", NEW_WARD), AuthenticatedAgency(NEW_WARD, NEW_WARD)
    )

    with hub.database.transaction() as session:
        row = session.scalars(
            select(DocumentRecipient).where(DocumentRecipient.document_id == document.document_id)
        ).one()
    assert (row.recipient_code, row.status) == (WARD, "06")


def test_a_successor_may_send_for_the_agency_it_succeeds(hub: Hub) -> None:
    reorganise(hub)

    result = hub.ingest.accept(
        packets.document(OFFICE, (CITY,))[1], AuthenticatedAgency(NEW_WARD, NEW_WARD)
    )

    assert result.created


def test_a_worker_sends_a_queued_delivery_on_to_the_successor_before_its_attempt(
    hub: Hub,
) -> None:
    result = hub.ingest.accept(
        packets.document(DEPARTMENT, (WARD,))[1], AuthenticatedAgency(DEPARTMENT, DEPARTMENT)
    )
    (delivery,) = result.deliveries
    reorganise(hub, at_offset=0.5)
    time.sleep(0.6)  # the change takes effect; nothing applied it to the delivery yet
    order = DeliveryMessage(
        delivery_id=delivery.delivery_id,
        packet_id=result.packet_id,
        recipient=WARD,
        channel="inbox",
        blob="x",
    )

    with hub.database.transaction() as session:
        job = load_job(session, order, Round(1, 1, utcnow()))

    assert isinstance(job, Plan)
    assert job.job.recipient == NEW_WARD
    with hub.database.transaction() as session:
        row = session.get(Delivery, delivery.delivery_id)
    assert row is not None
    assert (row.recipient_code, row.state) == (NEW_WARD, DeliveryState.QUEUED)
