"""Checking the evidence chain in the database: every record, every checkpoint, in order.

Sealed records are walked by their place in the chain: each must be where it should be,
link to the one before it, say in its columns what its statement says, and hash to what it
stores. Each checkpoint is checked when the walk reaches its last record: its statement,
its link to the checkpoint before it, its signature (by a certificate given) and its head,
which must be the chain hash the walk recomputed there. Records no checkpoint has sealed
yet are checked on their own (statement, columns, hash). The first problem stops the walk
and is named, record or checkpoint.

What it catches: any byte changed in a record or a checkpoint (the record or checkpoint
is named); records removed, added or reordered (the place where the chain breaks); a
record rewritten with every hash after it recomputed (the checkpoint over it no longer
matches: its range is named, since only the signed head can tell). What it cannot: the
newest records before their first checkpoint, if rewritten together with their own hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import EvidenceCheckpoint, EvidenceRecord
from hub.evidence.checkpoints import checkpoint_statement
from hub.evidence.facts import statement_time
from hub.evidence.signing import certificate_sha256, signature_holds
from hub.records.chain import GENESIS_HASH, Link, link, sha256
from hub.records.chain import broken as chain_break

__all__ = ["ChainReport", "describe", "record_problem", "verify_chain"]

_BATCH = 2000


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the evidence chain found."""

    ok: bool
    sealed: int
    """Sealed records that verify."""
    unsealed: int
    """Records waiting for a checkpoint that verify."""
    checkpoints: int
    """Checkpoints that verify."""
    head_hash: str
    first_broken: str | None
    """The first broken record or checkpoint, for people (``record seq 12 (id 15, ...)``)."""
    problem: str | None
    record_id: int | None = None
    """Id of the first broken record, when a record is broken."""


def verify_chain(session: Session, certificates: Sequence[x509.Certificate]) -> ChainReport:
    """Walk the whole evidence chain (see the module); stop at the first problem."""
    known = {certificate_sha256(cert): cert for cert in certificates}
    checkpoints = _checkpoints(session)
    pending = next(checkpoints, None)
    checkpoint_prev = GENESIS_HASH
    checked_checkpoints = 0
    expected_seq = 1
    expected_prev = GENESIS_HASH
    sealed = 0
    for row in _rows(session, sealed=True):
        assert row.seq is not None
        recomputed = link(row.seq, row.prev_hash or "", sha256(row.statement))
        problem = chain_break(
            Link(
                position=row.seq,
                prev_hash=row.prev_hash or "",
                hash=row.chain_hash or "",
                expected_hash=recomputed,
                problem=record_problem(row),
            ),
            expected_seq,
            expected_prev,
            "record",
        )
        if problem is not None:
            return _broken(row, problem, sealed, checked_checkpoints, expected_prev)
        sealed += 1
        expected_seq = row.seq + 1
        expected_prev = recomputed
        while pending is not None and pending.last_seq == row.seq:
            problem = _checkpoint_problem(pending, checkpoint_prev, recomputed, known)
            if problem is not None:
                return _checkpoint_broken(pending, problem, sealed, checked_checkpoints, recomputed)
            checked_checkpoints += 1
            checkpoint_prev = pending.hash
            pending = next(checkpoints, None)
            if pending is not None and pending.first_seq != row.seq + 1:
                return _checkpoint_broken(
                    pending,
                    f"it starts at record {pending.first_seq}, not at {row.seq + 1}",
                    sealed,
                    checked_checkpoints,
                    recomputed,
                )
    if pending is not None:
        return _checkpoint_broken(
            pending,
            f"it seals records up to {pending.last_seq}, but the chain ends at "
            f"{expected_seq - 1}: records were removed from its end",
            sealed,
            checked_checkpoints,
            expected_prev,
        )
    unsealed = 0
    for row in _rows(session, sealed=False):
        problem = record_problem(row)
        if problem is None and (row.prev_hash is not None or row.chain_hash is not None):
            problem = "it has chain hashes but no place in the chain"
        if problem is not None:
            return _broken(
                row, f"record id {row.id}: {problem}", sealed, checked_checkpoints, expected_prev
            )
        unsealed += 1
    return ChainReport(True, sealed, unsealed, checked_checkpoints, expected_prev, None, None)


def record_problem(row: EvidenceRecord) -> str | None:
    """What is wrong between a record's columns and its statement, if anything."""
    try:
        fields = json.loads(row.statement)
    except ValueError:
        return "its statement is not JSON"
    if not isinstance(fields, dict):
        return "its statement is not a JSON object"
    expected = {
        "kind": row.kind,
        "packet": row.packet_id,
        "delivery": row.delivery_id,
        "at": statement_time(row.at),
    }
    for key, value in expected.items():
        if fields.get(key) != value:
            return f"its {key} column says {value!r}, its statement {fields.get(key)!r}"
    if row.record_hash != sha256(row.statement):
        return "it was changed after it was written (its statement does not hash to its hash)"
    return None


def describe(row: EvidenceRecord) -> str:
    """A record for people: place, id, kind, packet and delivery."""
    place = f"record seq {row.seq}" if row.seq is not None else "unsealed record"
    copy = f", delivery {row.delivery_id}" if row.delivery_id else ""
    return f"{place} (id {row.id}: {row.kind} of packet {row.packet_id}{copy})"


def _broken(
    row: EvidenceRecord, problem: str, sealed: int, checkpoints: int, head: str
) -> ChainReport:
    return ChainReport(False, sealed, 0, checkpoints, head, describe(row), problem, row.id)


def _checkpoint_broken(
    row: EvidenceCheckpoint, problem: str, sealed: int, checkpoints: int, head: str
) -> ChainReport:
    where = f"checkpoint {row.number} (records {row.first_seq}-{row.last_seq})"
    return ChainReport(False, sealed, 0, checkpoints, head, where, f"{where}: {problem}")


def _checkpoint_problem(
    row: EvidenceCheckpoint,
    prev_hash: str,
    chain_hash: str,
    known: dict[str, x509.Certificate],
) -> str | None:
    statement = checkpoint_statement(
        number=row.number,
        at=row.at,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        head_hash=row.head_hash,
        prev_hash=row.prev_hash,
        certificate_sha256=row.certificate_sha256,
    )
    if statement != row.statement:
        return "its columns do not say what its signed statement says"
    if row.hash != sha256(row.statement):
        return "its hash is not the hash of its statement"
    if row.prev_hash != prev_hash:
        return "it does not link to the checkpoint before it"
    certificate = known.get(row.certificate_sha256)
    if certificate is None:
        return (
            f"it was signed with the key of certificate {row.certificate_sha256}, which was "
            "not given: pass it with --cert to check this signature"
        )
    if not signature_holds(certificate, row.statement.encode("utf-8"), row.signature):
        return "its signature does not verify"
    if row.head_hash != chain_hash:
        return (
            "the chain no longer ends where it signed: a record among these was rewritten "
            "and the hashes after it recomputed"
        )
    return None


def _rows(session: Session, *, sealed: bool) -> Iterator[EvidenceRecord]:
    column = EvidenceRecord.seq if sealed else EvidenceRecord.id
    condition = EvidenceRecord.seq.is_not(None) if sealed else EvidenceRecord.seq.is_(None)
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(EvidenceRecord)
                .where(condition, column > after)
                .order_by(column)
                .limit(_BATCH)
            )
        )
        if not rows:
            return
        yield from rows
        session.expunge_all()
        last = rows[-1]
        after = (last.seq or 0) if sealed else last.id


def _checkpoints(session: Session) -> Iterator[EvidenceCheckpoint]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(EvidenceCheckpoint)
                .where(EvidenceCheckpoint.number > after)
                .order_by(EvidenceCheckpoint.number)
                .limit(_BATCH)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].number
