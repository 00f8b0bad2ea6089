"""Where a scenario's reorganisation sends each code, and the change file a run records."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from hub.directory import parse_changes, read_change_file, sample_changes
from simulators.scenario.deployment import Deployment
from simulators.scenario.plan import Member, Roster
from simulators.scenario.reorganisation import PlannedReorganisation
from simulators.scenario.spec import Reorganisation

VAN_MIEU = "000.21.22.H26"
QUOC_TU_GIAM = "000.24.22.H26"
DONG_DA = "000.00.22.H26"
NEW_WARD = "000.01.61.H26"
SEAT_WARD = "000.02.61.H26"


def planned(tokens: dict[str, str] | None = None) -> PlannedReorganisation:
    roster = Roster(
        [
            Member(VAN_MIEU, "UBND phường Văn Miếu", 4, DONG_DA, "inbox"),
            Member(
                "000.00.01.H26",
                "Văn phòng",
                2,
                None,
                "webhook",
                {"url": "http://10.0.0.5:9001/edxml"},
            ),
        ],
        {4: "Xã, phường"},
    )
    deployment = Deployment(
        hub_url="http://hub.test", operator_token="x", directory="d.yaml", tokens=tokens or {}
    )
    return PlannedReorganisation.of(
        Reorganisation(changes="hanoi-2025", at=30), roster, deployment, scale=0.5
    )


def test_a_merged_code_lands_at_its_successor_and_an_untouched_one_stays() -> None:
    reorganisation = planned()

    assert reorganisation.at == 15
    assert reorganisation.landing(VAN_MIEU) == NEW_WARD
    assert reorganisation.landing("000.00.01.H26") == "000.00.01.H26"


def test_a_split_code_lands_at_the_successor_taking_what_was_on_its_way() -> None:
    assert planned().landing(DONG_DA) == SEAT_WARD


def test_a_split_code_is_refused_naming_every_successor() -> None:
    assert planned().refusal(DONG_DA) == (
        NEW_WARD,
        SEAT_WARD,
        "000.03.61.H26",
        "000.04.61.H26",
    )


def test_a_dissolved_code_without_successor_lands_nowhere() -> None:
    assert planned().landing("000.00.21.H26") is None


def test_the_recorded_file_dates_every_change_at_the_moment_and_marks_the_run() -> None:
    reorganisation = planned({VAN_MIEU: "token-of-van-mieu"})
    moment = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)

    text = reorganisation.document(moment, 42)

    changes = parse_changes(text, "yaml").entries()
    original = read_change_file(sample_changes("hanoi-2025")).entries()
    assert len(changes) == len(original)
    assert {change.effective for change in changes} == {moment}
    assert all(change.key.endswith(".run42") for change in changes)
    merge = next(change for change in changes if change.key.startswith("hn-2025-07-van-mieu"))
    assert merge.carry_tokens
    (ward,) = merge.agencies
    assert ward.channel is not None
    assert ward.settings is not None
    assert str(ward.settings["url"]).startswith("http://10.0.0.5:")
    assert yaml.safe_load(text)["changes"][0]["id"].startswith("hn-2025-03-")


def test_a_new_agency_answers_with_the_token_of_an_agency_it_succeeds() -> None:
    reorganisation = planned({VAN_MIEU: "token-of-van-mieu"})

    assert reorganisation.tokens == {NEW_WARD: "token-of-van-mieu"}
    assert reorganisation.members[NEW_WARD].channel == "webhook"
