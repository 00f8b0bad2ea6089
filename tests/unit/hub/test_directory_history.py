"""Planning dated changes against the directory's history: what each does, what is refused."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.channels import Channel
from hub.directory import parse_changes
from hub.directory.history import (
    AgencyHistory,
    CreateAgency,
    EndAgency,
    KnownHistory,
    LevelSpan,
    Plan,
    ReviseAgency,
    VersionSpan,
    plan_changes,
)
from hub.directory.structure import Structure, StructureAgency, SuccessionEdge

CITY = "000.00.00.H26"
DEPARTMENT = "000.00.04.H26"
FINANCE = "000.00.03.H26"
DISTRICT = "000.00.22.H26"
OFFICE = "000.01.22.H26"
WARD_A = "000.21.22.H26"
WARD_B = "000.24.22.H26"
NEW_WARD = "000.01.61.H26"
JULY = datetime(2025, 6, 30, 17, 0, tzinfo=UTC)


def agency(
    code: str,
    level: int,
    parent: str | None,
    channel: Channel = Channel.INBOX,
    settings: dict[str, str] | None = None,
) -> AgencyHistory:
    return AgencyHistory(
        code=code,
        valid_from=None,
        valid_until=None,
        versions=(VersionSpan(None, None, f"agency {code}", level, parent),),
        channel=channel,
        settings=settings or {},
    )


def city() -> KnownHistory:
    return KnownHistory(
        agencies={
            CITY: agency(CITY, 2, None),
            FINANCE: agency(FINANCE, 2, CITY),
            DEPARTMENT: agency(DEPARTMENT, 2, CITY),
            DISTRICT: agency(DISTRICT, 3, CITY),
            OFFICE: agency(OFFICE, 3, DISTRICT),
            WARD_A: agency(WARD_A, 4, DISTRICT),
            WARD_B: agency(WARD_B, 4, DISTRICT),
        },
        levels=(
            LevelSpan(2, "Thành phố", None, None),
            LevelSpan(3, "Quận, huyện", None, None),
            LevelSpan(4, "Xã, phường", None, None),
        ),
    )


def plan(text: str, known: KnownHistory | None = None) -> Plan:
    return plan_changes(parse_changes(text, "yaml", source="c.yaml"), known or city())


def test_a_merge_into_a_new_agency_creates_it_and_ends_each_predecessor() -> None:
    result = plan(
        f"""\
- kind: merge
  effective: 2025-07-01
  act: NQ 1656
  from: [{WARD_A}, {WARD_B}]
  into: {NEW_WARD}
  agency: {{code: {NEW_WARD}, name: Phường mới, level: 4, parent: {DISTRICT}}}
"""
    )

    assert result.issues == ()
    (change,) = result.changes
    create, end_a, end_b = change.operations
    assert isinstance(create, CreateAgency)
    assert (create.code, create.at, create.channel) == (NEW_WARD, JULY, Channel.INBOX)
    assert end_a == EndAgency(JULY, WARD_A, (NEW_WARD,))
    assert end_b == EndAgency(JULY, WARD_B, (NEW_WARD,))
    assert change.summary.startswith(f"merge {WARD_A}, {WARD_B} → {NEW_WARD}")


def test_the_children_of_an_agency_merged_away_move_under_its_successor() -> None:
    result = plan(
        f"- {{kind: merge, effective: 2025-07-01, act: x, from: [{DISTRICT}], into: {CITY}}}\n"
    )

    assert result.issues == ()
    moved = [op for op in result.changes[0].operations if isinstance(op, ReviseAgency)]
    assert {(op.code, op.parent) for op in moved} == {
        (OFFICE, CITY),
        (WARD_A, CITY),
        (WARD_B, CITY),
    }


def test_a_split_leaves_children_without_a_parent_and_says_so() -> None:
    result = plan(
        f"- {{kind: split, effective: 2025-07-01, act: x, code: {DISTRICT}, "
        f"into: [{CITY}, {FINANCE}]}}\n"
    )

    assert any(
        OFFICE in issue.message and "no longer exists" in issue.message for issue in result.issues
    )


def test_ending_a_level_with_agencies_still_on_it_is_refused() -> None:
    result = plan(
        "- kind: levels\n  effective: 2025-07-01\n  act: Luật 72\n"
        "  levels: [{level: 2, name: Thành phố}, {level: 3, name: Quận}]\n"
    )

    assert any("level 4" in issue.message and WARD_A in issue.message for issue in result.issues)


def test_a_change_on_an_agency_that_no_longer_exists_then_is_refused() -> None:
    text = (
        f"- {{kind: dissolve, effective: 2025-03-01, act: x, code: {DEPARTMENT}, "
        f"successor: {FINANCE}}}\n"
        f"- {{kind: rename, effective: 2025-07-01, act: x, code: {DEPARTMENT}, name: Sở mới}}\n"
    )

    result = plan(text)

    (issue,) = result.issues
    assert issue.record == 2
    assert "no longer exists" in issue.message


def test_a_change_before_a_later_recorded_one_of_the_same_agency_is_refused() -> None:
    known = city()
    later = datetime(2026, 1, 1, tzinfo=UTC)
    renamed = AgencyHistory(
        code=FINANCE,
        valid_from=None,
        valid_until=None,
        versions=(
            VersionSpan(None, later, "Sở Tài chính", 2, CITY),
            VersionSpan(later, None, "Sở Tài chính mới", 2, CITY),
        ),
        channel=Channel.WEBHOOK,
    )
    known = KnownHistory({**known.agencies, FINANCE: renamed}, known.levels)

    result = plan(
        f"- {{kind: rename, effective: 2025-07-01, act: x, code: {FINANCE}, name: Sở X}}\n",
        known,
    )

    (issue,) = result.issues
    assert "date order" in issue.message


def test_a_code_is_never_reused() -> None:
    result = plan(
        f"- {{kind: recode, effective: 2025-07-01, act: x, code: {DEPARTMENT}, "
        f"new_code: {FINANCE}}}\n"
    )

    (issue,) = result.issues
    assert "never reused" in issue.message


def test_a_recode_carries_the_channel_and_settings_to_the_new_code() -> None:
    known = city()
    known = KnownHistory(
        {
            **known.agencies,
            DEPARTMENT: agency(
                DEPARTMENT, 2, CITY, channel=Channel.WEBHOOK, settings={"url": "https://x"}
            ),
        },
        known.levels,
    )

    result = plan(
        f"- {{kind: recode, effective: 2025-07-01, act: x, code: {DEPARTMENT}, "
        "new_code: 000.00.44.H26, carry_tokens: true}\n",
        known,
    )

    create, end = result.changes[0].operations
    assert isinstance(create, CreateAgency)
    assert (create.channel, dict(create.settings)) == (Channel.WEBHOOK, {"url": "https://x"})
    assert end == EndAgency(JULY, DEPARTMENT, ("000.00.44.H26",), carries_tokens=True)


def test_a_change_recorded_as_it_is_again_is_unchanged_and_otherwise_refused() -> None:
    text = f"- {{id: r1, kind: rename, effective: 2025-07-01, act: x, code: {FINANCE}, name: A}}\n"
    fingerprint = parse_changes(text, "yaml").entries()[0].fingerprint()
    known = KnownHistory(city().agencies, city().levels, recorded={"r1": fingerprint})

    same = plan(text, known)
    other = plan(text.replace("name: A", "name: B"), known)

    assert (same.changes, same.unchanged, same.issues) == ((), ("r1",), ())
    assert "not edited" in other.issues[0].message


def test_levels_go_first_at_a_moment_so_agencies_may_move_onto_a_new_level() -> None:
    text = (
        f"- {{kind: move, effective: 2025-07-01, act: x, codes: [{WARD_A}, {WARD_B}], "
        f"level: 3, parent: {CITY}}}\n"
        f"- {{kind: dissolve, effective: 2025-07-01, act: x, codes: [{DISTRICT}, {OFFICE}]}}\n"
        "- kind: levels\n  effective: 2025-07-01\n  act: Luật 72\n"
        "  levels: [{level: 2, name: Thành phố}, {level: 3, name: 'Xã, phường'}]\n"
    )

    result = plan(text)

    assert result.issues == ()
    assert result.changes[0].entry.kind.value == "levels"


def _structure(edges: list[SuccessionEdge]) -> Structure:
    agencies = {
        code: StructureAgency(code, code, 3, CITY, "inbox", True) for code in (NEW_WARD, FINANCE)
    }
    return Structure(at=JULY, levels={3: "Xã, phường"}, agencies=agencies, edges=edges)


def test_a_figure_of_an_old_code_counts_for_its_single_successor() -> None:
    structure = _structure(
        [SuccessionEdge(WARD_A, NEW_WARD, JULY), SuccessionEdge(WARD_B, NEW_WARD, JULY)]
    )

    assert structure.place(WARD_A) == NEW_WARD
    assert structure.place(NEW_WARD) == NEW_WARD


def test_a_figure_of_a_split_code_counts_for_no_agency() -> None:
    structure = _structure(
        [SuccessionEdge(DISTRICT, NEW_WARD, JULY), SuccessionEdge(DISTRICT, FINANCE, JULY)]
    )

    assert structure.place(DISTRICT) is None


def test_a_figure_of_a_code_created_later_counts_for_its_predecessor_then() -> None:
    later = datetime(2026, 1, 1, tzinfo=UTC)
    structure = _structure([SuccessionEdge(FINANCE, "000.00.44.H26", later)])

    assert structure.place("000.00.44.H26") == FINANCE
