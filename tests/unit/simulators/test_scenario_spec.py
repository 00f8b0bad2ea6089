"""Scenario files: the shipped ones load, and every mistake is reported with its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulators.scenario.spec import (
    MIN_SETTLE,
    ScenarioError,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
)

SHIPPED = ("axis-outage", "city-day", "flaky-commune", "reform-day", "revoke-update-replace")


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "tiny",
        "duration": 60,
        "flows": [{"name": "down", "from": {"level": 2}, "to": {"level": 3}, "count": 4}],
    }
    data.update(changes)
    return data


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="tiny.yaml")
    return str(caught.value)


def test_the_shipped_scenarios_are_found_by_name_and_load() -> None:
    assert set(SHIPPED) <= set(shipped_scenarios())
    for name in SHIPPED:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.flows


def test_a_scenario_file_path_loads_like_a_shipped_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nduration: 5\nflows:\n- {name: a, from: {level: 2}, "
        "to: {level: 3}, count: 1}\n",
        encoding="utf-8",
    )

    assert load_scenario(path).name == "mine"


def test_an_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match=r"shipped: .*city-day"):
        load_scenario("no-such-scenario")


def test_a_file_that_is_not_yaml_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")

    with pytest.raises(ScenarioError, match=r"broken\.yaml is not YAML"):
        load_scenario(path)


def test_selectors_take_one_value_or_a_list() -> None:
    scenario = parse_scenario(
        minimal(flows=[{"name": "a", "from": {"level": 2}, "to": {"level": [3, 4]}, "count": 1}])
    )

    assert scenario.flows[0].from_.level == (2,)
    assert scenario.flows[0].to.level == (3, 4)
    assert scenario.flows[0].recipients == (1, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": 0}, "duration: Input should be greater than 0"),
        (
            {"flows": [{"name": "a", "from": {"level": 2}, "to": {"level": 3}, "count": 0}]},
            "flows[0].count: Input should be greater than or equal to 1",
        ),
        (
            {"flows": [{"name": "a", "from": {"level": 2}, "to": {"levle": 3}, "count": 1}]},
            "flows[0].to.levle: Extra inputs are not permitted",
        ),
        (
            {
                "flows": [
                    {
                        "name": "a",
                        "from": {"level": 2},
                        "to": {"level": 3},
                        "count": 1,
                        "window": [0, 90],
                    }
                ]
            },
            "flows[0].window: ends at 90 s, after the duration (60 s)",
        ),
        (
            {
                "flows": [
                    {
                        "name": "a",
                        "from": {"level": 2},
                        "to": {"level": 3},
                        "count": 1,
                        "recipients": [3, 1],
                    }
                ]
            },
            "flows[0]: recipients: give a number ≥ 1, or [least, most]",
        ),
        (
            {"changes": [{"kind": "revoke", "of": "nowhere", "at": 10}]},
            "changes[0].of: no flow 'nowhere'; flows: down",
        ),
        (
            {"changes": [{"kind": "withdraw", "of": "down", "at": 10}]},
            "changes[0].kind: Input should be 'revoke', 'update', 'replace' or 'take-back'",
        ),
        ({"cast": {"default": "sleepy"}}, "cast.default: no profile 'sleepy'; known: down,"),
        (
            {"cast": {"rules": [{"agencies": {"level": 4}, "profile": "sleepy"}]}},
            "cast.rules[0].profile: no profile 'sleepy'",
        ),
        (
            {"profiles": {"odd": {"base": "prompt", "new": ["01", "07"]}}},
            "profiles.odd: new: '07' is not a status code",
        ),
        (
            {"profiles": {"odd": {"base": "lazy"}}},
            "profiles.odd: base: no shipped profile 'lazy'",
        ),
        (
            {"faults": [{"at": 5, "axis": {"fail_rate": 2}}]},
            "faults[0].axis.fail_rate: Input should be less than or equal to 1",
        ),
        ({"faults": [{"at": 99, "axis": {}}]}, "faults[0].at: 99 s is after the duration"),
        ({"expect": {"parked": {"max": -1}}}, "expect.parked.max: Input should be greater"),
    ],
)
def test_each_mistake_names_its_field(change: dict[str, Any], message: str) -> None:
    assert message in error_of(minimal(**change))


def test_a_missing_field_is_named() -> None:
    data = minimal()
    del data["duration"]

    assert error_of(data) == "tiny.yaml: duration: Field required"


def test_a_flow_name_used_twice_is_refused() -> None:
    flow = {"name": "a", "from": {"level": 2}, "to": {"level": 3}, "count": 1}

    assert "flows[1].name: 'a' is used twice" in error_of(minimal(flows=[flow, flow]))


def test_scaling_keeps_at_least_one_of_everything_and_a_least_settle_time() -> None:
    scenario = parse_scenario(minimal(expect={"settle_within": 60}))

    assert scenario.scaled_count(4, 0.1) == 1
    assert scenario.scaled_count(10, 0.25) == 3
    assert scenario.settle_seconds(0.1) == MIN_SETTLE
    assert scenario.settle_seconds(1.0) == 60


def test_a_scenario_profile_is_its_base_with_the_fields_it_changes() -> None:
    scenario = parse_scenario(
        minimal(profiles={"late": {"base": "slow", "timing": [10, 20], "lose_acks": 0.5}})
    )

    late = scenario.profile("late", scale=0.5)

    assert late.name == "late"
    assert late.behaviour.timing == (5.0, 10.0)
    assert late.lose_acks == 0.5
    assert late.webhook.reply_delay == 1.0


def test_a_flow_that_lands_elsewhere_than_addressed_needs_a_reorganisation() -> None:
    flow = {"name": "down", "from": {"level": 2}, "to": {"level": 3}, "count": 1}

    message = error_of(minimal(flows=[{**flow, "lands": "successor"}]))

    assert "flows[0].lands: 'successor' needs a 'reorganisation'" in message


def test_a_reorganisation_after_the_end_is_refused() -> None:
    message = error_of(minimal(reorganisation={"changes": "hanoi-2025", "at": 61}))

    assert "reorganisation.at: 61 s is after the duration (60 s)" in message


def test_reform_day_says_where_each_flow_lands() -> None:
    scenario = load_scenario("reform-day")

    assert scenario.reorganisation is not None
    assert scenario.reorganisation.changes == "hanoi-2025"
    assert {flow.lands for flow in scenario.flows} == {"addressed", "successor", "refused"}
