"""Checkpoints: the evidence records written since the last one are chained and signed.

A checkpoint takes the records no checkpoint has sealed yet, in the order they were written
(``id``), gives each the next place in the chain (``seq``), the hash of the record before it
and its chain hash (:func:`hub.records.chain.link`), then signs a statement of the new head:
its number, the range of places it seals, the head hash and the previous checkpoint's hash.
All of it in one transaction, under a lock only checkpoints take, so the chain has one
order whatever the number of processes writing records, and writers never wait for it.

A record committed late (its transaction began before a checkpoint and ended after it) is
simply sealed by the next one: places are given at sealing, so a chain has no gaps to wait
for. Between two checkpoints the newest records carry their own hash but no place yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import EvidenceCheckpoint, EvidenceRecord
from hub.evidence.facts import statement_time
from hub.evidence.signing import HubSigner
from hub.records.chain import GENESIS_HASH, canonical_json, link, sha256

__all__ = [
    "MAX_RECORDS",
    "CheckpointMade",
    "checkpoint_statement",
    "latest_checkpoint",
    "seal",
    "seal_all",
]

MAX_RECORDS = 5000
"""Records one checkpoint seals at most; a longer backlog takes several."""

_RECORDS = EvidenceRecord.metadata.tables[EvidenceRecord.__tablename__]
_SEAL = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("record_id"), _RECORDS.c.seq.is_(None))
    .values(
        seq=bindparam("new_seq"),
        prev_hash=bindparam("new_prev"),
        chain_hash=bindparam("new_chain"),
    )
)


@dataclass(frozen=True)
class CheckpointMade:
    """A checkpoint just signed."""

    number: int
    at: datetime
    first_seq: int
    last_seq: int
    head_hash: str


def checkpoint_statement(
    *,
    number: int,
    at: datetime,
    first_seq: int,
    last_seq: int,
    head_hash: str,
    prev_hash: str,
    certificate_sha256: str,
) -> str:
    """The canonical JSON a checkpoint signs."""
    return canonical_json(
        {
            "v": 1,
            "checkpoint": number,
            "at": statement_time(at),
            "first_seq": first_seq,
            "last_seq": last_seq,
            "head_hash": head_hash,
            "prev_checkpoint": prev_hash,
            "certificate_sha256": certificate_sha256,
        }
    )


def latest_checkpoint(session: Session) -> EvidenceCheckpoint | None:
    """The newest checkpoint, if any."""
    return session.scalars(
        select(EvidenceCheckpoint).order_by(EvidenceCheckpoint.number.desc()).limit(1)
    ).first()


def seal(
    session: Session,
    signer: HubSigner,
    *,
    now: datetime | None = None,
    limit: int = MAX_RECORDS,
) -> CheckpointMade | None:
    """Chain up to ``limit`` unsealed records and sign a checkpoint of the new head, in the
    caller's transaction; None when every record is sealed already."""
    _lock(session)
    rows = session.execute(
        select(_RECORDS.c.id, _RECORDS.c.record_hash)
        .where(_RECORDS.c.seq.is_(None))
        .order_by(_RECORDS.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return None
    last = latest_checkpoint(session)
    position = last.last_seq if last is not None else 0
    head = last.head_hash if last is not None else GENESIS_HASH
    first_seq = position + 1
    updates = []
    for record_id, record_hash in rows:
        position += 1
        chained = link(position, head, record_hash)
        updates.append(
            {"record_id": record_id, "new_seq": position, "new_prev": head, "new_chain": chained}
        )
        head = chained
    session.connection().execute(_SEAL, updates)
    moment = now or utcnow()
    number = last.number + 1 if last is not None else 1
    prev_hash = last.hash if last is not None else GENESIS_HASH
    statement = checkpoint_statement(
        number=number,
        at=moment,
        first_seq=first_seq,
        last_seq=position,
        head_hash=head,
        prev_hash=prev_hash,
        certificate_sha256=signer.fingerprint,
    )
    session.add(
        EvidenceCheckpoint(
            number=number,
            at=moment,
            first_seq=first_seq,
            last_seq=position,
            head_hash=head,
            prev_hash=prev_hash,
            statement=statement,
            hash=sha256(statement),
            signature=signer.sign(statement.encode("utf-8")),
            certificate_sha256=signer.fingerprint,
        )
    )
    session.flush()
    return CheckpointMade(number, moment, first_seq, position, head)


def seal_all(
    session: Session, signer: HubSigner, *, now: datetime | None = None
) -> list[CheckpointMade]:
    """Seal every record written so far, :data:`MAX_RECORDS` a checkpoint."""
    made: list[CheckpointMade] = []
    while (checkpoint := seal(session, signer, now=now)) is not None:
        made.append(checkpoint)
    return made


def unsealed(session: Session, packet_ids: list[str]) -> bool:
    """Whether any record of these packets waits for a checkpoint."""
    return bool(
        session.scalar(
            select(exists().where(_RECORDS.c.packet_id.in_(packet_ids), _RECORDS.c.seq.is_(None)))
        )
    )


def unsealed_count(session: Session) -> int:
    """Records waiting for a checkpoint."""
    return int(
        session.scalar(select(func.count()).select_from(_RECORDS).where(_RECORDS.c.seq.is_(None)))
        or 0
    )


def _lock(session: Session) -> None:
    """Hold the checkpoints until the transaction ends: one sealer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE evidence_checkpoints IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.execute(text("UPDATE evidence_checkpoints SET number = number WHERE 0 = 1"))
