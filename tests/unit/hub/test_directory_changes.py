"""Change files: YAML and CSV read into the same dated changes, each problem located."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pytest

from hub.channels import Channel
from hub.db.models import ChangeKind
from hub.directory import parse_changes, read_change_file, sample_changes
from hub.directory.changes import effective_moment
from hub.errors import DirectoryError

MERGE_YAML = dedent(
    """\
    changes:
      - kind: merge
        effective: 2025-07-01
        act: Nghị quyết 1656/NQ-UBTVQH15
        from: [000.21.22.H26, 000.24.22.H26]
        into: 000.01.61.H26
        agency: {code: 000.01.61.H26, name: UBND phường Văn Miếu - Quốc Tử Giám, level: 3,
                 parent: 000.00.00.H26}
    """
)


def test_a_date_takes_effect_at_the_citys_midnight() -> None:
    assert effective_moment("2025-07-01") == datetime(2025, 6, 30, 17, 0, tzinfo=UTC)


def test_a_date_time_without_a_zone_is_read_on_the_citys_clock() -> None:
    assert effective_moment("2025-07-01T08:30:00") == datetime(2025, 7, 1, 1, 30, tzinfo=UTC)


def test_a_yaml_merge_names_what_ends_and_the_new_successor() -> None:
    (change,) = parse_changes(MERGE_YAML, "yaml").entries()

    assert change.kind is ChangeKind.MERGE
    assert change.from_ == ("000.21.22.H26", "000.24.22.H26")
    assert change.into == ("000.01.61.H26",)
    assert change.agencies[0].name == "UBND phường Văn Miếu - Quốc Tử Giám"
    assert change.agencies[0].channel is None
    assert change.effective == datetime(2025, 6, 30, 17, 0, tzinfo=UTC)


def test_the_csv_form_of_a_merge_reads_as_the_yaml_one() -> None:
    text = (
        "kind,effective,act,from,into,name,level,parent\n"
        "merge,2025-07-01,Nghị quyết 1656/NQ-UBTVQH15,000.21.22.H26 000.24.22.H26,"
        "000.01.61.H26,UBND phường Văn Miếu - Quốc Tử Giám,3,000.00.00.H26\n"
    )

    (from_csv,) = parse_changes(text, "csv").entries()
    (from_yaml,) = parse_changes(MERGE_YAML, "yaml").entries()

    assert from_csv.fingerprint() == from_yaml.fingerprint()
    assert from_csv.key == from_yaml.key


def test_consecutive_csv_level_rows_of_one_date_form_one_list() -> None:
    text = (
        "kind,effective,act,level,name\n"
        "levels,2025-07-01,Luật 72/2025/QH15,1,Trung ương\n"
        "levels,2025-07-01,Luật 72/2025/QH15,2,Thành phố\n"
        'levels,2025-07-01,Luật 72/2025/QH15,3,"Xã, phường"\n'
    )

    (change,) = parse_changes(text, "csv").entries()

    assert [(level.level, level.name) for level in change.levels] == [
        (1, "Trung ương"),
        (2, "Thành phố"),
        (3, "Xã, phường"),
    ]


def test_csv_create_rows_describe_the_new_agency() -> None:
    text = (
        "kind,effective,act,code,name,level,parent,channel,settings\n"
        'create,2025-07-01,QĐ 1,000.05.61.H26,UBND xã A,3,000.00.00.H26,webhook,"{""url"": '
        '""https://a.example/edxml""}"\n'
    )

    (change,) = parse_changes(text, "csv").entries()

    (agency,) = change.agencies
    assert (agency.code, agency.channel) == ("000.05.61.H26", Channel.WEBHOOK)
    assert agency.settings == {"url": "https://a.example/edxml"}


def test_a_move_to_no_parent_is_told_apart_from_a_move_that_keeps_it() -> None:
    text = dedent(
        """\
        - {kind: move, effective: 2025-07-01, act: x, code: 000.01.22.H26, parent: null}
        - {kind: move, effective: 2025-07-01, act: x, code: 000.02.22.H26, level: 3}
        """
    )

    to_top, keeps = parse_changes(text, "yaml").entries()

    assert to_top.parent_given
    assert to_top.parent is None
    assert not keeps.parent_given


def test_the_same_change_always_gets_the_same_derived_key() -> None:
    first = parse_changes(MERGE_YAML, "yaml").entries()[0]
    again = parse_changes(MERGE_YAML.replace("2025-07-01", '"2025-07-01"'), "yaml").entries()[0]

    assert first.key == again.key
    assert first.key.startswith("change-")


def test_a_given_id_is_the_key() -> None:
    text = MERGE_YAML.replace("  - kind: merge", "  - id: hn-van-mieu\n    kind: merge")

    (change,) = parse_changes(text, "yaml").entries()

    assert change.key == "hn-van-mieu"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("{kind: merge, effective: 2025-07-01, act: x, from: [A1]}", "into", "needs 'into'"),
        (
            "{kind: split, effective: 2025-07-01, act: x, code: A1, into: [B1]}",
            "into",
            "two successors",
        ),
        (
            "{kind: split, effective: 2025-07-01, act: x, code: A1, into: [B1, C1], in_flight: D1}",
            "in_flight",
            "not one of the successors",
        ),
        ("{kind: rename, effective: 2025-07-01, act: x, code: A1}", "name", "needs 'name'"),
        (
            "{kind: dissolve, effective: 2025-07-01, act: x, code: A1, name: B}",
            "name",
            "has no 'name'",
        ),
        ("{kind: move, effective: 2025-07-01, act: x, code: A1}", "level", "'level', 'parent'"),
        (
            "{kind: create, effective: 2025-07-01, act: x, agencies: [{code: B1, name: B, "
            "level: 2}]}",
            "agencies",
            "needs its 'channel'",
        ),
    ],
)
def test_each_kind_says_what_it_needs_and_what_it_has_no_use_for(
    change: str, field: str, words: str
) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_changes(f"- {change}\n", "yaml", source="changes.yaml")

    (issue,) = caught.value.issues
    assert (issue.field, issue.record, issue.line, issue.subject) == (field, 1, 1, "change")
    assert words in issue.message


def test_a_change_without_its_act_is_refused() -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_changes("- {kind: rename, effective: 2025-07-01, code: A1, name: B}\n", "yaml")

    assert [issue.field for issue in caught.value.issues] == ["act"]


def test_a_date_that_does_not_parse_names_the_line() -> None:
    text = "changes:\n  - kind: rename\n    effective: first of July\n    act: x\n"

    with pytest.raises(DirectoryError) as caught:
        parse_changes(text + "    code: A1\n    name: B\n", "yaml", source="c.yaml")

    (issue,) = caught.value.issues
    assert (issue.field, issue.line) == ("effective", 3)
    assert "2025-07-01" in issue.message


def test_an_unknown_csv_column_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DirectoryError, match="bad header row") as caught:
        parse_changes("kind,effective,act,when\n", "csv")

    assert "unknown column(s) when" in caught.value.issues[0].message


def test_the_shipped_sample_marks_every_change_of_invented_agencies_illustrative() -> None:
    changes = read_change_file(sample_changes("hanoi-2025")).entries()

    assert len(changes) >= 15
    assert all(change.illustrative for change in changes if change.kind is not ChangeKind.LEVELS)
    assert {change.kind for change in changes} >= {
        ChangeKind.MERGE,
        ChangeKind.SPLIT,
        ChangeKind.DISSOLVE,
        ChangeKind.RENAME,
        ChangeKind.LEVELS,
    }
