"""Judging a document against its recipients' profiles, and the summary per level."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.agencies import document_packet
from simulators.profiles import PROFILES, Profile
from simulators.scenario.observe import (
    ChangeRecord,
    DocumentRecord,
    Tracker,
    judge,
    render_table,
    summarize,
)
from simulators.scenario.plan import Member, Roster

SENDER = "000.00.22.H26"
WARD = "000.21.22.H26"
OTHER_WARD = "000.22.22.H26"
MINISTRY = "000.00.00.G22"

ROSTER = Roster(
    [
        Member(SENDER, "UBND quận", 3, None, "inbox"),
        Member(WARD, "UBND phường", 4, SENDER, "inbox"),
        Member(OTHER_WARD, "UBND phường khác", 4, SENDER, "inbox"),
        Member(MINISTRY, "Văn phòng Chính phủ", 1, None, "axis"),
    ],
    {1: "Trung ương", 3: "Quận, huyện", 4: "Xã, phường"},
)


def record(recipients: tuple[str, ...] = (WARD, OTHER_WARD)) -> DocumentRecord:
    packet, _ = document_packet(SENDER, recipients, number="7")
    return DocumentRecord(("flow", 0), SENDER, recipients, packet, "a" * 64, 0.0)


def delivery(recipient: str, state: str = "delivered", **fields: Any) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "state": state,
        "attempts": 1,
        "created_at": "2026-01-01T08:00:00+00:00",
        "delivered_at": "2026-01-01T08:00:02+00:00" if state == "delivered" else None,
        "last_error": None,
        **fields,
    }


def timeline(
    deliveries: list[dict[str, Any]],
    states: dict[str, str | None],
    events: list[tuple[str, str]] = (),  # type: ignore[assignment]
    **rows: dict[str, Any],
) -> dict[str, Any]:
    return {
        "packets": [
            {"kind": "edoc", "packet_id": "p1", "sha256": "a" * 64, "deliveries": deliveries}
        ],
        "recipients": [
            {"recipient": code, "status": status, **rows.get(code.replace(".", "_"), {})}
            for code, status in states.items()
        ],
        "statuses": [{"reporter": who, "status_code": code} for who, code in events],
    }


def tracker(held: dict[str, set[str]], seen: dict[str, set[str]]) -> Tracker:
    """What the systems hold: recipients holding packet 'aaa…', statuses the sender got."""
    found = Tracker({})
    for code in held.get("a" * 64, set()):
        found.holders["a" * 64].add(code)
    for reporter, codes in seen.items():
        found.statuses[(SENDER, record().document_id)][reporter].update(codes)
    return found


def profiles(**named: str) -> Any:
    chosen = {code.replace("_", "."): PROFILES[name] for code, name in named.items()}

    def profile_of(code: str) -> Profile:
        return chosen.get(code, PROFILES["prompt"])

    return profile_of


def test_a_document_delivered_and_completed_everywhere_has_no_problem() -> None:
    found = judge(
        record(),
        timeline([delivery(WARD), delivery(OTHER_WARD)], {WARD: "06", OTHER_WARD: "06"}),
        roster=ROSTER,
        profile_of=profiles(),
        tracker=tracker({"a" * 64: {WARD, OTHER_WARD}}, {WARD: {"06"}, OTHER_WARD: {"06"}}),
    )

    assert found == {"delivered": [], "statuses": [], "changes": [], "landed": []}


def test_a_parked_copy_and_a_copy_the_recipient_never_got_are_problems() -> None:
    found = judge(
        record(),
        timeline(
            [delivery(WARD, "parked", last_error="503 busy"), delivery(OTHER_WARD)],
            {WARD: None, OTHER_WARD: "06"},
        ),
        roster=ROSTER,
        profile_of=profiles(),
        tracker=tracker({}, {OTHER_WARD: {"06"}}),
    )

    assert len(found["delivered"]) == 2
    assert "is parked (503 busy), expected delivered" in found["delivered"][0]
    assert f"{OTHER_WARD}'s system never received it" in found["delivered"][1]
    assert "without status, expected 06" in found["statuses"][0]


def test_what_a_profile_implies_is_what_is_expected() -> None:
    found = judge(
        record(),
        timeline(
            [delivery(WARD, "available"), delivery(OTHER_WARD)], {WARD: None, OTHER_WARD: "02"}
        ),
        roster=ROSTER,
        profile_of=profiles(
            **{WARD.replace(".", "_"): "never-acks", OTHER_WARD.replace(".", "_"): "refuses"}
        ),
        tracker=tracker({"a" * 64: {WARD, OTHER_WARD}}, {OTHER_WARD: {"01", "02"}}),
    )

    assert found == {"delivered": [], "statuses": [], "changes": [], "landed": []}


def test_a_status_the_sender_never_received_is_a_problem() -> None:
    found = judge(
        record((WARD,)),
        timeline([delivery(WARD)], {WARD: "06"}),
        roster=ROSTER,
        profile_of=profiles(),
        tracker=tracker({"a" * 64: {WARD}}, {WARD: {"01", "03"}}),
    )

    assert found["statuses"] == [
        f"{record().document_id} ({SENDER}): the sender never received 06 from {WARD}"
    ]


def test_changes_are_judged_against_each_recipients_answer() -> None:
    revoked = record()
    revoked.changes.append(ChangeRecord("revoke", (WARD, OTHER_WARD)))
    rows = {
        WARD.replace(".", "_"): {"change_request": "revoke", "change_state": "agreed"},
        OTHER_WARD.replace(".", "_"): {"change_request": "revoke", "change_state": "requested"},
    }

    found = judge(
        revoked,
        timeline([delivery(WARD), delivery(OTHER_WARD)], {WARD: "03", OTHER_WARD: "06"}, **rows),
        roster=ROSTER,
        profile_of=profiles(),
        tracker=tracker({"a" * 64: {WARD, OTHER_WARD}}, {OTHER_WARD: {"06"}}),
    )

    assert found["statuses"] == [], "a recipient that agreed to a revoke owes no more statuses"
    assert found["changes"] == [
        f"{revoked.document_id} ({SENDER}) at {OTHER_WARD}: revoke is revoke/requested, "
        "expected revoke/agreed"
    ]


def test_a_replacement_must_mark_the_old_document_at_each_recipient() -> None:
    replaced = record((WARD,))
    replaced.changes.append(ChangeRecord("replace", (WARD,), replacement="NEW"))

    found = judge(
        replaced,
        timeline([delivery(WARD)], {WARD: "06"}, **{WARD.replace(".", "_"): {"replaced_by": None}}),
        roster=ROSTER,
        profile_of=profiles(),
        tracker=tracker({"a" * 64: {WARD}}, {WARD: {"06"}}),
    )

    assert found["changes"] == [
        f"{replaced.document_id} ({SENDER}) at {WARD}: replaced_by is None, expected NEW"
    ]


def test_no_timeline_yet_is_a_delivery_problem() -> None:
    found = judge(record(), None, roster=ROSTER, profile_of=profiles(), tracker=Tracker({}))

    assert found["delivered"] == [
        f"{record().document_id} ({SENDER}): the hub shows no timeline of it yet"
    ]


def test_the_summary_counts_copies_per_level_of_their_recipient() -> None:
    first = record((WARD, OTHER_WARD, MINISTRY))
    second = DocumentRecord(("flow", 1), SENDER, (WARD,), first.packet, "b" * 64, 0.0)
    timelines = {
        first.key: timeline(
            [
                delivery(WARD, attempts=3),
                delivery(OTHER_WARD, "parked", attempts=4),
                delivery(MINISTRY, delivered_at="2026-01-01T08:00:00.500000+00:00"),
            ],
            {WARD: "06", OTHER_WARD: None, MINISTRY: "02"},
            [(WARD, "01"), (MINISTRY, "01")],
        ),
        second.key: None,
    }

    rows = summarize([first, second], timelines, ROSTER)

    by_level = {row.level: row for row in rows}
    assert [row.name for row in rows] == ["Trung ương", "Xã, phường", "total"]
    ministries, wards, total = by_level[1], by_level[4], by_level[None]
    assert (ministries.sent, ministries.delivered, ministries.refused) == (1, 1, 1)
    assert ministries.accepted == 0
    assert ministries.median == pytest.approx(0.5)
    assert (wards.sent, wards.delivered, wards.parked, wards.retried) == (2, 1, 1, 2)
    assert (wards.acknowledged, wards.accepted, wards.completed) == (1, 1, 1)
    assert wards.median == pytest.approx(2.0)
    assert (total.sent, total.delivered, total.acknowledged) == (3, 2, 2)
    assert total.p95 == pytest.approx(2.0)


def test_the_table_has_a_header_a_row_per_level_and_the_total() -> None:
    first = record((WARD, MINISTRY))
    rows = summarize(
        [first],
        {first.key: timeline([delivery(WARD), delivery(MINISTRY)], {WARD: "06", MINISTRY: None})},
        ROSTER,
    )

    lines = render_table(rows).splitlines()

    assert lines[0].split() == [
        "level",
        "sent",
        "delivered",
        "01",
        "ack",
        "03",
        "accepted",
        "06",
        "done",
        "02",
        "refused",
        "retried",
        "parked",
        "median",
        "p95",
    ]
    assert lines[2].split()[:3] == ["1", "Trung", "ương"]
    assert lines[3].startswith("4 Xã, phường")
    assert lines[-1].split()[:3] == ["total", "2", "2"]
    assert lines[-1].endswith("2.0 s")


NEW_WARD = "000.01.61.H26"
REFORMED = Roster(
    [*ROSTER.members.values(), Member(NEW_WARD, "UBND phường mới", 3, None, "webhook")],
    {1: "Trung ương", 3: "Quận, huyện", 4: "Xã, phường"},
    other_levels={NEW_WARD: "Xã, phường"},
)


def redirected(addressed: str, **fields: Any) -> dict[str, Any]:
    return {"from_code": addressed, "to_code": NEW_WARD, "stage": "in-flight", **fields}


def test_copies_that_landed_at_the_successor_judge_by_its_profile() -> None:
    moved = record()
    moved.lands = {WARD: NEW_WARD, OTHER_WARD: NEW_WARD}
    seen = timeline(
        [
            delivery(NEW_WARD, delivery_id="d1", redirects=[redirected(WARD)]),
            delivery(
                OTHER_WARD,
                "merged",
                delivery_id="d2",
                redirects=[redirected(OTHER_WARD, merged_into="d1")],
            ),
        ],
        {WARD: "06", OTHER_WARD: "06"},
    )

    found = judge(
        moved,
        seen,
        roster=REFORMED,
        profile_of=lambda code: PROFILES["prompt"],
        tracker=tracker({"a" * 64: {NEW_WARD}}, {NEW_WARD: {"01", "03", "06"}}),
    )

    assert found == {"delivered": [], "statuses": [], "changes": [], "landed": []}


def test_a_copy_left_at_an_ended_code_is_a_landing_problem() -> None:
    moved = record((WARD,))
    moved.lands = {WARD: NEW_WARD}

    found = judge(
        moved,
        timeline([delivery(WARD)], {WARD: "06"}),
        roster=REFORMED,
        profile_of=lambda code: PROFILES["prompt"],
        tracker=tracker({"a" * 64: {WARD}}, {WARD: {"06"}}),
    )

    assert found["landed"] == [
        f"{moved.document_id} ({SENDER}): the copy addressed to {WARD} went to {WARD}, "
        f"expected {NEW_WARD}"
    ]


def test_the_summary_names_a_new_agencys_level_by_the_new_structure() -> None:
    moved = record((WARD,))
    seen = timeline([delivery(NEW_WARD, redirects=[redirected(WARD)])], {WARD: "06"})

    rows = summarize([moved], {moved.key: seen}, REFORMED)

    assert [(row.level, row.name, row.sent) for row in rows] == [
        (3, "Xã, phường", 1),
        (None, "total", 1),
    ]
