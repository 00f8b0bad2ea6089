"""Reconciling the axis's sent list with the hub's deliveries (pure comparison)."""

from __future__ import annotations

import datetime as dt

from hub.axis.models import SentItem
from hub.axis.reconcile import AXIS_TZ, HandedOver, compare, window_start

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
SINCE = NOW - dt.timedelta(days=7)
G22, H41 = "000.00.00.G22", "000.00.00.H41"


def _listed(
    doc_id: str, code: str | None, status: str = "done", sent: str = "2026/12/06 08:00:00"
) -> SentItem:
    return SentItem(sender_doc_id=doc_id, to_code=code, receive_status=status, sent_time=sent)


def _handed(doc_id: str, code: str, delivery_id: str = "D", days_ago: float = 1.0) -> HandedOver:
    return HandedOver(delivery_id, code, doc_id, NOW - dt.timedelta(days=days_ago))


def test_a_listed_receiver_of_a_delivery_is_matched_and_counted_by_its_state() -> None:
    outcome = compare(
        [_listed("A1", G22, "done"), _listed("A1", H41, "pending")],
        [_handed("A1", G22, "D1"), _handed("A1", H41, "D2")],
        SINCE,
    )

    assert (outcome.listed, outcome.matched, outcome.unknown, outcome.missing) == (2, 2, (), ())
    assert outcome.receive_states == {"done": 1, "pending": 1}


def test_a_packet_the_axis_took_twice_shows_as_unknown() -> None:
    outcome = compare([_listed("A1", G22), _listed("A2", G22)], [_handed("A1", G22)], SINCE)

    assert outcome.unknown == (("A2", G22),)
    assert outcome.matched == 1


def test_a_delivery_the_axis_does_not_list_shows_as_missing() -> None:
    handed = _handed("A9", H41, "D9")

    outcome = compare([_listed("A1", G22)], [_handed("A1", G22), handed], SINCE)

    assert outcome.missing == (handed,)


def test_a_delivery_before_the_window_is_not_missing() -> None:
    outcome = compare([], [_handed("A9", H41, days_ago=9)], SINCE)

    assert outcome.missing == ()


def test_an_item_without_a_receiving_code_matches_on_its_doc_id() -> None:
    outcome = compare([_listed("A1", None)], [_handed("A1", G22), _handed("A1", H41)], SINCE)

    assert (outcome.matched, outcome.unknown, outcome.missing) == (1, (), ())


def test_the_same_receiver_listed_twice_counts_once() -> None:
    outcome = compare([_listed("A1", G22), _listed("A1", G22)], [_handed("A1", G22)], SINCE)

    assert (outcome.listed, outcome.matched) == (1, 1)


def test_the_window_starts_at_the_oldest_time_the_axis_lists_when_that_is_later() -> None:
    listed = [
        _listed("A1", G22, sent="2026/12/05 08:00:00"),
        _listed("A2", G22, sent="2026/12/06 09:00:00"),
    ]

    assert window_start(listed, NOW, 7) == dt.datetime(2026, 12, 5, 8, 0, tzinfo=AXIS_TZ)


def test_the_window_is_the_days_asked_when_the_axis_lists_older_or_unreadable_times() -> None:
    assert window_start([_listed("A1", G22, sent="2026/01/01 00:00:00")], NOW, 7) == SINCE
    assert window_start([_listed("A1", G22, sent="yesterday")], NOW, 7) == SINCE
    assert window_start([], NOW, 7) == SINCE
