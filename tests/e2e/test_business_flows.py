"""After a document is sent its sender revokes, updates, replaces or takes it back; the
recipients receive each request, answer it, and the timeline records the request and each
answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from edxml import DocumentPacket

from .city import COMMUNE, COMMUNE_OTHER, DEPT_HOME
from .observe import has_statuses, kept, settled_timeline
from .system import System

pytestmark = pytest.mark.e2e

AGREES = DEPT_HOME
"""Webhook; agrees to every change."""
REFUSES = COMMUNE_OTHER
"""Inbox; refuses every change."""


def registered(system: System) -> DocumentPacket:
    """A document from the commune, registered (03) by both recipients."""
    sender = system.agency(COMMUNE)
    sent = sender.send_document([AGREES, REFUSES])
    document_id = sent.packet.document_id
    system.eventually(
        lambda: settled_timeline(
            sender.client, document_id, {AGREES: {"status": "03"}, REFUSES: {"status": "03"}}
        ),
        "both recipients registered the document",
    )
    return sent.packet


def answered(system: System, document_id: str, request: str) -> dict[str, Any]:
    """The timeline once both recipients answered the change request."""
    return system.eventually(
        lambda: settled_timeline(
            system.agency(COMMUNE).client,
            document_id,
            {
                AGREES: {"change_request": request, "change_state": "agreed"},
                REFUSES: {"change_request": request, "change_state": "refused"},
            },
        ),
        f"both recipients answered the {request}",
    )


def answers(timeline: dict[str, Any], packet_ids: set[str]) -> dict[str, list[tuple[str, str]]]:
    """(status code, effect) of each recipient's statuses posted after the change request."""
    found: dict[str, list[tuple[str, str]]] = {}
    for event in timeline["statuses"]:
        if event["packet_id"] not in packet_ids:
            found.setdefault(event["reporter"], []).append((event["status_code"], event["effect"]))
    return found


def earlier_statuses(timeline: dict[str, Any], change_packet_id: str) -> set[str]:
    """Ids of the status packets that arrived before the change request."""
    order = [packet["packet_id"] for packet in timeline["packets"]]
    cut = order.index(change_packet_id)
    return set(order[:cut])


def test_a_revoke_reaches_the_recipients_and_records_one_agreement_and_one_refusal(
    system: System,
) -> None:
    document = registered(system)

    revoke = system.agency(COMMUNE).revoke(document, reason="Ban hành nhầm")
    timeline = answered(system, document.document_id, "revoke")

    for code in (AGREES, REFUSES):
        (received,) = kept(system.agency(code), revoke.accepted.packet_id)
        assert received.packet().business_type == 1
    rows = {row["recipient"]: row for row in timeline["recipients"]}
    for code in (AGREES, REFUSES):
        assert rows[code]["change_packet_id"] == revoke.accepted.packet_id
        assert rows[code]["change_reason"] == "Ban hành nhầm"
        requested, answered_at = rows[code]["change_requested_at"], rows[code]["change_answered_at"]
        assert datetime.fromisoformat(requested) <= datetime.fromisoformat(answered_at)
        assert rows[code]["status"] == "03"
    assert answers(timeline, earlier_statuses(timeline, revoke.accepted.packet_id)) == {
        AGREES: [("03", "change-agreed")],
        REFUSES: [("02", "change-refused")],
    }


def test_an_update_reaches_the_recipients_and_records_answers_15_and_16(system: System) -> None:
    document = registered(system)

    update = system.agency(COMMUNE).update(document, reason="Sửa trích yếu")
    timeline = answered(system, document.document_id, "update")

    for code in (AGREES, REFUSES):
        (received,) = kept(system.agency(code), update.accepted.packet_id)
        assert received.packet().business_type == 2
    kinds = {packet["packet_id"]: packet["business_type"] for packet in timeline["packets"]}
    assert kinds[update.accepted.packet_id] == 2
    assert answers(timeline, earlier_statuses(timeline, update.accepted.packet_id)) == {
        AGREES: [("15", "change-agreed")],
        REFUSES: [("16", "change-refused")],
    }


def test_a_replacement_marks_the_old_document_replaced_at_every_recipient(
    system: System,
) -> None:
    document = registered(system)
    sender = system.agency(COMMUNE)

    replacement = sender.replace(document, subject="Văn bản thay thế văn bản cũ")
    new_id = replacement.packet.document_id
    old = system.eventually(
        lambda: settled_timeline(
            sender.client,
            document.document_id,
            {AGREES: {"replaced_by": new_id}, REFUSES: {"replaced_by": new_id}},
        ),
        "the old document is marked replaced",
    )
    new = system.eventually(
        lambda: settled_timeline(
            sender.client, new_id, {AGREES: {"status": "03"}, REFUSES: {"status": "03"}}
        ),
        "the replacing document is registered",
    )

    assert new_id != document.document_id
    for code in (AGREES, REFUSES):
        (received,) = kept(system.agency(code), replacement.accepted.packet_id)
        assert received.packet().business_type == 3
    assert all(row["replaced_at"] for row in old["recipients"])
    assert [packet["business_type"] for packet in new["packets"] if packet["kind"] == "edoc"] == [3]
    assert all(row["replaced_by"] is None for row in new["recipients"])


def test_a_take_back_reaches_the_recipient_and_its_15_is_recorded(system: System) -> None:
    document = registered(system)
    sender = system.agency(COMMUNE)

    request = sender.take_back(document, AGREES, reason="Đề nghị trả lại để chỉnh sửa")
    system.eventually(
        lambda: has_statuses(sender, document.document_id, {(AGREES, "15")}),
        "the sender received the recipient's 15",
    )
    timeline = system.eventually(
        lambda: settled_timeline(
            sender.client,
            document.document_id,
            {AGREES: {"change_request": "take-back", "change_state": "agreed"}},
        ),
        "the take-back is agreed in the timeline",
    )

    (received,) = kept(system.agency(AGREES), request.packet_id)
    assert (received.kind, received.channel) == ("status", "webhook")
    rows = {row["recipient"]: row for row in timeline["recipients"]}
    assert rows[AGREES]["change_packet_id"] == request.packet_id
    assert rows[AGREES]["change_reason"] == "Đề nghị trả lại để chỉnh sửa"
    assert rows[REFUSES]["change_request"] is None
    later = answers(timeline, earlier_statuses(timeline, request.packet_id))
    assert later == {COMMUNE: [("13", "change-requested")], AGREES: [("15", "change-agreed")]}
