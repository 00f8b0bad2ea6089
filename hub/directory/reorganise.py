"""Recording dated directory changes, and applying them to what the hub holds once in effect.

Recording writes everything dated at once, in one transaction: the change (who, when, which
act), the agencies it creates (in force from its date), the end of those it ends with their
successions, the versions of names, levels and parents. Routing reads these by date, so a
document addressed to an ended code goes to its successor from the very moment the change
takes effect, whatever runs. Applying, once the moment has come, takes care of what is at
rest: the current name, level and parent of each agency, the levels' names, and the
deliveries on their way to an agency that ended (:mod:`hub.directory.retarget`). It runs
when a change already in effect is recorded, and every few seconds in the relay
(:class:`DueChanges`); a worker re-targets the delivery it is about to attempt on its own.

A dry run checks the file and lists the deliveries the changes would move as things stand:
those on their way now to an agency that ends (a change dated later may meet others).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import (
    Agency,
    AgencyLevel,
    AgencyLevelVersion,
    AgencySuccession,
    AgencyVersion,
    ChangeKind,
    Delivery,
    DirectoryChange,
    Packet,
)
from hub.directory.changes import ChangeFile
from hub.directory.history import (
    AgencyHistory,
    CreateAgency,
    EndAgency,
    KnownHistory,
    LevelSpan,
    Operation,
    PlannedChange,
    ReviseAgency,
    SetLevels,
    VersionSpan,
    in_force,
    plan_changes,
)
from hub.directory.retarget import MOVABLE, Retargeted, retarget_deliveries
from hub.errors import DirectoryError, StorageError
from hub.records import audit

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = [
    "AffectedDelivery",
    "AppliedChange",
    "ChangeReport",
    "ChangeView",
    "DueChanges",
    "apply_due",
    "list_changes",
    "load_history",
    "record_changes",
]

_log = structlog.get_logger(__name__)
_IN_CHUNK = 500


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ChangeView(_Model):
    """A recorded (or planned) change as lists show it."""

    key: str
    kind: ChangeKind
    effective_at: datetime
    act: str
    note: str
    summary: str
    ended: dict[str, list[str]]
    """Each agency it ends, with its successors."""
    created: list[str]
    revised: list[str]
    illustrative: bool
    recorded_by: str | None = None
    recorded_at: datetime | None = None
    applied_at: datetime | None = None
    outcome: dict[str, int] = {}


class AffectedDelivery(_Model):
    """A delivery on its way to an agency a change ends, and what the change does to it."""

    delivery_id: str
    packet_id: str
    document_id: str
    sender: str
    recipient: str
    state: str
    change: str
    effective_at: datetime
    action: Literal["redirect", "merge", "park"]
    to: str | None
    """The successor it goes to (``redirect``, ``merge``)."""


class ChangeReport(_Model):
    """What an import of changes did, or would do."""

    source: str
    dry_run: bool
    recorded: list[ChangeView]
    unchanged: list[str]
    affected: list[AffectedDelivery]
    """The deliveries on their way now that the changes move (when they take effect)."""
    applied: list[str]
    """Keys of the changes applied at once (already in effect)."""


class AppliedChange(_Model):
    """A change applied once in effect."""

    key: str
    redirected: int
    merged: int
    parked: int


# -- the history as the planner reads it ------------------------------------------------


def load_history(session: Session) -> KnownHistory:
    """Everything :func:`~hub.directory.history.plan_changes` needs from the database."""
    versions: dict[str, list[VersionSpan]] = defaultdict(list)
    for row in session.scalars(select(AgencyVersion).order_by(AgencyVersion.id)):
        versions[row.code].append(
            VersionSpan(row.valid_from, row.valid_until, row.name, row.level, row.parent_code)
        )
    agencies = {
        row.code: AgencyHistory(
            code=row.code,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            versions=tuple(sorted(versions[row.code], key=_start))
            or (
                VersionSpan(row.valid_from, row.valid_until, row.name, row.level, row.parent_code),
            ),
            channel=row.channel,
            settings=dict(row.channel_settings or {}),
            active=row.active,
            illustrative=row.illustrative,
        )
        for row in session.scalars(select(Agency).order_by(Agency.code))
    }
    levels = tuple(
        LevelSpan(row.level, row.name, row.valid_from, row.valid_until)
        for row in session.scalars(select(AgencyLevelVersion).order_by(AgencyLevelVersion.id))
    )
    versioned = {span.level for span in levels}
    levels += tuple(
        LevelSpan(row.level, row.name, None, None)
        for row in session.scalars(select(AgencyLevel).order_by(AgencyLevel.level))
        if row.level not in versioned
    )
    recorded: dict[str, str] = {}
    for key, fingerprint in session.execute(
        select(DirectoryChange.key, DirectoryChange.fingerprint)
    ):
        recorded[key] = fingerprint
    return KnownHistory(agencies=agencies, levels=levels, recorded=recorded)


def _start(version: VersionSpan) -> tuple[bool, datetime | None]:
    return (version.valid_from is not None, version.valid_from)


# -- recording ---------------------------------------------------------------------------


def record_changes(
    session: Session,
    changes: ChangeFile,
    *,
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ChangeReport:
    """Check ``changes`` against the history and record them (or, ``dry_run``, only say what
    they would do); changes already in effect are applied at once.

    Raises:
        DirectoryError: a change contradicts itself, the file or the history (every issue).
    """
    moment = now or utcnow()
    plan = plan_changes(changes, load_history(session))
    if plan.issues:
        raise DirectoryError(
            f"{changes.source}: {len(plan.issues)} problem(s) found", plan.issues[:200]
        )
    affected = _affected(session, plan.changes)
    views = [_planned_view(item) for item in plan.changes]
    if dry_run or not plan.changes:
        return ChangeReport(
            source=changes.source,
            dry_run=dry_run,
            recorded=views,
            unchanged=list(plan.unchanged),
            affected=affected,
            applied=[],
        )
    audit.lock_chain(session)
    rows = [_record(session, item, changes.source, actor, moment) for item in plan.changes]
    audit.append(
        session,
        actor=actor,
        action="directory.changes-recorded",
        subject=f"{len(rows)} directory change(s) from {changes.source}"[:255],
        details={
            "changes": [
                {"key": row.key, "effective_at": row.effective_at.isoformat(), "act": row.act}
                for row in rows
            ]
        },
        at=moment,
    )
    applied = apply_due(session, moment)
    _log.info(
        "directory.changes_recorded",
        source=changes.source,
        actor=actor,
        recorded=[row.key for row in rows],
        applied=[item.key for item in applied],
    )
    return ChangeReport(
        source=changes.source,
        dry_run=False,
        recorded=[_view(row) for row in rows],
        unchanged=list(plan.unchanged),
        affected=affected,
        applied=[item.key for item in applied],
    )


def _record(
    session: Session, planned: PlannedChange, source: str, actor: str, now: datetime
) -> DirectoryChange:
    entry = planned.entry
    row = DirectoryChange(
        key=entry.key,
        kind=entry.kind,
        effective_at=entry.effective,
        act=entry.act,
        note=entry.note,
        summary=planned.summary,
        details={
            "change": entry.model_dump(
                mode="json", by_alias=True, exclude_defaults=True, exclude={"effective"}
            ),
            "ended": {code: list(successors) for code, successors in planned.ended().items()},
            "created": planned.codes(CreateAgency),
            "revised": planned.codes(ReviseAgency),
        },
        fingerprint=entry.fingerprint(),
        source=source[:255],
        illustrative=entry.illustrative,
        recorded_by=actor[:128],
        recorded_at=now,
        outcome={},
    )
    session.add(row)
    session.flush()
    for operation in _ordered(planned.operations):
        _write(session, row.id, operation)
        session.flush()
    return row


def _ordered(operations: Sequence[Operation]) -> list[Operation]:
    """Levels first, then new agencies parents before children, then the rest."""
    levels = [item for item in operations if isinstance(item, SetLevels)]
    creating = [item for item in operations if isinstance(item, CreateAgency)]
    rest = [item for item in operations if not isinstance(item, SetLevels | CreateAgency)]
    ordered: list[CreateAgency] = []
    pending = list(creating)
    while pending:
        codes = {item.code for item in pending}
        ready = [item for item in pending if item.parent not in codes] or pending[:1]
        ordered.extend(ready)
        pending = [item for item in pending if item not in ready]
    return [*levels, *ordered, *rest]


def _write(session: Session, change_id: int, operation: Operation) -> None:
    if isinstance(operation, SetLevels):
        _write_levels(session, change_id, operation)
    elif isinstance(operation, CreateAgency):
        session.add(
            Agency(
                code=operation.code,
                name=operation.name,
                level=operation.level,
                parent_code=operation.parent,
                channel=operation.channel,
                channel_settings=dict(operation.settings),
                active=operation.active,
                illustrative=operation.illustrative,
                valid_from=operation.at,
            )
        )
        session.flush()
        session.add(
            AgencyVersion(
                code=operation.code,
                valid_from=operation.at,
                name=operation.name,
                level=operation.level,
                parent_code=operation.parent,
                change_id=change_id,
            )
        )
    elif isinstance(operation, EndAgency):
        agency = session.get(Agency, operation.code)
        assert agency is not None
        agency.valid_until = operation.at
        version = _open_version(session, operation.code)
        if version is not None:
            version.valid_until = operation.at
        session.add_all(
            AgencySuccession(
                predecessor_code=operation.code,
                successor_code=successor,
                change_id=change_id,
                effective_at=operation.at,
                carries_tokens=operation.carries_tokens,
                takes_in_flight=successor == operation.in_flight,
            )
            for successor in operation.successors
        )
    else:
        version = _open_version(session, operation.code)
        if version is not None and version.valid_from == operation.at:
            version.name = operation.name
            version.level = operation.level
            version.parent_code = operation.parent
            version.change_id = change_id
            return
        if version is not None:
            version.valid_until = operation.at
        session.add(
            AgencyVersion(
                code=operation.code,
                valid_from=operation.at,
                name=operation.name,
                level=operation.level,
                parent_code=operation.parent,
                change_id=change_id,
            )
        )


def _open_version(session: Session, code: str) -> AgencyVersion | None:
    """The agency's last version, still open; one is made from its row when it has none (an
    agency written by another door than the directory's, e.g. the axis sync)."""
    found = session.scalars(
        select(AgencyVersion)
        .where(AgencyVersion.code == code, AgencyVersion.valid_until.is_(None))
        .order_by(AgencyVersion.id.desc())
        .limit(1)
    ).first()
    if found is not None:
        return found
    if session.scalars(select(AgencyVersion.id).where(AgencyVersion.code == code)).first():
        return None
    agency = session.get(Agency, code)
    if agency is None:
        return None
    made = AgencyVersion(
        code=code, name=agency.name, level=agency.level, parent_code=agency.parent_code
    )
    session.add(made)
    session.flush()
    return made


def _write_levels(session: Session, change_id: int, operation: SetLevels) -> None:
    wanted = {item.level: item.name for item in operation.levels}
    present: set[int] = set()
    for version in session.scalars(
        select(AgencyLevelVersion).where(AgencyLevelVersion.valid_until.is_(None))
    ):
        if version.valid_from is not None and version.valid_from > operation.at:
            continue
        if wanted.get(version.level) == version.name:
            present.add(version.level)
            continue
        if version.valid_from == operation.at:
            session.delete(version)
        else:
            version.valid_until = operation.at
    stored = {row.level for row in session.scalars(select(AgencyLevel))}
    for level, name in sorted(wanted.items()):
        if level in present:
            continue
        if level not in stored:
            session.add(AgencyLevel(level=level, name=name))
            session.flush()
        session.add(
            AgencyLevelVersion(level=level, name=name, valid_from=operation.at, change_id=change_id)
        )


# -- applying ----------------------------------------------------------------------------


def apply_due(session: Session, now: datetime | None = None) -> list[AppliedChange]:
    """Apply every recorded change in effect by ``now`` and not applied yet, oldest first."""
    moment = now or utcnow()
    query = (
        select(DirectoryChange)
        .where(DirectoryChange.applied_at.is_(None), DirectoryChange.effective_at <= moment)
        .order_by(DirectoryChange.effective_at, DirectoryChange.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    applied: list[AppliedChange] = []
    for change in session.scalars(query).all():
        details: dict[str, Any] = dict(change.details or {})
        ended = list(dict(details.get("ended") or {}))
        touched = [*details.get("created", []), *details.get("revised", []), *ended]
        _refresh_agencies(session, touched, moment)
        if change.kind is ChangeKind.LEVELS:
            _refresh_levels(session, moment)
        moved = retarget_deliveries(session, moment, codes=ended)
        counts = _counts(moved)
        change.applied_at = moment
        change.outcome = counts
        applied.append(AppliedChange(key=change.key, **counts))
        _log.info("directory.change_applied", change=change.key, **counts)
    session.flush()
    return applied


def _counts(moved: Sequence[Retargeted]) -> dict[str, int]:
    merged = sum(1 for item in moved if item.merged_into is not None)
    parked = sum(1 for item in moved if item.to_code is None)
    return {"redirected": len(moved) - merged - parked, "merged": merged, "parked": parked}


def _refresh_agencies(session: Session, codes: Sequence[str], now: datetime) -> None:
    """Each agency's name, level and parent become those of its version in force now."""
    wanted = list(dict.fromkeys(codes))
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        versions: dict[str, list[AgencyVersion]] = defaultdict(list)
        for version in session.scalars(select(AgencyVersion).where(AgencyVersion.code.in_(chunk))):
            versions[version.code].append(version)
        for agency in session.scalars(select(Agency).where(Agency.code.in_(chunk))):
            current = next(
                (
                    item
                    for item in versions[agency.code]
                    if in_force(item.valid_from, item.valid_until, now)
                ),
                None,
            )
            if current is None:
                continue
            if (agency.name, agency.level, agency.parent_code) != (
                current.name,
                current.level,
                current.parent_code,
            ):
                agency.name = current.name
                agency.level = current.level
                agency.parent_code = current.parent_code


def _refresh_levels(session: Session, now: datetime) -> None:
    """Each level's name becomes that of its version in force now."""
    names = {
        version.level: version.name
        for version in session.scalars(select(AgencyLevelVersion))
        if in_force(version.valid_from, version.valid_until, now)
    }
    for row in session.scalars(select(AgencyLevel)):
        if row.level in names and row.name != names[row.level]:
            row.name = names[row.level]


# -- previews and lists --------------------------------------------------------------------


def _affected(session: Session, planned: Sequence[PlannedChange]) -> list[AffectedDelivery]:
    """The deliveries on their way now to agencies the changes end, and what happens to each."""
    ended: dict[str, tuple[PlannedChange, tuple[str, ...], str | None]] = {}
    for item in planned:
        for operation in item.operations:
            if isinstance(operation, EndAgency):
                ended[operation.code] = (item, operation.successors, operation.in_flight)
    if not ended:
        return []

    def final(code: str, depth: int = 0) -> str | None:
        if code not in ended or depth > 16:
            return code
        _, successors, in_flight = ended[code]
        onward = in_flight or (successors[0] if len(successors) == 1 else None)
        return None if onward is None else final(onward, depth + 1)

    codes = list(ended)
    rows: list[Any] = []
    for start in range(0, len(codes), _IN_CHUNK):
        rows.extend(
            session.execute(
                select(
                    Delivery.id,
                    Delivery.packet_id,
                    Delivery.recipient_code,
                    Delivery.state,
                    Packet.document_id,
                    Packet.sender_code,
                )
                .join(Packet, Packet.id == Delivery.packet_id)
                .where(
                    Delivery.recipient_code.in_(codes[start : start + _IN_CHUNK]),
                    Delivery.state.in_(MOVABLE),
                )
                .order_by(Delivery.created_at, Delivery.id)
            ).all()
        )
    packets = sorted({row.packet_id for row in rows})
    taken: set[tuple[str, str]] = set()
    for start in range(0, len(packets), _IN_CHUNK):
        taken.update(
            (packet_id, recipient)
            for packet_id, recipient in session.execute(
                select(Delivery.packet_id, Delivery.recipient_code).where(
                    Delivery.packet_id.in_(packets[start : start + _IN_CHUNK])
                )
            )
        )
    found: list[AffectedDelivery] = []
    for row in rows:
        change = ended[row.recipient_code][0]
        target = final(row.recipient_code)
        action: Literal["redirect", "merge", "park"]
        if target is None:
            if row.state.value not in ("queued", "retrying", "available"):
                continue
            action = "park"
        elif (row.packet_id, target) in taken:
            action = "merge"
        else:
            action = "redirect"
            taken.add((row.packet_id, target))
        found.append(
            AffectedDelivery(
                delivery_id=row.id,
                packet_id=row.packet_id,
                document_id=row.document_id,
                sender=row.sender_code,
                recipient=row.recipient_code,
                state=row.state.value,
                change=change.entry.key,
                effective_at=change.entry.effective,
                action=action,
                to=target,
            )
        )
    return found


def _planned_view(item: PlannedChange) -> ChangeView:
    entry = item.entry
    return ChangeView(
        key=entry.key,
        kind=entry.kind,
        effective_at=entry.effective,
        act=entry.act,
        note=entry.note,
        summary=item.summary,
        ended={code: list(successors) for code, successors in item.ended().items()},
        created=item.codes(CreateAgency),
        revised=item.codes(ReviseAgency),
        illustrative=entry.illustrative,
    )


def _view(row: DirectoryChange) -> ChangeView:
    details = dict(row.details or {})
    return ChangeView(
        key=row.key,
        kind=row.kind,
        effective_at=row.effective_at,
        act=row.act,
        note=row.note,
        summary=row.summary,
        ended={code: list(value) for code, value in dict(details.get("ended") or {}).items()},
        created=list(details.get("created") or []),
        revised=list(details.get("revised") or []),
        illustrative=row.illustrative,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        applied_at=row.applied_at,
        outcome={key: int(value) for key, value in dict(row.outcome or {}).items()},
    )


def list_changes(
    session: Session, *, code: str | None = None, limit: int = 1000
) -> list[ChangeView]:
    """Recorded changes, latest effective first (those that touch ``code``, when given)."""
    query = select(DirectoryChange).order_by(
        DirectoryChange.effective_at.desc(), DirectoryChange.id.desc()
    )
    views = [_view(row) for row in session.scalars(query)]
    if code is not None:
        views = [
            view
            for view in views
            if code in view.ended
            or code in view.created
            or code in view.revised
            or any(code in successors for successors in view.ended.values())
        ]
    return views[:limit]


class DueChanges:
    """Applies recorded changes once they take effect; cheap to call on every loop."""

    def __init__(self, database: Database, *, every: float = 2.0) -> None:
        self._database = database
        self._every = every
        self._next = 0.0

    def tick(self) -> None:
        """Apply what came into effect, at most every ``every`` seconds; a database failure is
        logged and tried again next time."""
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self._every
        try:
            with self._database.transaction() as session:
                apply_due(session)
        except StorageError as exc:
            _log.warning("directory.apply_failed", error=str(exc))
        except Exception:  # a duty of the relay: logged, never the relay's end
            _log.exception("directory.apply_crashed")
