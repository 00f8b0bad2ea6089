"""Directory files: YAML and CSV parsing, checks that name line and field, round trips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from hub.channels import Channel
from hub.directory import (
    DirectoryFile,
    KnownDirectory,
    check_directory,
    dump_csv,
    dump_yaml,
    format_of,
    parse_csv,
    parse_directory,
    parse_yaml,
)
from hub.errors import DirectoryError, DirectoryIssue

CITY = "000.00.00.H26"
DEPARTMENT = "000.00.01.H26"
DISTRICT = "000.00.22.H26"
WARD = "000.21.22.H26"

SMALL_YAML = dedent(
    f"""\
    levels:
      - {{level: 2, name: Thành phố}}
      - {{level: 3, name: "Quận, huyện"}}
    agencies:
      - code: {CITY}
        name: UBND Thành phố Hà Nội
        level: 2
        channel: webhook
        settings: {{url: "http://127.0.0.1:9100/h26"}}
      - code: {DEPARTMENT}
        name: Văn phòng UBND Thành phố
        level: 2
        parent: {CITY}
        channel: inbox
        may_send_for: [{CITY}]
      - code: {DISTRICT}
        name: UBND quận Đống Đa
        level: 3
        parent: {CITY}
        channel: inbox
        illustrative: true
        active: false
    """
)


def yaml_issues(text: str) -> list[DirectoryIssue]:
    return _issues(lambda: parse_yaml(dedent(text), source="test.yaml"))


def csv_issues(text: str) -> list[DirectoryIssue]:
    return _issues(lambda: parse_csv(dedent(text), source="test.csv"))


def check_issues(directory: DirectoryFile, known: KnownDirectory | None = None) -> list[str]:
    return [str(issue) for issue in check_directory(directory, known)]


def _issues(parse: Callable[[], DirectoryFile]) -> list[DirectoryIssue]:
    with pytest.raises(DirectoryError) as caught:
        parse()
    return list(caught.value.issues)


def _agency_yaml(*agencies: str) -> str:
    return "levels: [{level: 1, name: Top}, {level: 2, name: Below}]\nagencies:\n" + "".join(
        agencies
    )


def test_yaml_file_gives_levels_and_agencies_with_defaults() -> None:
    directory = parse_yaml(SMALL_YAML)

    assert [(level.level, level.name) for level in directory.levels] == [
        (2, "Thành phố"),
        (3, "Quận, huyện"),
    ]
    city, department, district = (item.entry for item in directory.agencies)
    assert city.channel is Channel.WEBHOOK
    assert city.settings == {"url": "http://127.0.0.1:9100/h26"}
    assert (city.parent, city.active, city.illustrative) == (None, True, False)
    assert department.may_send_for == (CITY,)
    assert (district.active, district.illustrative) == (False, True)


def test_yaml_bare_list_declares_levels_through_level_name() -> None:
    directory = parse_yaml(
        f"- {{code: {CITY}, name: UBND, level: 2, level_name: Thành phố, channel: inbox}}\n"
    )

    assert [(level.level, level.name) for level in directory.levels] == [(2, "Thành phố")]


def test_csv_file_reads_the_same_directory_as_yaml() -> None:
    from_yaml = parse_yaml(SMALL_YAML).data()

    from_csv = parse_csv(dump_csv(from_yaml)).data()

    assert from_csv == from_yaml


def test_yaml_export_reads_back_unchanged() -> None:
    data = parse_yaml(SMALL_YAML).data()

    assert parse_yaml(dump_yaml(data)).data() == data


def test_csv_with_byte_order_mark_is_read() -> None:
    text = dump_csv(parse_yaml(SMALL_YAML).data())

    directory = parse_directory(("\ufeff" + text).encode(), "csv")

    assert directory.agencies[0].entry.code == CITY


def test_empty_csv_cells_take_the_defaults() -> None:
    directory = parse_csv(f"code,name,level,level_name,channel\n{CITY},UBND,2,Thành phố,inbox\n")

    entry = directory.agencies[0].entry
    assert (entry.parent, entry.settings, entry.active, entry.may_send_for) == (None, {}, True, ())


def test_bad_channel_in_yaml_names_line_and_field() -> None:
    (issue,) = yaml_issues(
        _agency_yaml(
            f"  - code: {CITY}\n",
            "    name: UBND\n",
            "    level: 1\n",
            "    channel: fax\n",
        )
    )

    assert (issue.line, issue.record, issue.field) == (6, 1, "channel")
    assert "'inbox'" in issue.message
    assert str(issue).startswith(f"test.yaml:6, agency #1 ({CITY}), field 'channel':")


def test_bad_channel_in_csv_names_line_and_field() -> None:
    (issue,) = csv_issues(
        f"""\
        code,name,level,level_name,channel
        {CITY},UBND,2,Thành phố,inbox
        {DEPARTMENT},Sở Nội vụ,2,,carrier-pigeon
        """
    )

    assert (issue.line, issue.record, issue.agency, issue.field) == (3, 2, DEPARTMENT, "channel")


def test_missing_required_field_is_named() -> None:
    (issue,) = yaml_issues(_agency_yaml(f"  - {{code: {CITY}, level: 1, channel: inbox}}\n"))

    assert (issue.field, issue.message) == ("name", "required field is missing")


def test_unknown_field_is_named() -> None:
    (issue,) = yaml_issues(
        _agency_yaml(f"  - {{code: {CITY}, name: U, level: 1, channel: inbox, parnet: x}}\n")
    )

    assert issue.field == "parnet"
    assert issue.message.startswith("unknown field")


def test_numeric_code_asks_for_quotes() -> None:
    (issue,) = yaml_issues(_agency_yaml("  - {code: 28.22, name: U, level: 1, channel: inbox}\n"))

    assert issue.field == "code"
    assert "quotes" in issue.message


def test_code_with_spaces_is_refused() -> None:
    (issue,) = yaml_issues(_agency_yaml("  - {code: 'a b', name: U, level: 1, channel: inbox}\n"))

    assert issue.field == "code"


def test_settings_that_are_not_json_values_are_refused() -> None:
    (issue,) = yaml_issues(
        _agency_yaml(
            f"  - {{code: {CITY}, name: U, level: 1, channel: inbox,\n",
            "      settings: {d: 2024-01-01}}\n",
        )
    )

    assert issue.field == "settings"


def test_csv_settings_that_are_not_json_name_the_field() -> None:
    (issue,) = csv_issues(
        f"""\
        code,name,level,level_name,channel,settings
        {CITY},UBND,2,Thành phố,webhook,{{url: nope}}
        """
    )

    assert (issue.line, issue.field) == (2, "settings")
    assert "JSON" in issue.message


def test_every_invalid_record_is_reported_at_once() -> None:
    issues = csv_issues(
        f"""\
        code,name,level,level_name,channel
        {CITY},UBND,two,Thành phố,inbox
        {DEPARTMENT},Sở Nội vụ,2,,fax
        """
    )

    assert [(issue.line, issue.field) for issue in issues] == [(2, "level"), (3, "channel")]


def test_csv_header_without_required_columns_is_refused() -> None:
    (issue,) = csv_issues("code,name,level\n")

    assert issue.line == 1
    assert "missing column(s) channel" in issue.message


def test_csv_header_with_unknown_column_is_refused() -> None:
    (issue,) = csv_issues("code,name,level,channel,colour\n")

    assert "unknown column(s) colour" in issue.message


def test_csv_row_with_extra_cells_is_refused() -> None:
    (issue,) = csv_issues(f"code,name,level,channel\n{CITY},UBND,2,inbox,surplus\n")

    assert (issue.line, issue.message) == (2, "more cells than columns")


def test_invalid_yaml_reports_its_line() -> None:
    (issue,) = yaml_issues("agencies:\n  - code: [unclosed\n  - name: x\n")

    assert issue.line == 3


def test_unknown_top_level_key_is_refused() -> None:
    (issue,) = yaml_issues("agencies: []\nagencis: []\n")

    assert (issue.line, issue.field) == (2, "agencis")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(DirectoryError, match="not UTF-8"):
        parse_directory("tên".encode("utf-16"), "csv", source="x.csv")


def test_level_named_twice_differently_is_refused() -> None:
    (issue,) = csv_issues(
        f"""\
        code,name,level,level_name,channel
        {CITY},UBND,2,Thành phố,inbox
        {DEPARTMENT},Sở Nội vụ,2,Tỉnh,inbox
        """
    )

    assert (issue.line, issue.field) == (3, "level_name")


def test_duplicate_code_names_the_first_occurrence() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - {{code: {CITY}, name: A, level: 1, channel: inbox}}\n",
            f"  - {{code: {CITY}, name: B, level: 1, channel: inbox}}\n",
        )
    )

    assert check_issues(directory) == [
        f"<input>:4, agency #2 ({CITY}), field 'code': duplicate code: agency #1 (line 3)"
    ]


def test_unknown_parent_names_line_and_field() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - code: {DEPARTMENT}\n",
            "    name: Sở Nội vụ\n",
            "    level: 2\n",
            f"    parent: {CITY}\n",
            "    channel: inbox\n",
        )
    )

    (issue,) = check_directory(directory)

    assert (issue.line, issue.record, issue.field) == (6, 1, "parent")
    assert "unknown parent '000.00.00.H26'" in issue.message


def test_parent_already_in_the_directory_is_accepted() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - {{code: {DEPARTMENT}, name: S, level: 2, parent: {CITY}, channel: inbox}}\n"
        )
    )

    assert check_directory(directory, KnownDirectory(parents={CITY: None})) == []


def test_parent_cycle_is_reported_once_with_its_chain() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - {{code: {CITY}, name: A, level: 1, parent: {DISTRICT}, channel: inbox}}\n",
            f"  - {{code: {DEPARTMENT}, name: B, level: 1, parent: {CITY}, channel: inbox}}\n",
            f"  - {{code: {DISTRICT}, name: C, level: 1, parent: {DEPARTMENT}, channel: inbox}}\n",
        )
    )

    (issue,) = check_directory(directory)

    assert issue.field == "parent"
    assert issue.message == (
        f"parent chain loops back on itself: {CITY} → {DISTRICT} → {DEPARTMENT} → {CITY}"
    )


def test_agency_that_is_its_own_parent_is_a_cycle() -> None:
    directory = parse_yaml(
        _agency_yaml(f"  - {{code: {CITY}, name: A, level: 1, parent: {CITY}, channel: inbox}}\n")
    )

    (issue,) = check_directory(directory)

    assert "loops back" in issue.message


def test_cycle_through_a_stored_agency_is_found() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - {{code: {CITY}, name: A, level: 1, parent: {DISTRICT}, channel: inbox}}\n"
        )
    )

    (issue,) = check_directory(directory, KnownDirectory(parents={DISTRICT: CITY}))

    assert "loops back" in issue.message


def test_undeclared_level_is_refused() -> None:
    directory = parse_yaml(f"- {{code: {CITY}, name: A, level: 7, channel: inbox}}\n")

    (issue,) = check_directory(directory)

    assert issue.field == "level"
    assert "level 7 is not declared" in issue.message


def test_level_already_stored_needs_no_declaration() -> None:
    directory = parse_yaml(f"- {{code: {CITY}, name: A, level: 7, channel: inbox}}\n")

    assert check_directory(directory, KnownDirectory(levels={7: "Khu"})) == []


def test_delegation_to_unknown_agency_is_refused() -> None:
    directory = parse_yaml(
        _agency_yaml(
            f"  - {{code: {CITY}, name: A, level: 1, channel: inbox, may_send_for: [{WARD}]}}\n"
        )
    )

    (issue,) = check_directory(directory)

    assert (issue.field, issue.message.startswith("unknown agency")) == ("may_send_for", True)


@pytest.mark.parametrize(
    ("name", "expected"), [("a.yaml", "yaml"), ("a.YML", "yaml"), ("a.csv", "csv")]
)
def test_format_follows_the_file_suffix(name: str, expected: str) -> None:
    assert format_of(Path(name)) == expected


def test_unknown_suffix_asks_for_a_format() -> None:
    with pytest.raises(DirectoryError, match="--format"):
        format_of(Path("agencies.txt"))
