"""The directory's history as plain values, and the planning of dated changes against it.

Pure: :func:`plan_changes` takes a parsed change file and what the database holds
(:class:`KnownHistory`) and returns every problem found, or the operations each change
performs, in date order. Rules: an agency changed by a change exists when it takes effect,
and its changes are recorded in date order (a change never lands before a later one already
recorded for the same agency); a code is never reused; once every change of a moment is
applied, every agency in force has its parent in force and sits on a level in force. The
children of an agency that ends with a single successor move under that successor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from edxml.compose import LOCAL_TZ
from hub.channels import Channel
from hub.db.models import ChangeKind
from hub.directory.changes import ChangeEntry, ChangeFile, LocatedChange
from hub.directory.formats import LevelEntry
from hub.errors import DirectoryIssue

__all__ = [
    "AgencyHistory",
    "CreateAgency",
    "EndAgency",
    "KnownHistory",
    "LevelSpan",
    "Operation",
    "Plan",
    "PlannedChange",
    "ReviseAgency",
    "SetLevels",
    "VersionSpan",
    "in_force",
    "plan_changes",
]


def in_force(valid_from: datetime | None, valid_until: datetime | None, moment: datetime) -> bool:
    """Whether a span holds ``moment`` (``valid_until`` excluded; None: open)."""
    return (valid_from is None or valid_from <= moment) and (
        valid_until is None or moment < valid_until
    )


@dataclass(frozen=True)
class VersionSpan:
    """An agency's name, level and parent over a span of time."""

    valid_from: datetime | None
    valid_until: datetime | None
    name: str
    level: int
    parent: str | None


@dataclass(frozen=True)
class LevelSpan:
    """A level's name over a span of time."""

    level: int
    name: str
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True)
class AgencyHistory:
    """One agency as the history knows it."""

    code: str
    valid_from: datetime | None
    valid_until: datetime | None
    versions: tuple[VersionSpan, ...]
    """In time order, without gaps."""
    channel: Channel
    settings: Mapping[str, Any] = field(default_factory=dict)
    active: bool = True
    illustrative: bool = False

    def exists_at(self, moment: datetime) -> bool:
        """Whether the agency exists at ``moment``."""
        return in_force(self.valid_from, self.valid_until, moment)

    def version_at(self, moment: datetime) -> VersionSpan | None:
        """Its version in force at ``moment``, if it exists then."""
        if not self.exists_at(moment):
            return None
        return next(
            (item for item in self.versions if in_force(item.valid_from, item.valid_until, moment)),
            None,
        )

    def last_event(self) -> datetime | None:
        """The latest moment the history records for it (a version's start or its end)."""
        moments = [item.valid_from for item in self.versions if item.valid_from is not None]
        if self.valid_until is not None:
            moments.append(self.valid_until)
        return max(moments, default=None)


@dataclass(frozen=True)
class KnownHistory:
    """What the database already holds, as far as planning changes needs it."""

    agencies: Mapping[str, AgencyHistory] = field(default_factory=dict)
    levels: tuple[LevelSpan, ...] = ()
    recorded: Mapping[str, str] = field(default_factory=dict)
    """Fingerprint of every recorded change, by key."""


@dataclass(frozen=True)
class CreateAgency:
    """An agency comes into being at ``at``."""

    at: datetime
    code: str
    name: str
    level: int
    parent: str | None
    channel: Channel
    settings: Mapping[str, Any]
    active: bool
    illustrative: bool


@dataclass(frozen=True)
class EndAgency:
    """An agency ends at ``at``; ``successors`` carry it on (none, one, or several)."""

    at: datetime
    code: str
    successors: tuple[str, ...]
    in_flight: str | None = None
    carries_tokens: bool = False


@dataclass(frozen=True)
class ReviseAgency:
    """An agency's name, level or parent changes at ``at``."""

    at: datetime
    code: str
    name: str
    level: int
    parent: str | None


@dataclass(frozen=True)
class SetLevels:
    """The levels in force from ``at``: exactly ``levels``."""

    at: datetime
    levels: tuple[LevelEntry, ...]


Operation = CreateAgency | EndAgency | ReviseAgency | SetLevels


@dataclass(frozen=True)
class PlannedChange:
    """A change to record and what it does."""

    located: LocatedChange
    summary: str
    operations: tuple[Operation, ...]

    @property
    def entry(self) -> ChangeEntry:
        """The change as given."""
        return self.located.entry

    def ended(self) -> dict[str, tuple[str, ...]]:
        """Each agency the change ends, with its successors."""
        return {
            item.code: item.successors for item in self.operations if isinstance(item, EndAgency)
        }

    def codes(self, kind: type[CreateAgency] | type[ReviseAgency]) -> list[str]:
        """The agencies the change creates or revises."""
        return [item.code for item in self.operations if isinstance(item, kind)]


@dataclass(frozen=True)
class Plan:
    """What recording a change file would do."""

    changes: tuple[PlannedChange, ...]
    """The changes not recorded yet, in date order."""
    unchanged: tuple[str, ...]
    """Keys of the changes already recorded as they are."""
    issues: tuple[DirectoryIssue, ...]


@dataclass
class _Agency:
    """An agency in the working copy of the history."""

    code: str
    valid_from: datetime | None
    valid_until: datetime | None
    versions: list[VersionSpan]
    channel: Channel
    settings: Mapping[str, Any]
    known: bool

    def exists_at(self, moment: datetime) -> bool:
        return in_force(self.valid_from, self.valid_until, moment)

    def version_at(self, moment: datetime) -> VersionSpan | None:
        if not self.exists_at(moment):
            return None
        return next(
            (item for item in self.versions if in_force(item.valid_from, item.valid_until, moment)),
            None,
        )

    def last_event(self) -> datetime | None:
        moments = [item.valid_from for item in self.versions if item.valid_from is not None]
        if self.valid_until is not None:
            moments.append(self.valid_until)
        return max(moments, default=None)


class _Planner:
    def __init__(self, known: KnownHistory, source: str) -> None:
        self.source = source
        self.agencies = {
            code: _Agency(
                code=item.code,
                valid_from=item.valid_from,
                valid_until=item.valid_until,
                versions=list(item.versions),
                channel=item.channel,
                settings=dict(item.settings),
                known=True,
            )
            for code, item in known.agencies.items()
        }
        self.levels = list(known.levels)
        self.issues: list[DirectoryIssue] = []
        self.ended_by: dict[str, LocatedChange] = {}
        self.order: list[LocatedChange] = []

    # -- helpers -----------------------------------------------------------------------

    def problem(self, located: LocatedChange, name: str | None, message: str) -> None:
        self.issues.append(located.issue(self.source, name, message))

    def existing(
        self, located: LocatedChange, name: str, code: str, moment: datetime
    ) -> _Agency | None:
        """The agency ``code`` if it exists at ``moment`` and may change then."""
        agency = self.agencies.get(code)
        when = _day(moment)
        if agency is None:
            self.problem(located, name, f"no agency {code} in the directory")
            return None
        if not agency.exists_at(moment):
            if agency.valid_until is not None and agency.valid_until <= moment:
                ended = _day(agency.valid_until)
                self.problem(located, name, f"{code} no longer exists on {when} (ended {ended})")
            else:
                self.problem(located, name, f"{code} does not exist yet on {when}")
            return None
        last = agency.last_event()
        if last is not None and last > moment:
            self.problem(
                located,
                name,
                f"a later change of {code} is already recorded (on {_day(last)}): record the "
                "changes of an agency in date order",
            )
            return None
        return agency

    def levels_at(self, moment: datetime) -> dict[int, str]:
        return {
            item.level: item.name
            for item in self.levels
            if in_force(item.valid_from, item.valid_until, moment)
        }

    def new_code(self, located: LocatedChange, name: str, code: str) -> bool:
        if code in self.agencies:
            self.problem(
                located, name, f"{code} is already in the directory: a code is never reused"
            )
            return False
        return True

    # -- applying operations to the working copy -----------------------------------------

    def create(self, operation: CreateAgency) -> None:
        self.agencies[operation.code] = _Agency(
            code=operation.code,
            valid_from=operation.at,
            valid_until=None,
            versions=[
                VersionSpan(operation.at, None, operation.name, operation.level, operation.parent)
            ],
            channel=operation.channel,
            settings=dict(operation.settings),
            known=False,
        )

    def end(self, operation: EndAgency, located: LocatedChange) -> None:
        agency = self.agencies[operation.code]
        agency.valid_until = operation.at
        last = agency.versions[-1]
        agency.versions[-1] = replace(last, valid_until=operation.at)
        self.ended_by[operation.code] = located

    def revise(self, operation: ReviseAgency) -> None:
        agency = self.agencies[operation.code]
        last = agency.versions[-1]
        fresh = VersionSpan(operation.at, None, operation.name, operation.level, operation.parent)
        if last.valid_from == operation.at:
            agency.versions[-1] = fresh
        else:
            agency.versions[-1] = replace(last, valid_until=operation.at)
            agency.versions.append(fresh)

    def set_levels(self, operation: SetLevels) -> None:
        wanted = {item.level: item.name for item in operation.levels}
        kept: list[LevelSpan] = []
        for span in self.levels:
            open_now = span.valid_until is None and (
                span.valid_from is None or span.valid_from <= operation.at
            )
            if open_now and wanted.get(span.level) != span.name:
                if span.valid_from != operation.at:
                    kept.append(replace(span, valid_until=operation.at))
                continue
            kept.append(span)
        present = {
            span.level
            for span in kept
            if span.valid_until is None
            and (span.valid_from is None or span.valid_from <= operation.at)
        }
        for level, name in sorted(wanted.items()):
            if level not in present:
                kept.append(LevelSpan(level, name, operation.at, None))
        self.levels = kept

    # -- the kinds ---------------------------------------------------------------------

    def plan(self, located: LocatedChange) -> tuple[str, list[Operation]]:
        entry = located.entry
        handler = {
            ChangeKind.RENAME: self._rename,
            ChangeKind.RECODE: self._recode,
            ChangeKind.MERGE: self._merge,
            ChangeKind.SPLIT: self._split,
            ChangeKind.DISSOLVE: self._dissolve,
            ChangeKind.MOVE: self._move,
            ChangeKind.CREATE: self._create,
            ChangeKind.LEVELS: self._levels,
        }[entry.kind]
        return handler(located, entry, entry.effective)

    def _rename(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        assert entry.code is not None
        assert entry.name is not None
        agency = self.existing(located, "code", entry.code, at)
        if agency is None:
            return "", []
        version = agency.version_at(at)
        assert version is not None
        summary = f"rename {entry.code}: {version.name} → {entry.name}"
        return summary, [ReviseAgency(at, entry.code, entry.name, version.level, version.parent)]

    def _recode(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        assert entry.code is not None
        assert entry.new_code is not None
        agency = self.existing(located, "code", entry.code, at)
        if agency is None or not self.new_code(located, "new_code", entry.new_code):
            return "", []
        version = agency.version_at(at)
        assert version is not None
        described = entry.agencies[0] if entry.agencies else None
        create = CreateAgency(
            at=at,
            code=entry.new_code,
            name=described.name if described else version.name,
            level=described.level if described else version.level,
            parent=described.parent if described and described.parent else version.parent,
            channel=(described.channel if described and described.channel else agency.channel),
            settings=(
                described.settings
                if described and described.settings is not None
                else agency.settings
            ),
            active=described.active if described else True,
            illustrative=described.illustrative if described else entry.illustrative,
        )
        summary = f"recode {entry.code} → {entry.new_code} ({create.name})"
        return summary, [
            create,
            EndAgency(at, entry.code, (entry.new_code,), carries_tokens=entry.carry_tokens),
        ]

    def _successors(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime, first: _Agency | None
    ) -> list[Operation] | None:
        """Create the successors the change describes; check the others exist."""
        described = {item.code: item for item in entry.agencies}
        operations: list[Operation] = []
        ok = True
        for code in entry.into:
            item = described.get(code)
            if item is None:
                ok = self.existing(located, "into", code, at) is not None and ok
                continue
            if not self.new_code(located, "agencies", code):
                ok = False
                continue
            if item.channel is None and first is None:
                self.problem(located, "agencies", f"{code}: give its 'channel'")
                ok = False
                continue
            operations.append(
                CreateAgency(
                    at=at,
                    code=code,
                    name=item.name,
                    level=item.level,
                    parent=item.parent,
                    channel=item.channel or (first.channel if first else Channel.INBOX),
                    settings=(
                        item.settings
                        if item.settings is not None
                        else (first.settings if first and item.channel is None else {})
                    ),
                    active=item.active,
                    illustrative=item.illustrative,
                )
            )
        return operations if ok else None

    def _merge(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        ending = [self.existing(located, "from", code, at) for code in entry.from_]
        if any(item is None for item in ending):
            return "", []
        created = self._successors(located, entry, at, ending[0])
        if created is None:
            return "", []
        (successor,) = entry.into
        summary = f"merge {', '.join(entry.from_)} → {successor}{self._named(created)}"
        return summary, [
            *created,
            *(
                EndAgency(at, code, (successor,), carries_tokens=entry.carry_tokens)
                for code in entry.from_
            ),
        ]

    def _split(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        assert entry.code is not None
        agency = self.existing(located, "code", entry.code, at)
        if agency is None:
            return "", []
        created = self._successors(located, entry, at, agency)
        if created is None:
            return "", []
        summary = f"split {entry.code} → {', '.join(entry.into)}"
        if entry.in_flight:
            summary += f" (on their way: {entry.in_flight})"
        return summary, [
            *created,
            EndAgency(
                at,
                entry.code,
                entry.into,
                in_flight=entry.in_flight,
                carries_tokens=entry.carry_tokens,
            ),
        ]

    def _dissolve(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        ending = [self.existing(located, "code", code, at) for code in entry.subjects]
        successor = entry.successor
        if successor is not None and self.existing(located, "successor", successor, at) is None:
            return "", []
        if any(item is None for item in ending):
            return "", []
        after = f" → {successor}" if successor else " (no successor)"
        summary = f"dissolve {', '.join(entry.subjects)}{after}"
        return summary, [
            EndAgency(
                at,
                code,
                (successor,) if successor else (),
                carries_tokens=entry.carry_tokens,
            )
            for code in entry.subjects
        ]

    def _move(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        moving = [self.existing(located, "code", code, at) for code in entry.subjects]
        if entry.parent is not None and self.existing(located, "parent", entry.parent, at) is None:
            return "", []
        if any(item is None for item in moving):
            return "", []
        operations: list[Operation] = []
        for agency in moving:
            assert agency is not None
            version = agency.version_at(at)
            assert version is not None
            operations.append(
                ReviseAgency(
                    at,
                    agency.code,
                    version.name,
                    entry.level if entry.level is not None else version.level,
                    entry.parent if entry.parent_given else version.parent,
                )
            )
        where = []
        if entry.level is not None:
            where.append(f"level {entry.level}")
        if entry.parent_given:
            where.append(f"under {entry.parent}" if entry.parent else "at the top")
        return f"move {', '.join(entry.subjects)} to {', '.join(where)}", operations

    def _create(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        operations: list[Operation] = []
        for item in entry.agencies:
            if not self.new_code(located, "agencies", item.code):
                return "", []
            assert item.channel is not None
            operations.append(
                CreateAgency(
                    at=at,
                    code=item.code,
                    name=item.name,
                    level=item.level,
                    parent=item.parent,
                    channel=item.channel,
                    settings=item.settings or {},
                    active=item.active,
                    illustrative=item.illustrative,
                )
            )
        return f"create {', '.join(item.code for item in entry.agencies)}", operations

    def _levels(
        self, located: LocatedChange, entry: ChangeEntry, at: datetime
    ) -> tuple[str, list[Operation]]:
        later = sorted(
            span.valid_from
            for span in self.levels
            if span.valid_from is not None and span.valid_from > at
        )
        if later:
            self.problem(
                located,
                "levels",
                f"a later change of the levels is already recorded (on {_day(later[0])}): "
                "record the changes of the levels in date order",
            )
            return "", []
        names = ", ".join(f"{item.level} {item.name}" for item in entry.levels)
        return f"levels from then on: {names}", [SetLevels(at, entry.levels)]

    @staticmethod
    def _named(created: Sequence[Operation]) -> str:
        names = [item.name for item in created if isinstance(item, CreateAgency)]
        return f" ({', '.join(names)})" if names else ""

    # -- the structure once a moment's changes are applied ----------------------------------

    def adopt_orphans(self, moment: datetime, planned: list[list[Operation]]) -> None:
        """Children of agencies that ended at ``moment`` with a single successor move under it;
        the move is an operation of the change that ended the parent."""
        for agency in list(self.agencies.values()):
            version = agency.version_at(moment)
            if version is None or version.parent is None:
                continue
            parent = self.agencies.get(version.parent)
            if parent is None or parent.exists_at(moment) or parent.valid_until != moment:
                continue
            located = self.ended_by.get(parent.code)
            if located is None:
                continue
            successors = self._successors_of(parent.code, planned)
            if len(successors) != 1 or successors[0] == agency.code:
                continue
            operation = ReviseAgency(
                moment, agency.code, version.name, version.level, successors[0]
            )
            self.revise(operation)
            planned[self._index_of(located)].append(operation)

    def check_structure(self, moment: datetime, blame: LocatedChange) -> None:
        """Every agency in force at ``moment`` under a parent and on a level in force."""
        levels = self.levels_at(moment)
        parents: dict[str, str | None] = {}
        for agency in self.agencies.values():
            version = agency.version_at(moment)
            if version is None:
                continue
            parents[agency.code] = version.parent
            if version.level not in levels:
                self.problem(
                    blame,
                    None,
                    f"on {_day(moment)} {agency.code} ({version.name}) would be on level "
                    f"{version.level}, which is not in force then: move it or end it",
                )
            if version.parent is not None:
                parent = self.agencies.get(version.parent)
                if parent is None or not parent.exists_at(moment):
                    self.problem(
                        self.ended_by.get(version.parent, blame),
                        None,
                        f"on {_day(moment)} {agency.code} ({version.name}) would be under "
                        f"{version.parent}, which no longer exists then: merge, move or "
                        "dissolve it in the same file",
                    )
        for code in parents:
            seen: list[str] = []
            current: str | None = code
            while current is not None and current in parents:
                if current in seen:
                    self.problem(
                        blame,
                        "parent",
                        f"on {_day(moment)} the parents loop: {' → '.join([*seen, current])}",
                    )
                    return
                seen.append(current)
                current = parents[current]

    def _index_of(self, located: LocatedChange) -> int:
        return next(index for index, item in enumerate(self.order) if item is located)

    def _successors_of(self, code: str, planned: Sequence[Sequence[Operation]]) -> tuple[str, ...]:
        for operations in planned:
            for item in operations:
                if isinstance(item, EndAgency) and item.code == code:
                    return item.successors
        return ()


def plan_changes(changes: ChangeFile, known: KnownHistory) -> Plan:
    """What recording ``changes`` would do, or every problem that prevents it."""
    planner = _Planner(known, changes.source)
    pending: list[LocatedChange] = []
    unchanged: list[str] = []
    seen: dict[str, LocatedChange] = {}
    for located in changes.changes:
        key = located.entry.key
        if key in seen:
            planner.problem(
                located, "id", f"the id {key} is used twice (change #{seen[key].record})"
            )
            continue
        seen[key] = located
        recorded = known.recorded.get(key)
        if recorded is None:
            pending.append(located)
        elif recorded == located.entry.fingerprint():
            unchanged.append(key)
        else:
            planner.problem(
                located,
                "id",
                f"change {key} is already recorded with other content: a recorded change is "
                "not edited; record a correcting change under another id",
            )
    pending.sort(
        key=lambda item: (
            item.entry.effective,
            item.entry.kind is not ChangeKind.LEVELS,
            item.record,
        )
    )
    planner.order = pending
    planned: list[list[Operation]] = []
    summaries: list[str] = []
    by_moment: dict[datetime, list[int]] = defaultdict(list)
    for index, located in enumerate(pending):
        summary, operations = planner.plan(located)
        for operation in operations:
            if isinstance(operation, CreateAgency):
                planner.create(operation)
            elif isinstance(operation, EndAgency):
                planner.end(operation, located)
            elif isinstance(operation, ReviseAgency):
                planner.revise(operation)
            else:
                planner.set_levels(operation)
        planned.append(operations)
        summaries.append(summary)
        by_moment[located.entry.effective].append(index)
        if (
            index + 1 == len(pending)
            or pending[index + 1].entry.effective != located.entry.effective
        ):
            moment = located.entry.effective
            planner.adopt_orphans(moment, planned)
            planner.check_structure(moment, pending[by_moment[moment][0]])
    return Plan(
        changes=tuple(
            PlannedChange(located, summary, tuple(operations))
            for located, summary, operations in zip(pending, summaries, planned, strict=True)
        ),
        unchanged=tuple(unchanged),
        issues=tuple(planner.issues),
    )


def _day(moment: datetime) -> str:
    local = moment.astimezone(LOCAL_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.date().isoformat()
    return local.isoformat(timespec="seconds")
