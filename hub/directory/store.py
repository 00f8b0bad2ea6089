"""The directory in the database: idempotent import, export, lookups and recipient resolution.

Functions take a :class:`~sqlalchemy.orm.Session` and leave committing to the caller, so an
import is one transaction and a lookup can share the transaction of the request it serves.
Results are frozen dataclasses, usable after the session is closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import (
    Agency,
    AgencyDelegation,
    AgencyLevel,
    AgencyLevelVersion,
    AgencyVersion,
)
from hub.directory.formats import (
    AgencyEntry,
    DirectoryData,
    DirectoryFile,
    KnownDirectory,
    LevelEntry,
    check_directory,
)
from hub.directory.info import AGENCY_COLUMNS, AgencyInfo
from hub.directory.succession import Succession, acts_for, follow
from hub.errors import DirectoryError, NotFoundError

__all__ = [
    "AGENCY_COLUMNS",
    "AgencyInfo",
    "ImportReport",
    "Resolution",
    "children",
    "export_directory",
    "find_agency",
    "get_agency",
    "import_directory",
    "may_send_for",
    "resolve",
]

_IN_CHUNK = 500
_V = TypeVar("_V", AgencyVersion, AgencyLevelVersion)


@dataclass(frozen=True)
class Resolution:
    """Recipient codes sorted by what routing can do with them."""

    found: Mapping[str, AgencyInfo]
    """Active agencies in force, by code, in the order asked."""
    inactive: Mapping[str, AgencyInfo]
    """Agencies in force that are switched off."""
    unknown: tuple[str, ...]
    """Codes the directory does not hold, in the order asked."""
    ended: Mapping[str, Succession] = field(default_factory=dict)
    """Codes of agencies a directory change ended, with where they lead now."""
    pending: Mapping[str, AgencyInfo] = field(default_factory=dict)
    """Agencies a directory change brings into being later."""


@dataclass(frozen=True)
class ImportReport:
    """What an import changed; a repeated import reports everything unchanged."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    levels_created: tuple[int, ...]
    levels_updated: tuple[int, ...]

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return bool(self.created or self.updated or self.levels_created or self.levels_updated)


def import_directory(session: Session, directory: DirectoryFile) -> ImportReport:
    """Create or update every level and agency of the file; others are left as they are.

    An agency's delegations become exactly its ``may_send_for`` list. Only what differs is
    written, so importing the same file twice changes nothing, timestamps included. A new
    level or agency gets a version open since before the directory's history; a changed one
    has its version in force now corrected (dated changes: :mod:`hub.directory.reorganise`).

    Raises:
        DirectoryError: the file contradicts itself or the directory (every issue listed).
    """
    stored_levels = {row.level: row for row in session.scalars(select(AgencyLevel))}
    stored = {row.code: row for row in session.scalars(select(Agency))}
    known = KnownDirectory(
        parents={code: row.parent_code for code, row in stored.items()},
        levels={level: row.name for level, row in stored_levels.items()},
    )
    issues = check_directory(directory, known)
    if issues:
        raise DirectoryError(f"{directory.source}: {len(issues)} problem(s) found", issues)

    levels_created, levels_updated = _upsert_levels(session, directory.levels, stored_levels)
    session.flush()
    _sync_level_versions(session, directory.levels, levels_created, levels_updated)

    entries = [item.entry for item in directory.agencies]
    created: list[str] = []
    updated: list[str] = []
    for group in _by_depth(entries, known.parents):
        for entry in group:
            row = stored.get(entry.code)
            if row is None:
                session.add(_new_agency(entry))
                created.append(entry.code)
            elif _apply(row, entry):
                updated.append(entry.code)
        session.flush()

    _sync_versions(session, entries, created, updated)
    for code in _sync_delegations(session, entries):
        if code not in created and code not in updated:
            stored[code].updated_at = utcnow()
            updated.append(code)
    session.flush()
    updated_codes = set(updated)
    touched = set(created) | updated_codes
    return ImportReport(
        created=tuple(created),
        updated=tuple(entry.code for entry in entries if entry.code in updated_codes),
        unchanged=tuple(entry.code for entry in entries if entry.code not in touched),
        levels_created=tuple(levels_created),
        levels_updated=tuple(levels_updated),
    )


def export_directory(session: Session) -> DirectoryData:
    """The whole directory, parents before children, siblings by code."""
    levels = tuple(
        LevelEntry(level=row.level, name=row.name)
        for row in session.scalars(select(AgencyLevel).order_by(AgencyLevel.level))
    )
    rows = list(session.scalars(select(Agency).order_by(Agency.code)))
    delegations: dict[str, list[str]] = defaultdict(list)
    for delegation in session.scalars(
        select(AgencyDelegation).order_by(
            AgencyDelegation.delegate_code, AgencyDelegation.principal_code
        )
    ):
        delegations[delegation.delegate_code].append(delegation.principal_code)
    by_parent: dict[str | None, list[Agency]] = defaultdict(list)
    codes = {row.code for row in rows}
    for row in rows:
        parent = row.parent_code if row.parent_code in codes else None
        by_parent[parent].append(row)
    ordered: list[Agency] = []
    stack = list(reversed(by_parent[None]))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(by_parent[row.code]))
    seen = {row.code for row in ordered}
    ordered.extend(row for row in rows if row.code not in seen)
    return DirectoryData(
        levels=levels,
        agencies=tuple(
            AgencyEntry(
                code=row.code,
                name=row.name,
                level=row.level,
                parent=row.parent_code,
                channel=row.channel,
                settings=dict(row.channel_settings),
                active=row.active,
                illustrative=row.illustrative,
                may_send_for=tuple(delegations[row.code]),
            )
            for row in ordered
        ),
    )


def find_agency(session: Session, code: str) -> AgencyInfo | None:
    """The agency with this exact code, active or not, or None."""
    row = session.get(Agency, code)
    return None if row is None else AgencyInfo.of(row)


def get_agency(session: Session, code: str) -> AgencyInfo:
    """The agency with this exact code, active or not.

    Raises:
        NotFoundError: no agency has this code.
    """
    info = find_agency(session, code)
    if info is None:
        raise NotFoundError(f"no agency {code!r} in the directory", code="agency.not_found")
    return info


def children(session: Session, code: str) -> list[AgencyInfo]:
    """The agencies directly under ``code``, by code.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, code)
    rows = session.scalars(select(Agency).where(Agency.parent_code == code).order_by(Agency.code))
    return [AgencyInfo.of(row) for row in rows]


_RESOLVE = (
    select(*AGENCY_COLUMNS)
    .join(AgencyLevel, AgencyLevel.level == Agency.level)
    .where(Agency.code.in_(bindparam("codes", expanding=True)))
)
"""Built once: every packet taken in is routed here, and building costs more than running."""


def resolve(session: Session, codes: Iterable[str], at: datetime | None = None) -> Resolution:
    """Sort recipient codes by the directory in force at ``at`` (default: now): active
    agencies, inactive ones, codes nobody holds, codes that ended (with their successors)
    and agencies not yet in force."""
    moment = at or utcnow()
    wanted = list(dict.fromkeys(codes))
    rows: dict[str, AgencyInfo] = {}
    # Plain column rows, not ORM objects: every packet taken in is routed here (see
    # AGENCY_COLUMNS).
    session.flush()  # what the session changed is seen, as the ORM's autoflush would
    connection = session.connection()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        for row in connection.execute(_RESOLVE, {"codes": chunk}):
            rows[row.code] = AgencyInfo.from_row(row)
    found: dict[str, AgencyInfo] = {}
    inactive: dict[str, AgencyInfo] = {}
    ended: list[str] = []
    pending: dict[str, AgencyInfo] = {}
    for code in wanted:
        info = rows.get(code)
        if info is None:
            continue
        if info.ended_by(moment):
            ended.append(code)
        elif not info.in_force(moment):
            pending[code] = info
        else:
            (found if info.active else inactive)[code] = info
    return Resolution(
        found=found,
        inactive=inactive,
        unknown=tuple(code for code in wanted if code not in rows),
        ended=follow(session, ended, moment, known=rows) if ended else {},
        pending=pending,
    )


def may_send_for(session: Session, sender: str, principal: str, at: datetime | None = None) -> bool:
    """Whether ``sender`` may send packets whose ``From`` is ``principal``: itself, an agency
    that delegated to it, its predecessors, or its successor by a change that carried its
    tokens (successions in effect at ``at``, default now)."""
    if sender == principal:
        return True
    if session.get(AgencyDelegation, (sender, principal)) is not None:
        return True
    return acts_for(session, sender, principal, at or utcnow())


def _upsert_levels(
    session: Session, levels: Sequence[LevelEntry], stored: Mapping[int, AgencyLevel]
) -> tuple[list[int], list[int]]:
    created: list[int] = []
    updated: list[int] = []
    for level in levels:
        row = stored.get(level.level)
        if row is None:
            session.add(AgencyLevel(level=level.level, name=level.name))
            created.append(level.level)
        elif row.name != level.name:
            row.name = level.name
            updated.append(level.level)
    return created, updated


def _sync_level_versions(
    session: Session, levels: Sequence[LevelEntry], created: Sequence[int], updated: Sequence[int]
) -> None:
    """New levels open a version; renamed ones correct the version in force now."""
    names = {level.level: level.name for level in levels}
    session.add_all(AgencyLevelVersion(level=level, name=names[level]) for level in created)
    now = utcnow()
    for level in updated:
        version = _in_force_now(
            session.scalars(select(AgencyLevelVersion).where(AgencyLevelVersion.level == level)),
            now,
        )
        if version is not None:
            version.name = names[level]


def _sync_versions(
    session: Session, entries: Sequence[AgencyEntry], created: Sequence[str], updated: Sequence[str]
) -> None:
    """New agencies open a version; changed ones correct the version in force now."""
    by_code = {entry.code: entry for entry in entries}
    session.add_all(
        AgencyVersion(
            code=code,
            name=by_code[code].name,
            level=by_code[code].level,
            parent_code=by_code[code].parent,
        )
        for code in created
    )
    now = utcnow()
    for code in updated:
        entry = by_code[code]
        version = _in_force_now(
            session.scalars(select(AgencyVersion).where(AgencyVersion.code == code)), now
        )
        if version is not None:
            version.name = entry.name
            version.level = entry.level
            version.parent_code = entry.parent
    session.flush()


def _in_force_now(versions: Iterable[_V], now: datetime) -> _V | None:
    """The version whose span holds ``now`` (else the last one open), or None."""
    listed = list(versions)
    for version in listed:
        if (version.valid_from is None or version.valid_from <= now) and (
            version.valid_until is None or now < version.valid_until
        ):
            return version
    return next((version for version in listed if version.valid_until is None), None)


def _new_agency(entry: AgencyEntry) -> Agency:
    return Agency(
        code=entry.code,
        name=entry.name,
        level=entry.level,
        parent_code=entry.parent,
        channel=entry.channel,
        channel_settings=dict(entry.settings),
        active=entry.active,
        illustrative=entry.illustrative,
    )


def _apply(row: Agency, entry: AgencyEntry) -> bool:
    wanted: dict[str, Any] = {
        "name": entry.name,
        "level": entry.level,
        "parent_code": entry.parent,
        "channel": entry.channel,
        "channel_settings": dict(entry.settings),
        "active": entry.active,
        "illustrative": entry.illustrative,
    }
    changed = {name: value for name, value in wanted.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    return bool(changed)


def _by_depth(
    entries: Sequence[AgencyEntry], stored_parents: Mapping[str, str | None]
) -> list[list[AgencyEntry]]:
    """Entries grouped so that each group's new parents are written by an earlier group."""
    parents: dict[str, str | None] = dict(stored_parents)
    parents.update({entry.code: entry.parent for entry in entries})
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in depth and current in parents:
            chain.append(current)
            current = parents[current]
        base = depth.get(current, -1) if current is not None else -1
        for offset, item in enumerate(reversed(chain), start=1):
            depth[item] = base + offset
        return depth[code]

    groups: dict[int, list[AgencyEntry]] = defaultdict(list)
    for entry in entries:
        groups[depth_of(entry.code)].append(entry)
    return [groups[level] for level in sorted(groups)]


def _sync_delegations(session: Session, entries: Sequence[AgencyEntry]) -> list[str]:
    """Make each entry's delegations its ``may_send_for``; the codes whose set changed."""
    wanted = {entry.code: set(entry.may_send_for) for entry in entries}
    current: dict[str, set[str]] = defaultdict(set)
    codes = list(wanted)
    for start in range(0, len(codes), _IN_CHUNK):
        chunk = codes[start : start + _IN_CHUNK]
        for row in session.scalars(
            select(AgencyDelegation).where(AgencyDelegation.delegate_code.in_(chunk))
        ):
            current[row.delegate_code].add(row.principal_code)
    changed: list[str] = []
    for code, principals in wanted.items():
        have = current.get(code, set())
        if have == principals:
            continue
        changed.append(code)
        for principal in sorted(have - principals):
            session.execute(
                delete(AgencyDelegation).where(
                    AgencyDelegation.delegate_code == code,
                    AgencyDelegation.principal_code == principal,
                )
            )
        session.add_all(
            AgencyDelegation(delegate_code=code, principal_code=principal)
            for principal in sorted(principals - have)
        )
    return changed
