"""Successions: where the code of an agency that no longer exists leads at a given moment.

A code ends by a dated change (dissolved, merged, split, re-coded); the agencies that carry
it on are followed through every later change (a code re-coded then merged leads to the
merged agency) up to the agencies in force at the moment asked. One agency in force at the
end: the code has a single successor, and what is addressed to it goes there. Several, or
none: it has no single successor, and what is addressed to it is refused naming them.
Successions also say who may act for whom: a successor sends for its predecessors (it holds
their records), and a predecessor whose change carries its tokens sends for its successor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Agency, AgencyLevel, AgencySuccession, ChangeKind, DirectoryChange
from hub.directory.info import AGENCY_COLUMNS, AgencyInfo

__all__ = ["ChangeRef", "Succession", "acts_for", "follow", "lineage"]

_IN_CHUNK = 500
_MOST_STEPS = 16
"""Longest chain of successions followed (a loop cannot be recorded; this bounds the work)."""


@dataclass(frozen=True)
class ChangeRef:
    """The change that ended a code, as callers name it."""

    id: int
    key: str
    kind: ChangeKind
    act: str
    effective_at: datetime
    summary: str


@dataclass(frozen=True)
class Succession:
    """Where an ended code leads at one moment."""

    code: str
    ended_at: datetime
    change: ChangeRef | None
    successors: tuple[AgencyInfo, ...]
    """The agencies in force that carry it on, by code (none: dissolved without one)."""
    in_flight: AgencyInfo | None = None
    """Of a split: the successor that takes what was on its way."""

    @property
    def single(self) -> AgencyInfo | None:
        """The successor, when there is exactly one."""
        return self.successors[0] if len(self.successors) == 1 else None

    @property
    def codes(self) -> tuple[str, ...]:
        """The successors' codes."""
        return tuple(info.code for info in self.successors)


@dataclass(frozen=True)
class _Edge:
    successor: str
    change_id: int
    effective_at: datetime
    carries_tokens: bool
    takes_in_flight: bool


_AGENCIES = select(*AGENCY_COLUMNS).join(AgencyLevel, AgencyLevel.level == Agency.level)


def _agencies(session: Session, codes: Iterable[str]) -> dict[str, AgencyInfo]:
    wanted = list(dict.fromkeys(codes))
    found: dict[str, AgencyInfo] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        for row in session.execute(
            _AGENCIES.where(Agency.code.in_(wanted[start : start + _IN_CHUNK]))
        ):
            found[row.code] = AgencyInfo.from_row(row)
    return found


def _edges(session: Session, codes: Iterable[str], at: datetime) -> dict[str, list[_Edge]]:
    wanted = list(dict.fromkeys(codes))
    found: dict[str, list[_Edge]] = defaultdict(list)
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = session.execute(
            select(AgencySuccession)
            .where(
                AgencySuccession.predecessor_code.in_(wanted[start : start + _IN_CHUNK]),
                AgencySuccession.effective_at <= at,
            )
            .order_by(AgencySuccession.predecessor_code, AgencySuccession.successor_code)
        ).scalars()
        for row in rows:
            found[row.predecessor_code].append(
                _Edge(
                    row.successor_code,
                    row.change_id,
                    row.effective_at,
                    row.carries_tokens,
                    row.takes_in_flight,
                )
            )
    return found


def follow(
    session: Session,
    codes: Iterable[str],
    at: datetime,
    *,
    known: Mapping[str, AgencyInfo] | None = None,
) -> dict[str, Succession]:
    """Where each of ``codes`` that ended at or before ``at`` leads then (codes in force, or
    unknown, are left out). ``known``: agencies already read, by code."""
    infos: dict[str, AgencyInfo] = dict(known or {})
    infos.update(_agencies(session, [code for code in codes if code not in infos]))
    ended = [
        code
        for code in dict.fromkeys(codes)
        if code in infos and infos[code].valid_until is not None and infos[code].ended_by(at)
    ]
    if not ended:
        return {}
    edges: dict[str, list[_Edge]] = {}
    frontier = set(ended)
    for _ in range(_MOST_STEPS):
        unread = [code for code in frontier if code not in edges]
        edges.update({code: [] for code in unread})
        edges.update(_edges(session, unread, at))
        reached = {edge.successor for code in frontier for edge in edges[code]}
        infos.update(_agencies(session, [code for code in reached if code not in infos]))
        frontier = {code for code in reached if code in infos and infos[code].ended_by(at)}
        frontier -= set(edges)
        if not frontier:
            break
    changes = _changes(session, {edges[code][0].change_id for code in ended if edges.get(code)})

    def reach(start: str) -> tuple[AgencyInfo, ...]:
        found: dict[str, AgencyInfo] = {}
        seen: set[str] = set()
        queue = [start]
        while queue:
            code = queue.pop()
            if code in seen:
                continue
            seen.add(code)
            info = infos.get(code)
            if info is None:
                continue
            if code != start and info.in_force(at):
                found[code] = info
                continue
            queue.extend(edge.successor for edge in edges.get(code, ()))
        return tuple(found[code] for code in sorted(found))

    result: dict[str, Succession] = {}
    for code in ended:
        own = edges.get(code, [])
        in_flight = None
        taking = next((edge for edge in own if edge.takes_in_flight), None)
        if taking is not None:
            onward = (
                reach(taking.successor)
                if not infos[taking.successor].in_force(at)
                else (infos[taking.successor],)
            )
            in_flight = onward[0] if len(onward) == 1 else None
        ended_at = infos[code].valid_until
        assert ended_at is not None
        result[code] = Succession(
            code=code,
            ended_at=ended_at,
            change=changes.get(own[0].change_id) if own else None,
            successors=reach(code),
            in_flight=in_flight,
        )
    return result


def _changes(session: Session, ids: Iterable[int]) -> dict[int, ChangeRef]:
    wanted = sorted(ids)
    if not wanted:
        return {}
    return {
        row.id: ChangeRef(row.id, row.key, row.kind, row.act, row.effective_at, row.summary)
        for row in session.scalars(select(DirectoryChange).where(DirectoryChange.id.in_(wanted)))
    }


def acts_for(session: Session, sender: str, principal: str, at: datetime) -> bool:
    """Whether ``sender`` may send for ``principal`` through successions in effect at ``at``:
    ``principal`` is one of its predecessors, or ``sender`` is a predecessor of ``principal``
    by changes that carried its tokens."""
    backward = {sender}
    frontier = {sender}
    for _ in range(_MOST_STEPS):
        rows = session.execute(
            select(AgencySuccession.predecessor_code).where(
                AgencySuccession.successor_code.in_(sorted(frontier)),
                AgencySuccession.effective_at <= at,
            )
        ).scalars()
        frontier = set(rows) - backward
        if principal in frontier:
            return True
        backward |= frontier
        if not frontier:
            break
    forward = {sender}
    frontier = {sender}
    for _ in range(_MOST_STEPS):
        rows = session.execute(
            select(AgencySuccession.successor_code).where(
                AgencySuccession.predecessor_code.in_(sorted(frontier)),
                AgencySuccession.effective_at <= at,
                AgencySuccession.carries_tokens.is_(True),
            )
        ).scalars()
        frontier = set(rows) - forward
        if principal in frontier:
            return True
        forward |= frontier
        if not frontier:
            break
    return False


def lineage(session: Session, code: str) -> tuple[list[str], list[str]]:
    """The codes joined to ``code`` by successions: those that carry it on (its successors,
    theirs, ...) and those it carries on (its predecessors, theirs, ...), each by code."""
    found: list[list[str]] = []
    for ahead in (True, False):
        start, end = (
            (AgencySuccession.predecessor_code, AgencySuccession.successor_code)
            if ahead
            else (AgencySuccession.successor_code, AgencySuccession.predecessor_code)
        )
        seen = {code}
        frontier = {code}
        for _ in range(_MOST_STEPS):
            rows = session.execute(select(end).where(start.in_(sorted(frontier)))).scalars()
            frontier = set(rows) - seen
            if not frontier:
                break
            seen |= frontier
        found.append(sorted(seen - {code}))
    return found[0], found[1]
