"""Where agencies from the axis sit among the directory's levels, and whose codes are local."""

from __future__ import annotations

import pytest

from hub.axis.sync import LevelRule, own_root


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("000.00.00.G22", 1),
        ("000.00.05.G22", 2),
        ("000.00.00.H17", 2),
        ("000.00.12.H17", 3),
        ("000.03.12.H17", 4),
        ("000.00.00.K17", 2),
        ("vxp.saas.03", 1),
        ("28.22.H17", 1),
    ],
)
def test_the_default_rule_counts_from_central_for_ministries_and_provincial_otherwise(
    code: str, level: int
) -> None:
    assert LevelRule().level_of(code) == level


def test_the_rule_takes_other_starting_levels() -> None:
    rule = LevelRule(central=2, provincial=3, default=5)

    assert [rule.level_of(code) for code in ("000.00.00.G01", "000.00.00.H17", "vxp.x")] == [
        2,
        3,
        5,
    ]


def test_the_citys_own_province_is_the_root_of_its_agency_code() -> None:
    assert own_root("000.00.00.H26") == "H26"
    assert own_root("vxp.saas.03") is None
    assert own_root("") is None
