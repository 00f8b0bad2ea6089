"""The audit log: an append-only, hash-chained record of what operators did and why.

Each entry stores the hash of the one before it and its own SHA-256 over a canonical JSON of
its fields plus that previous hash, so changing, removing or reordering any entry breaks the
chain at that entry and :func:`verify` names it. Appends are serialised (PostgreSQL: a table
lock held to commit; SQLite: the database write lock, taken before the last entry is read),
so two writers never both chain onto the same entry. Removing the newest entries leaves a
valid shorter chain: operators who need that covered keep the head hash somewhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import AuditEntry
from hub.records.chain import GENESIS_HASH, Link, canonical_json, check_chain, sha256

__all__ = [
    "GENESIS_HASH",
    "AuditRecord",
    "VerifyResult",
    "append",
    "entry_hash",
    "latest",
    "lock_chain",
    "verify",
]

_VERIFY_BATCH = 1000


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as read back."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: AuditEntry) -> AuditRecord:
        """The view of an ORM row."""
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            reason=row.reason,
            details=dict(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the whole chain."""

    ok: bool
    entries: int
    """Entries checked (all of them when ``ok``; up to the broken one otherwise)."""
    first_broken_id: int | None
    problem: str | None
    """What is wrong with the first broken entry, for people."""
    head_hash: str
    """Hash of the last entry checked (``GENESIS_HASH`` for an empty log)."""


def entry_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry and the hash before it."""
    return sha256(
        canonical_json(
            {
                "id": id,
                "at": at.isoformat(timespec="microseconds"),
                "actor": actor,
                "action": action,
                "subject": subject,
                "reason": reason,
                "details": details,
                "prev_hash": prev_hash,
            }
        )
    )


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Add an entry at the end of the chain, in the caller's transaction.

    The chain stays locked until that transaction ends, so keep it short after this call.
    """
    lock_chain(session)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev_hash = last.hash if last is not None else GENESIS_HASH
    number = last.id + 1 if last is not None else 1
    moment = (at or utcnow()).astimezone(UTC)
    payload = json.loads(json.dumps(dict(details or {}), ensure_ascii=False, default=str))
    row = AuditEntry(
        id=number,
        at=moment,
        actor=actor,
        action=action,
        subject=subject,
        reason=reason,
        details=payload,
        prev_hash=prev_hash,
        hash=entry_hash(
            id=number,
            at=moment,
            actor=actor,
            action=action,
            subject=subject,
            reason=reason,
            details=payload,
            prev_hash=prev_hash,
        ),
    )
    session.add(row)
    session.flush()
    return AuditRecord.of(row)


def verify(session: Session) -> VerifyResult:
    """Recompute every entry's hash and link, oldest first; stop at the first broken one."""
    check = check_chain(_links(session), noun="entry")
    return VerifyResult(check.ok, check.checked, check.first_broken, check.problem, check.head_hash)


def latest(session: Session, limit: int = 20) -> list[AuditRecord]:
    """The newest ``limit`` entries, oldest of them first."""
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return [AuditRecord.of(row) for row in reversed(list(rows))]


def _links(session: Session) -> Iterator[Link]:
    """Every entry as a link of the chain, oldest first, read in batches."""
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > after)
                .order_by(AuditEntry.id)
                .limit(_VERIFY_BATCH)
            )
        )
        if not rows:
            return
        for row in rows:
            yield Link(
                position=row.id,
                prev_hash=row.prev_hash,
                hash=row.hash,
                expected_hash=entry_hash(
                    id=row.id,
                    at=row.at,
                    actor=row.actor,
                    action=row.action,
                    subject=row.subject,
                    reason=row.reason,
                    details=row.details,
                    prev_hash=row.prev_hash,
                ),
            )
        after = rows[-1].id


def lock_chain(session: Session) -> None:
    """Hold the chain until the transaction ends (taken by :func:`append`; callers that read
    what they are about to audit take it first, so nothing changes in between)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))
