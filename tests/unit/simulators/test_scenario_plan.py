"""Plans: reproducible, within the directory's shape, and scaled as asked."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.scenario.deployment import read_directory
from simulators.scenario.plan import ChangeAction, FaultAction, Roster, make_plan
from simulators.scenario.spec import ScenarioError, load_scenario, parse_scenario


@pytest.fixture(scope="module")
def hanoi() -> Roster:
    return Roster.from_directory(read_directory("hanoi"))


def scenario(**changes: Any) -> Any:
    data: dict[str, Any] = {
        "name": "plan",
        "duration": 100,
        "seed": 9,
        "flows": [
            {
                "name": "wards-up",
                "from": {"level": 4},
                "to": {"above_sender": True},
                "count": 10,
            },
            {
                "name": "district-down",
                "from": {"codes": ["000.00.22.H26"]},
                "to": {"below_sender": True, "level": 4},
                "recipients": [2, 4],
                "count": 10,
                "window": [0, 50],
            },
        ],
    }
    data.update(changes)
    return parse_scenario(data)


def test_the_same_scenario_and_seed_give_the_same_plan(hanoi: Roster) -> None:
    city_day = load_scenario("city-day")

    assert make_plan(city_day, hanoi) == make_plan(city_day, hanoi)


def test_another_seed_gives_another_plan(hanoi: Roster) -> None:
    assert make_plan(scenario(), hanoi) != make_plan(scenario(seed=10), hanoi)


def test_recipients_follow_the_selectors_relative_to_the_sender(hanoi: Roster) -> None:
    plan = make_plan(scenario(), hanoi)

    for send in plan.sends:
        sender = hanoi.members[send.sender]
        assert send.sender not in send.recipients
        if send.flow == "wards-up":
            assert sender.level == 4
            assert send.recipients == (sender.parent,)
        else:
            assert 2 <= len(send.recipients) <= 4
            assert all(hanoi.members[code].parent == send.sender for code in send.recipients)
            assert 0 <= send.at <= 50


def test_scale_shrinks_the_times_and_the_counts(hanoi: Roster) -> None:
    plan = make_plan(scenario(), hanoi, scale=0.2)

    assert plan.duration == pytest.approx(20)
    assert len(plan.sends) == 4
    assert all(send.at <= 20 for send in plan.sends)


def test_changes_pick_documents_old_enough_and_each_only_once(hanoi: Roster) -> None:
    changes = [
        {"kind": "revoke", "of": "district-down", "count": 3, "at": 60, "after": 10},
        {"kind": "take-back", "of": "district-down", "count": 3, "at": 70, "after": 10},
    ]
    plan = make_plan(scenario(changes=changes), hanoi)

    sent = {send.key: send for send in plan.sends}
    picked = [action for action in plan.actions if isinstance(action, ChangeAction)]
    assert len(picked) == 6
    assert len({action.target for action in picked}) == 6
    for action in picked:
        assert sent[action.target].at <= action.at - 10
        if action.kind == "take-back":
            assert action.recipient in sent[action.target].recipients


def test_a_change_without_enough_documents_says_how_many_there_are(hanoi: Roster) -> None:
    changes = [{"kind": "update", "of": "district-down", "count": 8, "at": 20, "after": 10}]

    with pytest.raises(ScenarioError, match=r"changes\[0\]: flow 'district-down' sends \d"):
        make_plan(scenario(changes=changes), hanoi)


def test_a_selector_that_picks_nobody_is_named(hanoi: Roster) -> None:
    flows = [{"name": "x", "from": {"level": 9}, "to": {"level": 3}, "count": 1}]

    with pytest.raises(ScenarioError, match=r"flows\[0\]\.from: .*level: \(9,\)"):
        make_plan(scenario(flows=flows), hanoi)


def test_only_available_members_send_and_receive(hanoi: Roster) -> None:
    missing = {"000.21.22.H26", "000.00.12.H26"}
    plan = make_plan(
        load_scenario("city-day"), hanoi, available=lambda member: member.code not in missing
    )

    assert plan.participants()
    assert not plan.participants() & missing


def test_a_fault_with_a_duration_is_cleared_afterwards(hanoi: Roster) -> None:
    faults = [{"at": 10, "for": 20, "axis": {"fail_rate": 0.5, "down_for_seconds": 8}}]
    plan = make_plan(scenario(faults=faults), hanoi, scale=0.5)

    set_, cleared = (a for a in plan.actions if isinstance(a, FaultAction))
    assert (set_.at, set_.faults.fail_rate, set_.faults.down_for_seconds) == (5, 0.5, 4)
    assert (cleared.at, cleared.faults.fail_rate) == (15, 0)
