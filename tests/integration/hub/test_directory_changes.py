"""Dated directory changes in a real database: recorded with their act, read by date by
routing, applied to deliveries on their way, and read back as the structure of any date."""

from __future__ import annotations

import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from edxml.compose import LOCAL_TZ
from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.database import Database
from hub.db.models import (
    Agency,
    AgencyLevel,
    AuditEntry,
    Delivery,
    DeliveryRedirect,
    DeliveryState,
    DirectoryChange,
    OutboxMessage,
    Packet,
)
from hub.directory import (
    import_directory,
    may_send_for,
    parse_changes,
    parse_yaml,
    read_change_file,
    read_directory_file,
    resolve,
    sample_changes,
    sample_directory,
)
from hub.directory.reorganise import DueChanges, apply_due, list_changes, record_changes
from hub.directory.structure import day_periods, local_day, structure_at
from hub.errors import DirectoryError
from hub.ids import new_id

from .conftest import snapshot

pytestmark = pytest.mark.integration

CITY = "000.00.00.H26"
CITY_OFFICE = "000.00.01.H26"
FINANCE = "000.00.03.H26"
PLANNING = "000.00.04.H26"
DONG_DA = "000.00.22.H26"
HOAN_KIEM = "000.00.21.H26"
VAN_MIEU = "000.21.22.H26"
QUOC_TU_GIAM = "000.24.22.H26"
NEW_WARD = "000.01.61.H26"


def load_hanoi(database: Database) -> None:
    with database.transaction() as session:
        import_directory(session, read_directory_file(sample_directory("hanoi")))


def stamp(moment: datetime) -> str:
    return moment.isoformat()


def merge_wards(at: datetime, *, carry_tokens: bool = False, key: str = "merge-wards") -> str:
    return f"""\
changes:
  - id: {key}
    kind: merge
    effective: "{stamp(at)}"
    act: Nghị quyết 1656/NQ-UBTVQH15
    from: [{VAN_MIEU}, {QUOC_TU_GIAM}]
    into: {NEW_WARD}
    carry_tokens: {"true" if carry_tokens else "false"}
    agency: {{code: {NEW_WARD}, name: UBND phường Văn Miếu - Quốc Tử Giám, level: 4,
             parent: {DONG_DA}, channel: webhook, settings: {{url: "https://ward.example/edxml"}}}}
"""


def record(database: Database, text: str, *, dry_run: bool = False, fmt: str = "yaml") -> object:
    with database.transaction(commit=not dry_run) as session:
        return record_changes(
            session,
            parse_changes(text, fmt, source="changes"),  # type: ignore[arg-type]
            actor="tester",
            dry_run=dry_run,
        )


def add_delivery(
    database: Database, recipient: str, state: DeliveryState, packet_id: str | None = None
) -> tuple[str, str]:
    packet_id = packet_id or new_id()
    delivery_id = new_id()
    with database.transaction() as session:
        if session.get(Packet, packet_id) is None:
            session.add(
                Packet(
                    id=packet_id,
                    kind="edoc",
                    sha256=new_id() + new_id()[:12] + "0" * 26,
                    size=1,
                    sender_code=CITY,
                    document_id=f"{CITY},2025/06/30,{packet_id}",
                    business_type=0,
                    signature_status="absent",
                    summary={"to": [recipient]},
                )
            )
            session.flush()
        session.add(
            Delivery(
                id=delivery_id,
                packet_id=packet_id,
                recipient_code=recipient,
                channel=Channel.INBOX,
                state=state,
                attempts=1 if state is DeliveryState.AVAILABLE else 0,
            )
        )
    return packet_id, delivery_id


def test_a_change_is_recorded_with_who_when_and_its_act_and_audited(database: Database) -> None:
    load_hanoi(database)
    at = utcnow() + timedelta(days=1)

    record(database, merge_wards(at))

    with database.transaction() as session:
        (change,) = session.scalars(select(DirectoryChange)).all()
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "directory.changes-recorded")
        ).all()
    assert (change.key, change.act, change.recorded_by) == (
        "merge-wards",
        "Nghị quyết 1656/NQ-UBTVQH15",
        "tester",
    )
    assert change.effective_at == at
    assert change.applied_at is None
    assert len(audited) == 1


def test_routing_follows_the_directory_in_force_at_each_moment(database: Database) -> None:
    load_hanoi(database)
    at = utcnow() + timedelta(days=1)
    record(database, merge_wards(at))

    with database.transaction() as session:
        before = resolve(session, [VAN_MIEU, NEW_WARD], at=at - timedelta(seconds=1))
        after = resolve(session, [VAN_MIEU, NEW_WARD], at=at)

    assert list(before.found) == [VAN_MIEU]
    assert list(before.pending) == [NEW_WARD]
    assert list(after.found) == [NEW_WARD]
    succession = after.ended[VAN_MIEU]
    assert succession.single is not None
    assert succession.single.code == NEW_WARD
    assert succession.change is not None
    assert succession.change.act == "Nghị quyết 1656/NQ-UBTVQH15"


def test_a_chain_of_changes_leads_to_the_agency_in_force(database: Database) -> None:
    load_hanoi(database)
    first = utcnow() - timedelta(days=2)
    text = merge_wards(first) + (
        f"  - {{kind: recode, effective: '{stamp(first + timedelta(days=1))}', act: QĐ 2, "
        f"code: {NEW_WARD}, new_code: 000.09.61.H26}}\n"
    )
    record(database, text)

    with database.transaction() as session:
        found = resolve(session, [VAN_MIEU])

    assert found.ended[VAN_MIEU].codes == ("000.09.61.H26",)


def test_a_split_code_leads_to_every_successor_and_no_single_one(database: Database) -> None:
    load_hanoi(database)
    at = utcnow() - timedelta(minutes=1)
    record(
        database,
        f"- {{kind: dissolve, effective: '{stamp(at)}', act: x, code: 000.01.21.H26}}\n"
        f"- {{kind: split, effective: '{stamp(at)}', act: NQ 1656, code: {HOAN_KIEM}, "
        f"into: [{CITY_OFFICE}, {FINANCE}]}}\n",
    )

    with database.transaction() as session:
        found = resolve(session, [HOAN_KIEM])

    succession = found.ended[HOAN_KIEM]
    assert succession.single is None
    assert succession.codes == (CITY_OFFICE, FINANCE)


def test_a_dry_run_writes_nothing_and_lists_what_it_would_move(database: Database) -> None:
    load_hanoi(database)
    _, delivery_id = add_delivery(database, VAN_MIEU, DeliveryState.AVAILABLE)
    before = snapshot(database.engine)

    with database.transaction(commit=False) as session:
        report = record_changes(
            session,
            parse_changes(merge_wards(utcnow() + timedelta(days=1)), "yaml"),
            actor="tester",
            dry_run=True,
        )

    assert snapshot(database.engine) == before
    (affected,) = report.affected
    assert (affected.delivery_id, affected.action, affected.to) == (
        delivery_id,
        "redirect",
        NEW_WARD,
    )
    assert [view.key for view in report.recorded] == ["merge-wards"]


def test_importing_the_same_changes_again_changes_nothing(database: Database) -> None:
    load_hanoi(database)
    text = merge_wards(utcnow() + timedelta(days=1))
    record(database, text)
    before = snapshot(database.engine)

    with database.transaction() as session:
        report = record_changes(session, parse_changes(text, "yaml"), actor="tester")

    assert report.recorded == []
    assert report.unchanged == ["merge-wards"]
    assert snapshot(database.engine) == before


def test_a_change_that_contradicts_the_history_writes_nothing(database: Database) -> None:
    load_hanoi(database)
    before = snapshot(database.engine)

    with pytest.raises(DirectoryError) as caught:
        record(
            database,
            f"- {{kind: rename, effective: 2025-07-01, act: x, code: {FINANCE}, name: A}}\n"
            f"- {{kind: rename, effective: 2025-07-01, act: x, code: 000.00.99.H26, name: B}}\n",
        )

    assert "no agency 000.00.99.H26" in str(caught.value)
    assert snapshot(database.engine) == before


def test_a_change_in_effect_moves_the_deliveries_on_their_way(database: Database) -> None:
    load_hanoi(database)
    _, waiting = add_delivery(database, VAN_MIEU, DeliveryState.AVAILABLE)
    _, retrying = add_delivery(database, QUOC_TU_GIAM, DeliveryState.RETRYING)
    _, taken = add_delivery(database, VAN_MIEU, DeliveryState.DELIVERED)

    record(database, merge_wards(utcnow() - timedelta(seconds=1)))

    with database.transaction() as session:
        rows = {row.id: row for row in session.scalars(select(Delivery))}
        redirects = session.scalars(select(DeliveryRedirect)).all()
        outbox = session.scalars(select(OutboxMessage)).all()
        change = session.scalars(select(DirectoryChange)).one()
    assert (rows[waiting].recipient_code, rows[waiting].state) == (NEW_WARD, DeliveryState.QUEUED)
    assert rows[waiting].channel is Channel.WEBHOOK
    assert (rows[retrying].recipient_code, rows[retrying].state) == (
        NEW_WARD,
        DeliveryState.RETRYING,
    )
    assert rows[taken].recipient_code == VAN_MIEU
    assert {(item.delivery_id, item.from_code, item.stage) for item in redirects} == {
        (waiting, VAN_MIEU, "in-flight"),
        (retrying, QUOC_TU_GIAM, "in-flight"),
    }
    assert [(item.delivery_id, item.reason) for item in outbox] == [(waiting, "redirect")]
    assert change.applied_at is not None
    assert change.outcome == {"redirected": 2, "merged": 0, "parked": 0}


def test_copies_of_one_packet_to_agencies_that_merge_reach_the_successor_once(
    database: Database,
) -> None:
    load_hanoi(database)
    packet_id, first = add_delivery(database, VAN_MIEU, DeliveryState.AVAILABLE)
    _, second = add_delivery(database, QUOC_TU_GIAM, DeliveryState.AVAILABLE, packet_id)

    record(database, merge_wards(utcnow() - timedelta(seconds=1)))

    with database.transaction() as session:
        rows = {row.id: row for row in session.scalars(select(Delivery))}
        merged = session.scalars(
            select(DeliveryRedirect).where(DeliveryRedirect.delivery_id == second)
        ).one()
    assert rows[first].recipient_code == NEW_WARD
    assert rows[second].state is DeliveryState.MERGED
    assert merged.merged_into == first


def test_a_delivery_under_way_to_a_code_without_single_successor_is_parked_naming_them(
    database: Database,
) -> None:
    load_hanoi(database)
    _, delivery_id = add_delivery(database, HOAN_KIEM, DeliveryState.QUEUED)

    record(
        database,
        f"- {{kind: dissolve, effective: '{stamp(utcnow())}', act: x, code: 000.01.21.H26}}\n"
        f"- {{kind: split, effective: '{stamp(utcnow())}', act: NQ 1656, code: {HOAN_KIEM}, "
        f"into: [{CITY_OFFICE}, {FINANCE}]}}\n",
    )

    with database.transaction() as session:
        row = session.get(Delivery, delivery_id)
    assert row is not None
    assert row.state is DeliveryState.PARKED
    assert row.last_error is not None
    assert f"{CITY_OFFICE}, {FINANCE}" in row.last_error


def test_a_future_change_is_applied_once_its_moment_has_come(database: Database) -> None:
    load_hanoi(database)
    at = utcnow() + timedelta(hours=1)
    _, delivery_id = add_delivery(database, VAN_MIEU, DeliveryState.QUEUED)
    record(database, merge_wards(at))

    with database.transaction() as session:
        early = apply_due(session, at - timedelta(seconds=1))
    with database.transaction() as session:
        due = apply_due(session, at)
    with database.transaction() as session:
        again = apply_due(session, at + timedelta(seconds=5))
        row = session.get(Delivery, delivery_id)

    assert early == []
    assert [item.key for item in due] == ["merge-wards"]
    assert again == []
    assert row is not None
    assert row.recipient_code == NEW_WARD


def test_a_successor_may_send_for_its_predecessors(database: Database) -> None:
    load_hanoi(database)
    record(database, merge_wards(utcnow() - timedelta(seconds=1)))

    with database.transaction() as session:
        assert may_send_for(session, NEW_WARD, VAN_MIEU)
        assert not may_send_for(session, VAN_MIEU, NEW_WARD)


def test_a_predecessor_sends_for_its_successor_only_when_its_tokens_are_carried(
    database: Database,
) -> None:
    load_hanoi(database)
    at = utcnow() - timedelta(seconds=1)
    record(database, merge_wards(at, carry_tokens=True))

    with database.transaction() as session:
        assert may_send_for(session, VAN_MIEU, NEW_WARD)
        assert not may_send_for(session, VAN_MIEU, NEW_WARD, at - timedelta(seconds=1))


def test_the_sample_reorganisation_leaves_three_levels_after_july_2025(database: Database) -> None:
    load_hanoi(database)

    with database.transaction() as session:
        report = record_changes(
            session, read_change_file(sample_changes("hanoi-2025")), actor="tester"
        )
    with database.transaction() as session:
        june = structure_at(session, datetime(2025, 6, 30, 12, tzinfo=UTC))
        july = structure_at(session, datetime(2025, 7, 1, tzinfo=UTC))
        current = resolve(session, [VAN_MIEU, DONG_DA, PLANNING])

    assert len(report.applied) == len(report.recorded)
    assert sorted(june.levels) == [1, 2, 3, 4]
    assert july.levels == {1: "Trung ương", 2: "Thành phố", 3: "Xã, phường"}
    assert Counter(agency.level for agency in july.agencies.values())[3] == 4
    assert july.agencies[NEW_WARD].parent == CITY
    assert current.ended[VAN_MIEU].codes == (NEW_WARD,)
    assert len(current.ended[DONG_DA].codes) == 4
    assert current.ended[PLANNING].codes == (FINANCE,)


def test_a_rename_becomes_the_agencys_name_once_in_effect(database: Database) -> None:
    load_hanoi(database)
    at = utcnow() + timedelta(hours=1)
    record(
        database,
        f"- {{kind: rename, effective: '{stamp(at)}', act: QĐ 9, code: {FINANCE}, name: Sở X}}\n",
    )

    with database.transaction() as session:
        before = session.get(Agency, FINANCE)
        assert before is not None
        name_before = before.name
    with database.transaction() as session:
        apply_due(session, at)
    with database.transaction() as session:
        after = session.get(Agency, FINANCE)
        assert after is not None

    assert (name_before, after.name) == ("Sở Tài chính", "Sở X")


def test_the_level_names_in_force_replace_the_old_ones(database: Database) -> None:
    load_hanoi(database)

    with database.transaction() as session:
        record_changes(session, read_change_file(sample_changes("hanoi-2025")), actor="tester")
    with database.transaction() as session:
        unapplied = session.scalar(
            select(func.count())
            .select_from(DirectoryChange)
            .where(DirectoryChange.applied_at.is_(None))
        )
        level = session.get(AgencyLevel, 3)

    assert unapplied == 0
    assert level is not None
    assert level.name == "Xã, phường"


def test_the_changes_of_an_agency_are_listed_by_its_code(database: Database) -> None:
    load_hanoi(database)
    with database.transaction() as session:
        record_changes(session, read_change_file(sample_changes("hanoi-2025")), actor="tester")

    with database.transaction() as session:
        views = list_changes(session, code=VAN_MIEU)

    assert [view.key for view in views] == ["hn-2025-07-van-mieu-quoc-tu-giam"]


def test_a_day_is_cut_where_a_change_takes_effect(database: Database) -> None:
    load_hanoi(database)
    day = local_day(utcnow())
    at = datetime.combine(day, time(12), LOCAL_TZ)
    record(database, merge_wards(at))

    with database.transaction() as session:
        first, second = day_periods(session, day)

    assert first.start == datetime.combine(day, time(0), LOCAL_TZ)
    assert first.end == second.start == at
    assert second.end == first.start + timedelta(days=1)
    assert second.changes[0].startswith(f"merge {VAN_MIEU}")


def test_a_plain_directory_import_keeps_the_version_in_force_current(database: Database) -> None:
    load_hanoi(database)
    renamed = parse_yaml(
        f"- {{code: {FINANCE}, name: Sở Tài chính Hà Nội, level: 2, parent: {CITY}, "
        "channel: webhook}\n"
    )

    with database.transaction() as session:
        import_directory(session, renamed)
    with database.transaction() as session:
        structure = structure_at(session, utcnow())

    assert structure.agencies[FINANCE].name == "Sở Tài chính Hà Nội"


def test_the_relays_duty_applies_a_change_once_it_takes_effect(database: Database) -> None:
    load_hanoi(database)
    _, delivery_id = add_delivery(database, VAN_MIEU, DeliveryState.AVAILABLE)
    record(database, merge_wards(utcnow() + timedelta(seconds=0.3)))
    duty = DueChanges(database, every=0.0)

    duty.tick()
    with database.transaction() as session:
        before = session.get(Delivery, delivery_id)
        assert before is not None
        recipient_before = before.recipient_code
    clock.sleep(0.4)  # the change takes effect
    duty.tick()
    with database.transaction() as session:
        after = session.get(Delivery, delivery_id)
        assert after is not None

    assert (recipient_before, after.recipient_code) == (VAN_MIEU, NEW_WARD)


def test_an_agency_written_without_a_version_is_in_the_structure_as_it_stands(
    database: Database,
) -> None:
    load_hanoi(database)
    with database.transaction() as session:
        session.add(
            Agency(
                code="000.00.00.G07",
                name="Bộ mới",
                level=1,
                channel=Channel.AXIS,
                channel_settings={},
                active=True,
                illustrative=True,
            )
        )

    with database.transaction() as session:
        structure = structure_at(session, utcnow())

    assert structure.agencies["000.00.00.G07"].name == "Bộ mới"
