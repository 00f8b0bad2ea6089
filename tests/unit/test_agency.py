"""Agency codes: the QCVN 102:2016 hierarchy, the irregular rule, opaque forms, child codes."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edxml.agency import child_code, is_qcvn_code, level_of, parse_agency_code

HANOI = "000.00.00.H26"
DEPARTMENT = "000.00.12.H26"
COMMUNE = "000.05.12.H26"
UNIT = "001.05.12.H26"

OPAQUE_CODES = [
    "28.22.H17",
    "vxp.saas.03",
    "null",
    "G22.ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "000.00.12.h26",
    "000.00.12.H2",
    "0000.00.12.H26",
    "000.00.12.H26.01",
    "000.00.12.126",
    "٠٠٠.00.12.H26",
]

roots = st.builds(
    lambda letter, digits: f"{letter}{digits:02d}",
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(0, 99),
)
two_digits = st.integers(0, 99)


@st.composite
def qcvn_codes(draw: st.DrawFn, *, below_level_4: bool = False) -> str:
    v = 0 if below_level_4 else draw(st.integers(0, 999))
    return f"{v:03d}.{draw(two_digits):02d}.{draw(two_digits):02d}.{draw(roots)}"


def test_provincial_committee_code_is_level_1_without_parent() -> None:
    parsed = parse_agency_code(HANOI)
    assert (parsed.qcvn, parsed.level, parsed.parent) == (True, 1, None)


def test_department_code_is_level_2_under_the_committee() -> None:
    parsed = parse_agency_code(DEPARTMENT)
    assert (parsed.level, parsed.parent) == (2, HANOI)


def test_commune_code_is_level_3_under_its_level_2_unit() -> None:
    parsed = parse_agency_code(COMMUNE)
    assert (parsed.level, parsed.parent) == (3, DEPARTMENT)


def test_level_4_code_is_under_its_level_3_unit() -> None:
    parsed = parse_agency_code(UNIT)
    assert (parsed.level, parsed.parent) == (4, COMMUNE)


def test_ancestors_run_from_level_1_down_to_the_parent() -> None:
    assert parse_agency_code(UNIT).ancestors == (HANOI, DEPARTMENT, COMMUNE)


def test_level_1_code_has_no_ancestors() -> None:
    assert parse_agency_code(HANOI).ancestors == ()


def test_root_is_the_level_1_part_and_root_kind_its_letter() -> None:
    parsed = parse_agency_code(COMMUNE)
    assert (parsed.root, parsed.root_kind) == ("H26", "H")


def test_province_or_ministry_part_is_the_level_1_part() -> None:
    assert parse_agency_code("000.00.03.G22").province_or_ministry == "G22"


def test_any_uppercase_letter_is_accepted_as_level_1_kind() -> None:
    parsed = parse_agency_code("000.00.00.X99")
    assert (parsed.qcvn, parsed.root_kind) == (True, "X")


def test_irregular_code_takes_the_level_of_its_deepest_non_zero_group() -> None:
    assert parse_agency_code("001.00.12.H26").level == 4


def test_irregular_code_parent_zeroes_only_its_deepest_non_zero_group() -> None:
    assert parse_agency_code("001.00.12.H26").parent == DEPARTMENT


def test_irregular_code_ancestors_skip_the_empty_level() -> None:
    assert parse_agency_code("001.00.12.H26").ancestors == (HANOI, DEPARTMENT)


def test_irregular_code_is_flagged() -> None:
    assert parse_agency_code("000.05.00.H26").irregular


@pytest.mark.parametrize("code", [HANOI, DEPARTMENT, COMMUNE, UNIT])
def test_regular_code_is_not_flagged_irregular(code: str) -> None:
    assert not parse_agency_code(code).irregular


@pytest.mark.parametrize("code", OPAQUE_CODES)
def test_other_forms_are_accepted_as_opaque_codes(code: str) -> None:
    parsed = parse_agency_code(code)
    assert (parsed.code, parsed.qcvn, parsed.level, parsed.parent, parsed.root) == (
        code,
        False,
        None,
        None,
        None,
    )


def test_opaque_code_has_no_ancestors() -> None:
    assert parse_agency_code("vxp.saas.03").ancestors == ()


def test_surrounding_whitespace_is_stripped() -> None:
    parsed = parse_agency_code(f" \t{DEPARTMENT}\n")
    assert (parsed.code, parsed.level) == (DEPARTMENT, 2)


@pytest.mark.parametrize("code", ["", "   ", "\t\r\n"])
def test_blank_code_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_agency_code(code)


def test_parsed_code_is_immutable() -> None:
    parsed = parse_agency_code(HANOI)
    with pytest.raises(pydantic.ValidationError):
        parsed.code = DEPARTMENT  # type: ignore[misc]


def test_parsed_code_prints_as_the_code() -> None:
    assert str(parse_agency_code(COMMUNE)) == COMMUNE


@pytest.mark.parametrize(("code", "expected"), [(UNIT, True), ("28.22.H17", False), ("", False)])
def test_is_qcvn_code_tells_the_13_character_form(code: str, expected: bool) -> None:
    assert is_qcvn_code(code) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(HANOI, 1), (DEPARTMENT, 2), (COMMUNE, 3), (UNIT, 4), ("null", None), (" ", None)],
)
def test_level_of_gives_the_level_of_qcvn_codes_only(code: str, expected: int | None) -> None:
    assert level_of(code) == expected


@pytest.mark.parametrize(
    ("parent", "number", "expected"),
    [(HANOI, 12, DEPARTMENT), (DEPARTMENT, 5, COMMUNE), (COMMUNE, 1, UNIT)],
)
def test_child_code_fills_the_group_below_the_parent(
    parent: str, number: int, expected: str
) -> None:
    assert child_code(parent, number) == expected


@pytest.mark.parametrize(
    ("parent", "number", "expected"),
    [
        (HANOI, 99, "000.00.99.H26"),
        (DEPARTMENT, 99, "000.99.12.H26"),
        (COMMUNE, 999, "999.05.12.H26"),
    ],
)
def test_child_code_accepts_the_highest_number_of_each_level(
    parent: str, number: int, expected: str
) -> None:
    assert child_code(parent, number) == expected


@pytest.mark.parametrize(
    ("parent", "number"),
    [(HANOI, 0), (HANOI, 100), (DEPARTMENT, -1), (DEPARTMENT, 100), (COMMUNE, 0), (COMMUNE, 1000)],
)
def test_child_code_refuses_numbers_out_of_range(parent: str, number: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        child_code(parent, number)


def test_child_code_refuses_a_boolean_number() -> None:
    with pytest.raises(ValueError, match="out of range"):
        child_code(HANOI, True)


@pytest.mark.parametrize("parent", [UNIT, "001.00.00.H26"])
def test_child_code_refuses_a_level_4_parent(parent: str) -> None:
    with pytest.raises(ValueError, match="level 4"):
        child_code(parent, 1)


@pytest.mark.parametrize("parent", ["28.22.H17", "null"])
def test_child_code_refuses_a_parent_outside_the_qcvn_form(parent: str) -> None:
    with pytest.raises(ValueError, match="not a QCVN"):
        child_code(parent, 1)


@given(parent=qcvn_codes(below_level_4=True), data=st.data())
def test_child_code_is_parsed_back_under_its_parent(parent: str, data: st.DataObject) -> None:
    highest = 999 if level_of(parent) == 3 else 99
    number = data.draw(st.integers(1, highest))
    assert parse_agency_code(child_code(parent, number)).parent == parent


@given(code=qcvn_codes())
def test_ancestor_levels_rise_strictly_from_level_1(code: str) -> None:
    parsed = parse_agency_code(code)
    levels = [parse_agency_code(ancestor).level or 0 for ancestor in parsed.ancestors]
    assert levels == sorted(set(levels))
    assert levels[:1] == ([] if parsed.level == 1 else [1])


@given(code=qcvn_codes())
def test_parent_is_the_last_ancestor(code: str) -> None:
    parsed = parse_agency_code(code)
    assert parsed.parent == (parsed.ancestors[-1] if parsed.ancestors else None)


@given(text=st.text().filter(str.strip))
def test_parse_never_raises_on_non_blank_text(text: str) -> None:
    assert parse_agency_code(text).code == text.strip()


@given(text=st.text().filter(str.strip))
def test_is_qcvn_code_agrees_with_parse(text: str) -> None:
    assert is_qcvn_code(text) is parse_agency_code(text).qcvn
