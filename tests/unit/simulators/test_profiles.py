"""Behaviour profiles: what each implies, how scenario files change them, how agencies answer."""

from __future__ import annotations

from collections import Counter

import pytest

import edxml
from edxml import StatusPacket
from simulators.agencies import (
    Accepted,
    Agency,
    Behaviour,
    Received,
    document_packet,
    malformed_variant,
    revoke_packet,
)
from simulators.profiles import PROFILES, DownWindow, build_profile, final_status

SENDER = "000.00.22.H26"
WARD = "000.21.22.H26"


class Unreachable:
    """A poster the tests never reach: planning answers posts nothing."""

    def post_packet(self, data: bytes) -> Accepted:
        raise AssertionError("nothing is posted while planning")


def delivered(data: bytes) -> Received:
    return Received("inbox", "d-1", "p-1", "edoc", data, {})


def planned_codes(behaviour: Behaviour, data: bytes) -> list[tuple[float, str]]:
    with Agency(WARD, Unreachable(), behaviour) as agency:
        return [(answer.delay, answer.code) for answer in agency.plan_answers(delivered(data))]


@pytest.fixture(scope="module")
def document() -> bytes:
    return document_packet(SENDER, [WARD], number="1")[1]


def test_the_nine_profiles_of_the_issue_are_shipped() -> None:
    assert set(PROFILES) == {
        "prompt",
        "slow",
        "refuses",
        "down",
        "flaky",
        "duplicate-statuses",
        "out-of-order",
        "malformed-replies",
        "never-acks",
    }


@pytest.mark.parametrize(
    ("name", "channel", "delivery", "status"),
    [
        ("prompt", "webhook", "delivered", "06"),
        ("slow", "inbox", "delivered", "06"),
        ("refuses", "inbox", "delivered", "02"),
        ("down", "webhook", "delivered", "06"),
        ("out-of-order", "axis", "delivered", "06"),
        ("never-acks", "inbox", "available", None),
        ("never-acks", "webhook", "delivered", None),
    ],
)
def test_each_profile_says_where_its_copies_end(
    name: str, channel: str, delivery: str, status: str | None
) -> None:
    profile = PROFILES[name]

    assert profile.expected_delivery(channel) == delivery
    assert profile.expected_status(channel) == status


def test_a_system_down_for_good_parks_its_copies_except_through_the_axis() -> None:
    gone = build_profile("gone", {"base": "down", "down": [{"at": 5}]})

    assert gone.down == (DownWindow(5.0, None),)
    assert gone.expected_delivery("webhook") == "parked"
    assert gone.expected_status("webhook") is None
    assert gone.expected_delivery("axis") == "delivered"


def test_the_final_status_is_the_furthest_step_or_a_refusal() -> None:
    assert final_status(("03", "01", "05", "04", "06")) == "06"
    assert final_status(("01", "02")) == "02"
    assert final_status(()) is None


def test_change_answers_follow_the_codes() -> None:
    refusing = build_profile("r", {"revoke": ["02"], "update": ["16"], "take_back": ["16"]})

    assert [refusing.expected_change(k) for k in ("revoke", "update", "take-back")] == [
        "refused",
        "refused",
        "refused",
    ]
    assert PROFILES["prompt"].expected_change("revoke") == "agreed"
    assert PROFILES["never-acks"].expected_change("update") is None


def test_scaling_shortens_answers_replies_and_down_windows_but_not_polling() -> None:
    slow = PROFILES["slow"].scaled(0.1)
    down = PROFILES["down"].scaled(0.5)

    assert slow.behaviour.timing == pytest.approx((0.5, 2.0, 3.0, 4.0, 5.0))
    assert slow.webhook.reply_delay == pytest.approx(0.2)
    assert slow.poll_interval == PROFILES["slow"].poll_interval
    assert slow.webhook.hang_seconds == PROFILES["slow"].webhook.hang_seconds
    assert down.down == (DownWindow(5.0, 15.0),)


def test_prompt_answers_01_at_once_then_03_04_05_06(document: bytes) -> None:
    assert planned_codes(PROFILES["prompt"].behaviour, document) == [
        (0.0, "01"),
        (2.0, "03"),
        (4.0, "04"),
        (6.0, "05"),
        (8.0, "06"),
    ]


def test_out_of_order_swaps_consecutive_statuses_in_the_same_slots(document: bytes) -> None:
    assert planned_codes(PROFILES["out-of-order"].behaviour, document) == [
        (0.0, "03"),
        (2.0, "01"),
        (4.0, "05"),
        (6.0, "04"),
        (8.0, "06"),
    ]


def test_duplicate_statuses_posts_each_three_times_twice_with_the_same_bytes(
    document: bytes,
) -> None:
    with Agency(WARD, Unreachable(), PROFILES["duplicate-statuses"].behaviour) as agency:
        planned = agency.plan_answers(delivered(document))

    assert Counter(answer.code for answer in planned) == dict.fromkeys(
        ("01", "03", "04", "05", "06"), 3
    )
    first, again, restamped = planned[:3]
    assert first.data == again.data != restamped.data
    assert edxml.parse(restamped.data).header.status_code == "01"  # type: ignore[union-attr]


def test_malformed_replies_precede_good_ones_with_packets_no_hub_accepts(document: bytes) -> None:
    behaviour = Behaviour(new=("01", "03"), malformed=1.0)
    with Agency(WARD, Unreachable(), behaviour) as agency:
        planned = agency.plan_answers(delivered(document))

    assert [(a.code, a.malformed) for a in planned] == [
        ("malformed", True),
        ("01", False),
        ("malformed", True),
        ("03", False),
    ]
    for answer in (a for a in planned if a.malformed):
        assert edxml.check(answer.data)[1], "the hub would accept it"


def test_every_malformed_variant_is_invalid(document: bytes) -> None:
    status = edxml.build(edxml.status_for(edxml.parse(document), "03", reporter=WARD))  # type: ignore[arg-type]

    codes = [edxml.check(malformed_variant(status, kind))[1][0].code for kind in range(3)]

    assert codes == ["xml.malformed", "packet.missing-element", "xml.malformed"]


def test_a_revoke_is_answered_after_the_change_delay_with_its_own_code(document: bytes) -> None:
    packet = edxml.parse(document)
    assert not isinstance(packet, StatusPacket)
    _, revoke = revoke_packet(packet)

    assert planned_codes(PROFILES["slow"].behaviour, revoke) == [(10.0, "03")]
    assert planned_codes(PROFILES["never-acks"].behaviour, revoke) == []


def test_a_flaky_webhook_fails_and_hangs_about_as_often_as_it_says() -> None:
    flaky = build_profile("f", {"base": "flaky", "fail_share": 0.3, "timeout_share": 0.2})
    decide = flaky.webhook.policy(seed=1, down=lambda: False)

    replies = [decide() for _ in range(2000)]

    failed = sum(reply.status == 503 for reply in replies) / len(replies)
    hung = sum(reply.delay == flaky.webhook.hang_seconds for reply in replies) / len(replies)
    assert 0.25 < failed < 0.35
    assert 0.15 < hung < 0.25
    assert all(reply.stores for reply in replies if reply.status != 503)


def test_a_webhook_down_in_error_mode_answers_503() -> None:
    down = build_profile("d", {"base": "down", "down_mode": "error"})
    decide = down.webhook.policy(seed=1, down=lambda: True)

    assert {decide().status for _ in range(20)} == {503}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"base": "nope"}, "no shipped profile 'nope'"),
        ({"fail_share": 0.8, "timeout_share": 0.5}, "must not exceed 1"),
        ({"lose_acks": 2}, "less than or equal to 1"),
    ],
)
def test_a_bad_profile_spec_says_what_is_wrong(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_profile("bad", spec)
