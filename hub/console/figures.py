"""Pure figures of the console: time windows, percentiles, shares and targets, per level.

Nothing here reads the database: :mod:`hub.console.queries` counts rows with SQL and hands
the counts to these functions, which unit tests check on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Literal

__all__ = [
    "DURATION_BUCKETS",
    "LOCAL_TZ",
    "METRICS",
    "WINDOWS",
    "AgencyFigures",
    "AgencyRow",
    "LevelRow",
    "TargetCheck",
    "Window",
    "bucket_index",
    "check_target",
    "level_rows",
    "local_midnight",
    "percentile",
    "share",
    "window_start",
]

LOCAL_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The city's clock (no daylight saving): "today" starts at its midnight."""

Window = Literal["today", "7d", "30d"]
WINDOWS: tuple[Window, ...] = ("today", "7d", "30d")

Metric = Literal["acknowledged", "accepted", "completed", "signed", "delivered"]
METRICS: tuple[Metric, ...] = ("acknowledged", "accepted", "completed", "signed", "delivered")
"""The shares a target may be set for (``LIENTHONG_CONSOLE_TARGETS``)."""

DURATION_BUCKETS: tuple[float, ...] = (1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
"""Upper bounds, in seconds, of the delivery-time histogram (one more bucket above)."""


def local_midnight(now: datetime) -> datetime:
    """The start of the city's current day, as an aware datetime."""
    local = now.astimezone(LOCAL_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def window_start(window: Window, now: datetime) -> datetime:
    """Where a window starts: today at the city's midnight, else 7 or 30 days back."""
    if window == "today":
        return local_midnight(now)
    return now - timedelta(days=7 if window == "7d" else 30)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted ``values``, interpolated like PostgreSQL's
    ``percentile_cont``; None when there are none."""
    if not values:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    position = fraction * (len(values) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(values[low])
    return values[low] + (values[high] - values[low]) * (position - low)


def bucket_index(seconds: float) -> int:
    """The histogram bucket of a duration (see :data:`DURATION_BUCKETS`)."""
    for index, bound in enumerate(DURATION_BUCKETS):
        if seconds < bound:
            return index
    return len(DURATION_BUCKETS)


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent; None when there is nothing to measure."""
    if whole <= 0:
        return None
    return 100.0 * part / whole


@dataclass(frozen=True)
class TargetCheck:
    """A share set against its target."""

    value: float | None
    target: float | None

    @property
    def met(self) -> bool | None:
        """True or False against a target; None without a value or a target."""
        if self.value is None or self.target is None:
            return None
        return self.value + 1e-9 >= self.target


def check_target(
    targets: Mapping[str, Mapping[int, float]], metric: str, level: int, value: float | None
) -> TargetCheck:
    """``value`` with the target configured for ``metric`` at ``level``, if any."""
    return TargetCheck(value, targets.get(metric, {}).get(level))


@dataclass
class AgencyFigures:
    """What one agency did in a window (counts only; shares are derived)."""

    documents_sent: int = 0
    """New documents (business type 0 or 3) it sent."""
    statuses_sent: int = 0
    signed: int = 0
    tampered: int = 0
    unverifiable: int = 0
    unsigned: int = 0
    no_pdf: int = 0
    received: int = 0
    """Documents addressed to it (one per document and recipient)."""
    acknowledged: int = 0
    """Of those, how many it answered at all (01 or later, or 02)."""
    accepted: int = 0
    """Answered 03 or later."""
    completed: int = 0
    """Answered 06."""
    refused: int = 0
    deliveries: int = 0
    """Deliveries to it (documents and statuses)."""
    delivered: int = 0
    failed: int = 0
    """Parked, expired or refused."""
    in_flight: int = 0
    seconds_to_01: float | None = None
    seconds_to_03: float | None = None

    def add(self, other: AgencyFigures) -> None:
        """Add another agency's counts to these (medians are not added)."""
        for item in fields(self):
            if item.name.startswith("seconds_"):
                continue
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @property
    def active(self) -> bool:
        """Whether its system sent anything in the window (a document or a status)."""
        return self.documents_sent + self.statuses_sent > 0

    def shares(self) -> dict[str, float | None]:
        """Each metric of :data:`METRICS` as a percentage."""
        return {
            "acknowledged": share(self.acknowledged, self.received),
            "accepted": share(self.accepted, self.received),
            "completed": share(self.completed, self.received),
            "signed": share(self.signed, self.documents_sent),
            "delivered": share(self.delivered, self.delivered + self.failed),
        }


@dataclass(frozen=True)
class AgencyRow:
    """One agency of the directory with its figures."""

    code: str
    name: str
    level: int
    parent_code: str | None
    channel: str
    active: bool
    children: int
    figures: AgencyFigures


@dataclass
class LevelRow:
    """The figures of one administrative level."""

    level: int
    name: str
    connected: int = 0
    """Agencies of the level switched on in the directory."""
    active: int = 0
    """Of those, agencies whose systems sent something in the window."""
    figures: AgencyFigures = field(default_factory=AgencyFigures)

    def checks(self, targets: Mapping[str, Mapping[int, float]]) -> dict[str, TargetCheck]:
        """Every share of the level with its target."""
        return {
            metric: check_target(targets, metric, self.level, value)
            for metric, value in self.figures.shares().items()
        }


def level_rows(rows: Iterable[AgencyRow], level_names: Mapping[int, str]) -> list[LevelRow]:
    """Sum agencies' figures per level (every declared level appears, even empty)."""
    levels = {level: LevelRow(level, name) for level, name in sorted(level_names.items())}
    for row in rows:
        level = levels.setdefault(row.level, LevelRow(row.level, str(row.level)))
        if row.active:
            level.connected += 1
            if row.figures.active:
                level.active += 1
        level.figures.add(row.figures)
    return [levels[key] for key in sorted(levels)]
