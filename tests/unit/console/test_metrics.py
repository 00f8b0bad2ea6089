"""Pure figures: windows, percentiles, shares, targets and the per-level sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.console.figures import (
    DURATION_BUCKETS,
    AgencyFigures,
    AgencyRow,
    bucket_index,
    check_target,
    level_rows,
    percentile,
    share,
    window_start,
)


def test_percentiles_interpolate_like_postgresql() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0.5) == 2.5
    assert percentile(values, 0.95) == pytest.approx(3.85)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 4.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile(values, 1.5)


def test_duration_buckets() -> None:
    assert bucket_index(0.2) == 0
    assert bucket_index(1.0) == 1
    assert bucket_index(59) == 3
    assert bucket_index(10 * 86400) == len(DURATION_BUCKETS)


def test_shares_and_targets() -> None:
    assert share(1, 4) == 25.0
    assert share(0, 0) is None
    targets = {"completed": {3: 80.0}}
    assert check_target(targets, "completed", 3, 79.9).met is False
    assert check_target(targets, "completed", 3, 80.0).met is True
    assert check_target(targets, "completed", 4, 10.0).met is None
    assert check_target(targets, "signed", 3, None).met is None


def test_today_starts_at_midnight_in_hanoi() -> None:
    now = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)  # 01:30 on the 21st in Hà Nội
    assert window_start("today", now) == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert window_start("7d", now) == now - timedelta(days=7)
    assert window_start("30d", now) == now - timedelta(days=30)


def test_agency_shares() -> None:
    figures = AgencyFigures(
        documents_sent=4, signed=1, received=10, acknowledged=8, accepted=5, completed=2,
        delivered=9, failed=1,
    )  # fmt: skip
    assert figures.shares() == {
        "acknowledged": 80.0,
        "accepted": 50.0,
        "completed": 20.0,
        "signed": 25.0,
        "delivered": 90.0,
    }
    assert figures.active
    assert not AgencyFigures(received=3).active


def _row(code: str, level: int, active: bool = True, **counts: int) -> AgencyRow:
    return AgencyRow(code, code, level, None, "inbox", active, 0, AgencyFigures(**counts))


def test_levels_sum_their_agencies_and_count_the_connected_and_active() -> None:
    rows = [
        _row("a", 3, documents_sent=2, signed=1),
        _row("b", 3, received=4, completed=4),
        _row("c", 3, active=False, documents_sent=1),
        _row("d", 4),
    ]

    levels = level_rows(rows, {1: "Trung ương", 3: "Quận", 4: "Phường"})

    assert [level.level for level in levels] == [1, 3, 4]
    district = levels[1]
    assert (district.connected, district.active) == (2, 1)
    assert district.figures.documents_sent == 3
    assert district.figures.shares()["signed"] == pytest.approx(100 / 3)
    assert district.checks({"completed": {3: 80.0}})["completed"].met is True
    assert levels[0].connected == 0
