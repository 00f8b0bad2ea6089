"""Status packets advance each recipient's business state; every status is kept as an event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from edxml import DocumentPacket
from hub.auth.callers import AuthenticatedAgency
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


def received(hub: Hub) -> list[tuple[str, str, datetime]]:
    """(recipient, status, received_at) of every event, in arrival order."""
    return [(e.recipient_code, e.status_code, e.received_at) for e in events(hub)]


def test_first_answer_times_are_those_of_the_first_answering_statuses(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "01", DISTRICT, minute=1), DISTRICT)
    post(hub, packets.status(document, "01", DISTRICT, minute=2), DISTRICT)
    post(hub, packets.status(document, "03", DISTRICT, minute=3), DISTRICT)
    post(hub, packets.status(document, "04", DISTRICT, minute=4), DISTRICT)
    post(hub, packets.status(document, "03", DISTRICT, minute=5), DISTRICT)

    (first, _, third, _, _) = [at for _, _, at in received(hub)]
    rows = states(hub, document)
    assert (rows[DISTRICT].first_ack_at, rows[DISTRICT].first_accept_at) == (first, third)
    assert {(row.first_ack_at, row.first_accept_at) for row in (rows[CITY], rows[DEPARTMENT])} == {
        (None, None)
    }


def test_an_out_of_order_higher_status_is_both_first_answers(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "05", DISTRICT, minute=5), DISTRICT)
    post(hub, packets.status(document, "01", DISTRICT, minute=1), DISTRICT)
    post(hub, packets.status(document, "03", DISTRICT, minute=3), DISTRICT)

    first = received(hub)[0][2]
    row = states(hub, document)[DISTRICT]
    assert (row.status, row.first_ack_at, row.first_accept_at) == ("05", first, first)


def test_a_refusal_answers_and_a_later_03_still_counts_as_accepted(hub: Hub) -> None:
    document = sent(hub)

    post(hub, packets.status(document, "02", CITY, minute=1), CITY)
    post(hub, packets.status(document, "03", CITY, minute=2), CITY)

    (refused, accepted) = [at for _, _, at in received(hub)]
    row = states(hub, document)[CITY]
    assert (row.status, row.first_ack_at, row.first_accept_at) == ("02", refused, accepted)


def test_change_statuses_are_no_answer(hub: Hub) -> None:
    document = sent(hub)
    post(hub, packets.update(document), WARD)

    post(hub, packets.status(document, "15", DISTRICT), DISTRICT)

    row = states(hub, document)[DISTRICT]
    assert (row.first_ack_at, row.first_accept_at) == (None, None)


def test_statuses_before_their_document_set_the_first_answers_when_it_comes(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    post(hub, packets.status(document, "01", DISTRICT, minute=1), DISTRICT)
    post(hub, packets.status(document, "04", DISTRICT, minute=4), DISTRICT)
    post(hub, packets.status(document, "01", DISTRICT, minute=6), DISTRICT)

    post(hub, raw, WARD)
    post(hub, packets.status(document, "03", CITY), CITY)

    (ack, accept, _, city) = [at for _, _, at in received(hub)]
    rows = states(hub, document)
    assert (rows[DISTRICT].first_ack_at, rows[DISTRICT].first_accept_at) == (ack, accept)
    assert ack < rows[DISTRICT].created_at
    assert (rows[CITY].first_ack_at, rows[CITY].first_accept_at) == (city, city)
