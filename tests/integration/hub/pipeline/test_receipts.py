"""Status packets advance each recipient's business state; every status is kept as an event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from edxml import DocumentPacket
from hub.access import AuthenticatedAgency
from hub.db.models import ChangeRequest, ChangeState, DocumentRecipient, StatusEvent

from . import packets
from .conftest import Hub
from .packets import CITY, DEPARTMENT, DISTRICT, WARD

pytestmark = pytest.mark.integration


def post(hub: Hub, raw: bytes, code: str) -> str:
    return hub.ingest.accept(raw, AuthenticatedAgency(code, code)).packet_id


def sent(hub: Hub) -> DocumentPacket:
    document, raw = packets.document(WARD, (DISTRICT, CITY, DEPARTMENT))
    post(hub, raw, WARD)
    return document


def states(hub: Hub, document: DocumentPacket) -> dict[str, DocumentRecipient]:
    with hub.database.transaction() as session:
        rows = session.scalars(
            select(DocumentRecipient).where(
                DocumentRecipient.sender_code == document.sender,
                DocumentRecipient.document_id == document.document_id,
            )
        )
        return {row.recipient_code: row for row in rows}


def events(hub: Hub) -> list[StatusEvent]:
    with hub.database.transaction() as session:
        return list(session.scalars(select(StatusEvent).order_by(StatusEvent.id)))


def test_new_document_starts_a_business_state_per_recipient(hub: Hub) -> None:
    document = sent(hub)

    rows = states(hub, document)

    assert sorted(rows) == sorted([DISTRICT, CITY, DEPARTMENT])
    assert {row.status for row in rows.values()} == {None}


def test_status_03_from_each_recipient_advances_its_own_state(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "03", DISTRICT), DISTRICT)
    post(hub, packets.status(document, "03", CITY), CITY)

    rows = states(hub, document)
    assert {code: row.status for code, row in rows.items()} == {
        DISTRICT: "03",
        CITY: "03",
        DEPARTMENT: None,
    }


def test_out_of_order_statuses_are_all_kept_and_the_state_stays_at_the_highest(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "05", DISTRICT, minute=5), DISTRICT)
    post(hub, packets.status(document, "03", DISTRICT, minute=3), DISTRICT)

    assert states(hub, document)[DISTRICT].status == "05"
    assert [(e.status_code, e.effect) for e in events(hub)] == [
        ("05", "advanced"),
        ("03", "unchanged"),
    ]


def test_repeated_status_is_kept_twice(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "04", DISTRICT, minute=1), DISTRICT)
    post(hub, packets.status(document, "04", DISTRICT, minute=2), DISTRICT)

    assert [e.status_code for e in events(hub)] == ["04", "04"]
    assert states(hub, document)[DISTRICT].status == "04"


def test_refusal_is_final(hub: Hub) -> None:
    document = sent(hub)
    post(hub, packets.status(document, "02", CITY), CITY)

    post(hub, packets.status(document, "06", CITY, minute=9), CITY)

    assert states(hub, document)[CITY].status == "02"


def test_status_event_keeps_the_reporter_code_description_and_time(hub: Hub) -> None:
    document = sent(hub)

    packet_id = post(hub, packets.status(document, "03", DISTRICT), DISTRICT)

    (event,) = events(hub)
    assert (event.packet_id, event.reporter_code, event.document_sender_code) == (
        packet_id,
        DISTRICT,
        WARD,
    )
    assert (event.status_code, event.description) == ("03", "Đã tiếp nhận, vào sổ")
    assert event.reported_at_text == "2026/11/20 09:00:00"
    assert event.reported_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_revoke_is_recorded_and_03_agrees_to_it(hub: Hub) -> None:
    document = sent(hub)
    post(hub, packets.status(document, "03", DISTRICT), DISTRICT)
    revoke_id = post(hub, packets.revoke(document), WARD)

    post(hub, packets.status(document, "03", DISTRICT, minute=30), DISTRICT)

    row = states(hub, document)[DISTRICT]
    assert (row.change_request, row.change_state, row.change_packet_id) == (
        ChangeRequest.REVOKE,
        ChangeState.AGREED,
        revoke_id,
    )
    assert row.change_reason == "Thu hồi văn bản ban hành nhầm"
    assert row.status == "03"


def test_02_refusing_a_revoke_does_not_refuse_the_document(hub: Hub) -> None:
    document = sent(hub)
    post(hub, packets.status(document, "04", CITY), CITY)
    post(hub, packets.revoke(document), WARD)

    post(hub, packets.status(document, "02", CITY, minute=30), CITY)

    row = states(hub, document)[CITY]
    assert (row.status, row.change_state) == ("04", ChangeState.REFUSED)


def test_update_is_recorded_and_answered_by_15_or_16(hub: Hub) -> None:
    document = sent(hub)
    post(hub, packets.update(document), WARD)

    post(hub, packets.status(document, "15", DISTRICT), DISTRICT)
    post(hub, packets.status(document, "16", CITY), CITY)

    rows = states(hub, document)
    assert {code: (row.change_request, row.change_state) for code, row in rows.items()} == {
        DISTRICT: (ChangeRequest.UPDATE, ChangeState.AGREED),
        CITY: (ChangeRequest.UPDATE, ChangeState.REFUSED),
        DEPARTMENT: (ChangeRequest.UPDATE, ChangeState.REQUESTED),
    }


def test_take_back_from_the_sender_is_recorded_against_that_recipient(hub: Hub) -> None:
    document = sent(hub)

    result = hub.ingest.accept(packets.take_back(document, CITY), AuthenticatedAgency(WARD, WARD))
    post(hub, packets.status(document, "15", CITY), CITY)

    rows = states(hub, document)
    assert [d.recipient for d in result.deliveries] == [CITY]
    assert (rows[CITY].change_request, rows[CITY].change_state) == (
        ChangeRequest.TAKE_BACK,
        ChangeState.AGREED,
    )
    assert rows[DISTRICT].change_request is None


def test_replacement_marks_the_old_document_replaced(hub: Hub) -> None:
    document = sent(hub)

    new, raw = packets.replacement(document)
    post(hub, raw, WARD)

    old_rows = states(hub, document)
    assert {row.replaced_by for row in old_rows.values()} == {new.document_id}
    assert sorted(states(hub, new)) == sorted([DISTRICT, CITY, DEPARTMENT])


def test_status_about_an_unknown_document_is_accepted_routed_and_flagged(hub: Hub) -> None:
    document, _ = packets.document(WARD, (DISTRICT,))

    result = hub.ingest.accept(
        packets.status(document, "03", DISTRICT), AuthenticatedAgency(DISTRICT, DISTRICT)
    )

    assert [d.recipient for d in result.deliveries] == [WARD]
    (event,) = events(hub)
    assert (event.document_known, event.effect) == (False, "unknown-document")


def test_status_that_arrived_before_its_document_is_applied_when_the_document_comes(
    hub: Hub,
) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    post(hub, packets.status(document, "04", DISTRICT), DISTRICT)

    post(hub, raw, WARD)

    assert states(hub, document)[DISTRICT].status == "04"
    (event,) = events(hub)
    assert (event.document_known, event.effect) == (True, "advanced")
