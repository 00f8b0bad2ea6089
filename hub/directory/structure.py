"""The directory as it stood at any moment, and the spans of a day with one structure each.

:func:`structure_at` reads the versions in force at a moment: the levels, and each agency in
force with its name, level and parent then. :func:`day_periods` cuts a day of the city's
clock at the moments changes took effect, so that figures of each part are shown by the
structure of that part. :meth:`Structure.place` says under which agency of the structure a
code recorded at another time counts: itself when in force, else the agency its successions
lead to (forward: the single successor in force; backward: the single predecessor in force),
else none.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from edxml.compose import LOCAL_TZ
from hub.db.models import (
    Agency,
    AgencyLevel,
    AgencyLevelVersion,
    AgencySuccession,
    AgencyVersion,
    DirectoryChange,
)
from hub.directory.history import in_force

__all__ = [
    "Period",
    "Structure",
    "StructureAgency",
    "SuccessionEdge",
    "day_periods",
    "local_day",
    "structure_at",
]


@dataclass(frozen=True)
class StructureAgency:
    """An agency as it stood at the structure's moment."""

    code: str
    name: str
    level: int
    parent: str | None
    channel: str
    active: bool


@dataclass(frozen=True)
class SuccessionEdge:
    """``successor`` carries ``predecessor`` on from ``effective_at``."""

    predecessor: str
    successor: str
    effective_at: datetime


@dataclass(frozen=True)
class Structure:
    """The directory at ``at``: the levels in force and every agency in force."""

    at: datetime
    levels: Mapping[int, str]
    agencies: Mapping[str, StructureAgency]
    edges: Sequence[SuccessionEdge] = field(default=(), repr=False)
    _forward: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _backward: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for edge in self.edges:
            if edge.effective_at <= self.at:
                self._forward.setdefault(edge.predecessor, []).append(edge.successor)
            else:
                self._backward.setdefault(edge.successor, []).append(edge.predecessor)

    def children(self) -> dict[str, int]:
        """How many agencies of the structure each agency has directly under it."""
        counts: dict[str, int] = defaultdict(int)
        for agency in self.agencies.values():
            if agency.parent is not None:
                counts[agency.parent] += 1
        return dict(counts)

    def place(self, code: str) -> str | None:
        """The agency of this structure a figure recorded under ``code`` counts for."""
        if code in self.agencies:
            return code
        for links in (self._forward, self._backward):
            found = _single(code, links, self.agencies)
            if found is not None:
                return found
        return None


def _single(
    code: str, links: Mapping[str, list[str]], agencies: Mapping[str, object]
) -> str | None:
    reached: set[str] = set()
    seen = {code}
    queue = [code]
    while queue:
        current = queue.pop()
        for onward in links.get(current, ()):
            if onward in seen:
                continue
            seen.add(onward)
            if onward in agencies:
                reached.add(onward)
            else:
                queue.append(onward)
    return next(iter(reached)) if len(reached) == 1 else None


def structure_at(session: Session, at: datetime) -> Structure:
    """The directory in force at ``at``."""
    level_versions = list(
        session.scalars(select(AgencyLevelVersion).order_by(AgencyLevelVersion.id))
    )
    levels = {
        row.level: row.name
        for row in level_versions
        if in_force(row.valid_from, row.valid_until, at)
    }
    versioned_levels = {row.level for row in level_versions}
    for level in session.scalars(select(AgencyLevel)):
        if level.level not in versioned_levels:
            levels[level.level] = level.name
    agencies: dict[str, StructureAgency] = {}
    rows = session.execute(
        select(AgencyVersion, Agency.channel, Agency.active, Agency.valid_from, Agency.valid_until)
        .join(Agency, Agency.code == AgencyVersion.code)
        .order_by(AgencyVersion.code, AgencyVersion.id)
    ).all()
    versioned = {version.code for version, *_ in rows}
    for version, channel, active, valid_from, valid_until in rows:
        if not in_force(valid_from, valid_until, at):
            continue
        if not in_force(version.valid_from, version.valid_until, at):
            continue
        agencies[version.code] = StructureAgency(
            code=version.code,
            name=version.name,
            level=version.level,
            parent=version.parent_code,
            channel=channel.value,
            active=active,
        )
    # Agencies written without a version (by the axis sync) count as they stand.
    for agency in session.scalars(select(Agency)):
        if agency.code not in versioned and in_force(agency.valid_from, agency.valid_until, at):
            agencies[agency.code] = StructureAgency(
                code=agency.code,
                name=agency.name,
                level=agency.level,
                parent=agency.parent_code,
                channel=agency.channel.value,
                active=agency.active,
            )
    edges = [
        SuccessionEdge(row.predecessor_code, row.successor_code, row.effective_at)
        for row in session.scalars(select(AgencySuccession))
    ]
    return Structure(at=at, levels=levels, agencies=agencies, edges=edges)


@dataclass(frozen=True)
class Period:
    """A part of a day during which the directory did not change."""

    start: datetime
    end: datetime
    """Excluded."""
    changes: tuple[str, ...] = ()
    """Summaries of the changes that took effect at ``start``."""


def local_day(moment: datetime) -> date:
    """The day of ``moment`` on the city's clock."""
    return moment.astimezone(LOCAL_TZ).date()


def day_periods(session: Session, day: date) -> list[Period]:
    """``day`` (the city's clock) cut at the moments changes took effect within it."""
    start = datetime.combine(day, time(0), LOCAL_TZ)
    end = start + timedelta(days=1)
    moments: dict[datetime, list[str]] = defaultdict(list)
    for row in session.scalars(
        select(DirectoryChange)
        .where(DirectoryChange.effective_at >= start, DirectoryChange.effective_at < end)
        .order_by(DirectoryChange.effective_at, DirectoryChange.id)
    ):
        moments[row.effective_at].append(row.summary)
    bounds = [start, *sorted(moment for moment in moments if moment > start), end]
    return [
        Period(first, last, tuple(moments.get(first, ())))
        for first, last in itertools.pairwise(bounds)
    ]
