"""The worker's two database steps: load the delivery a message names, record the attempt.

Plain statements (no ORM bookkeeping) for the writes every delivery makes; the write is
guarded so that only the attempt the delivery is waiting for can settle it, and the evidence
of what it came to (delivered, made available, relayed, parked, expired) goes with it. A
delivery whose recipient a directory change ended is first sent on to its successor (or
parked), so no attempt reaches an agency that no longer exists (:mod:`hub.directory.retarget`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CTE, Connection, Select, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from hub.channels.base import DeliveryJob
from hub.db.base import Base, utcnow
from hub.db.models import Agency, Delivery, DeliveryAttempt, DeliveryState, EvidenceRecord, Packet
from hub.directory.retarget import retarget_deliveries
from hub.evidence.facts import SETTLEMENT_COLUMNS, Copy, settlement_row, write_record
from hub.transport.messages import DeliveryMessage, Round
from hub.transport.worker.outcome import Plan, Result, Settlement, Skip

__all__ = ["ACTIVE", "WriteNeeded", "load_job", "read_job", "record_attempt"]

ACTIVE = (DeliveryState.QUEUED, DeliveryState.RETRYING)
"""The states in which a delivery waits for an attempt."""

_DELIVERIES = Delivery.metadata.tables[Delivery.__tablename__]
_INSERT_ATTEMPT = insert(DeliveryAttempt.metadata.tables[DeliveryAttempt.__tablename__])

# Built once and run on the session's connection: building a statement per call, and running
# it through the ORM session, cost more than the database's work on these two steps.
_LOAD_JOB = (
    select(
        Delivery.packet_id,
        Delivery.recipient_code,
        Delivery.channel,
        Delivery.state,
        Delivery.attempts,
        Packet.sha256,
        Packet.kind,
        Agency.channel_settings,
        Agency.valid_until,
    )
    .join(Packet, Packet.id == Delivery.packet_id)
    .outerjoin(Agency, Agency.code == Delivery.recipient_code)
    .where(Delivery.id == bindparam("delivery_id"))
)
_SETTLE = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id == bindparam("delivery_id"),
        _DELIVERIES.c.attempts == bindparam("attempts_before"),
        _DELIVERIES.c.state.in_(ACTIVE),
    )
    .values(
        state=bindparam("state"),
        attempts=bindparam("attempts"),
        last_error=bindparam("last_error"),
        next_attempt_at=bindparam("next_attempt_at"),
        updated_at=bindparam("updated_at"),
    )
)
_SETTLE_DELIVERED = _SETTLE.values(delivered_at=bindparam("delivered_at"))


@dataclass(frozen=True)
class WriteNeeded:
    """:func:`read_job` met a delivery whose recipient a directory change ended: it must be
    retargeted first, which :func:`load_job` does in a transaction."""


def read_job(
    connection: Connection, order: DeliveryMessage, round_: Round
) -> Plan | Skip | WriteNeeded:
    """The job of the delivery ``order`` names, or why its message is not attempted; one
    read, nothing written (the connection may be outside a transaction)."""
    return _job(connection, None, order, round_)


def load_job(session: Session, order: DeliveryMessage, round_: Round) -> Plan | Skip:
    """As :func:`read_job`, a delivery to an ended recipient retargeted first (see
    :mod:`hub.directory.retarget`); the session must be a transaction."""
    job = _job(session.connection(), session, order, round_)
    assert not isinstance(job, WriteNeeded)  # with a session it retargets instead
    return job


def _job(
    connection: Connection, session: Session | None, order: DeliveryMessage, round_: Round
) -> Plan | Skip | WriteNeeded:
    """The job, with ``session`` (a transaction) to retarget the delivery if needed."""
    found = connection.execute(_LOAD_JOB, {"delivery_id": order.delivery_id}).first()
    if found is None:
        return Skip(f"delivery {order.delivery_id} is unknown to this database", park=True)
    packet_id, recipient, channel, state, attempts, sha256, kind, channel_settings, ended = found
    if state not in ACTIVE:
        return Skip(f"delivery is {state.value}")
    now = utcnow()
    if ended is not None and ended <= now:
        if session is None:
            return WriteNeeded()
        retarget_deliveries(session, now, delivery_ids=(order.delivery_id,))
        # Read again: the delivery now names its successor (or was parked).
        return _job(connection, None, order, round_)
    if attempts != round_.attempt - 1:
        return Skip(f"message is for attempt {round_.attempt}, {attempts} made")
    return Plan(
        DeliveryJob(
            delivery_id=order.delivery_id,
            packet_id=packet_id,
            recipient=recipient,
            channel=channel,
            blob=sha256,
            kind=kind,
            attempt=round_.attempt,
            settings=dict(channel_settings or {}),
        )
    )


def record_attempt(
    connection: Connection, job: DeliveryJob, result: Result, settlement: Settlement, worker: str
) -> bool:
    """Move the delivery to its settlement and add the attempt row, with the evidence of what
    it came to; False when another attempt got there first (the delivery is no longer where
    :func:`load_job` found it).

    On PostgreSQL it is one statement, atomic by itself, so ``connection`` may be outside a
    transaction (:meth:`Database.autocommit`): one round trip instead of five. Elsewhere
    ``connection`` must be in a transaction.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "delivery_id": job.delivery_id,
        "attempts_before": job.attempt - 1,
        "state": settlement.state,
        "attempts": job.attempt,
        "last_error": settlement.last_error,
        "next_attempt_at": settlement.next_attempt_at,
        "updated_at": now,
    }
    delivered = settlement.delivered_at is not None
    if delivered:
        values["delivered_at"] = settlement.delivered_at
    error = result.error
    attempt = {
        "delivery_id": job.delivery_id,
        "number": job.attempt,
        "started_at": result.started_at,
        "finished_at": now,
        "outcome": result.outcome,
        "error": None if error is None else f"[{error.code}] {error.message}",
        "http_status": result.http_status,
        "peer_code": result.peer_code,
        "worker": worker,
    }
    evidence = settlement_row(
        Copy(job.packet_id, job.delivery_id, job.recipient, job.channel, job.blob),
        settlement.state,
        at=now,
        attempt=job.attempt,
        http_status=result.http_status,
        peer_ref=result.handover.external_ref if result.handover is not None else None,
        error=settlement.last_error,
    )
    if connection.dialect.name == "postgresql":
        statement = _SETTLE_AT_ONCE[delivered, evidence is not None]
        parameters = {
            **values,
            **{f"delivery_attempts_{key}": value for key, value in attempt.items()},
            **{f"evidence_records_{key}": value for key, value in (evidence or {}).items()},
        }
        settled: int = connection.execute(statement, parameters).scalar_one()
        return settled == 1
    changed = connection.execute(_SETTLE_DELIVERED if delivered else _SETTLE, values)
    if changed.rowcount != 1:
        return False
    connection.execute(_INSERT_ATTEMPT, attempt)
    if evidence is not None:
        write_record(connection, evidence)
    return True


def _settle_at_once(settle: Update, *, evidence: bool) -> Select[Any]:
    """The guarded update, the attempt row and (``evidence``) the evidence record in one
    statement: the inserts select their one row from the update's, so they happen only if it
    matched, and the statement answers 1 or 0 rows settled."""
    settled = settle.returning(_DELIVERIES.c.id).cte("settled")
    statement = select(func.count()).select_from(settled)
    statement = statement.add_cte(_insert_from(settled, DeliveryAttempt, _ATTEMPT_COLUMNS))
    if evidence:
        statement = statement.add_cte(_insert_from(settled, EvidenceRecord, SETTLEMENT_COLUMNS))
    return statement


def _insert_from(settled: CTE, model: type[Base], columns: Sequence[str]) -> CTE:
    """An insert of one row of ``model`` (parameters ``<table>_<column>``) for each row of
    ``settled``, as a CTE of its own."""
    table = model.metadata.tables[model.__tablename__]
    values = (bindparam(f"{table.name}_{name}", type_=table.c[name].type) for name in columns)
    insert_ = insert(table).from_select(list(columns), select(*values).select_from(settled))
    return insert_.cte(f"{table.name}_written")


_ATTEMPT_COLUMNS = (
    "delivery_id",
    "number",
    "started_at",
    "finished_at",
    "outcome",
    "error",
    "http_status",
    "peer_code",
    "worker",
)
_SETTLE_AT_ONCE = {
    (delivered, evidence): _settle_at_once(
        _SETTLE_DELIVERED if delivered else _SETTLE, evidence=evidence
    )
    for delivered in (False, True)
    for evidence in (False, True)
}
