"""Replay: put parked or expired deliveries back on their way, audited.

An operator selects deliveries by state, recipient, time and ids and sees the dry run; the
real run sends each back to ``queued`` with the same delivery id (receivers deduplicate on
it), keeps its attempt count and last error, writes a new outbox row (reason ``replay``) and
one audit entry naming every delivery with what it was before, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, OutboxMessage, Packet
from hub.errors import InvalidRequestError
from hub.evidence.facts import Copy, record_requeue
from hub.records import audit
from hub.transport.wakeup import announce_outbox

__all__ = ["MAX_REPLAY", "ReplayFilter", "ReplayItem", "ReplayReport", "replay"]

MAX_REPLAY = 10_000
"""Most deliveries one replay touches; a larger backlog is replayed in several runs."""

ReplayableState = Literal["parked", "expired"]

_log = structlog.get_logger(__name__)


class ReplayFilter(BaseModel):
    """Which deliveries to replay: all conditions given must hold."""

    model_config = ConfigDict(frozen=True)

    state: ReplayableState
    recipient: str | None = None
    since: datetime | None = None
    """Only deliveries that reached the state at or after this time (UTC when no zone)."""
    delivery_ids: tuple[str, ...] = ()
    limit: int = Field(default=MAX_REPLAY, ge=1, le=MAX_REPLAY)

    @field_validator("since")
    @classmethod
    def _utc_when_naive(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ReplayItem(BaseModel):
    """A delivery selected for replay, as it was before."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    packet_id: str
    recipient: str
    channel: Channel
    state: DeliveryState
    attempts: int
    last_error: str | None
    since: datetime
    """When it reached its state."""


class ReplayReport(BaseModel):
    """What a replay did, or would do."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    deliveries: list[ReplayItem]
    audit_entry_id: int | None


def replay(
    session: Session,
    selection: ReplayFilter,
    *,
    actor: str,
    reason: str,
    dry_run: bool = False,
) -> ReplayReport:
    """Replay (or, with ``dry_run``, list) the deliveries ``selection`` picks.

    Raises:
        InvalidRequestError: a real replay without a reason.
    """
    if not dry_run and not reason.strip():
        raise InvalidRequestError(
            "a replay needs a reason; it is kept in the audit log", code="replay.reason-required"
        )
    if not dry_run:
        audit.lock_chain(session)
    rows = _select(session, selection, lock=not dry_run)
    items = [
        ReplayItem(
            delivery_id=row.id,
            packet_id=row.packet_id,
            recipient=row.recipient_code,
            channel=row.channel,
            state=row.state,
            attempts=row.attempts,
            last_error=row.last_error,
            since=row.updated_at,
        )
        for row in rows
    ]
    if dry_run or not rows:
        return ReplayReport(dry_run=dry_run, deliveries=items, audit_entry_id=None)
    now = utcnow()
    for row in rows:
        row.state = DeliveryState.QUEUED
        row.next_attempt_at = None
        row.updated_at = now
        session.add(OutboxMessage(delivery_id=row.id, reason="replay", created_at=now))
    entry = audit.append(
        session,
        actor=actor,
        action="deliveries.replayed",
        subject=f"{len(items)} {selection.state} deliveries",
        reason=reason,
        details={
            "filter": selection.model_dump(mode="json"),
            "deliveries": [item.model_dump(mode="json") for item in items],
        },
        at=now,
    )
    packets = select(Packet.id, Packet.sha256).where(
        Packet.id.in_([item.packet_id for item in items])
    )
    digests: dict[str, str] = {row.id: row.sha256 for row in session.execute(packets)}
    record_requeue(
        session.connection(),
        [
            Copy(
                item.packet_id,
                item.delivery_id,
                item.recipient,
                item.channel,
                digests[item.packet_id],
            )
            for item in items
        ],
        at=now,
        actor=actor,
        reason=reason,
        audit_entry=entry.id,
    )
    session.flush()
    announce_outbox(session)
    _log.info(
        "deliveries.replayed",
        actor=actor,
        count=len(items),
        delivery_ids=[item.delivery_id for item in items],
        audit_entry=entry.id,
    )
    return ReplayReport(dry_run=False, deliveries=items, audit_entry_id=entry.id)


def _select(session: Session, selection: ReplayFilter, *, lock: bool) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .where(Delivery.state == DeliveryState(selection.state))
        .order_by(Delivery.updated_at, Delivery.id)
        .limit(selection.limit)
    )
    if selection.recipient is not None:
        query = query.where(Delivery.recipient_code == selection.recipient)
    if selection.since is not None:
        query = query.where(Delivery.updated_at >= selection.since)
    if selection.delivery_ids:
        query = query.where(Delivery.id.in_(list(selection.delivery_ids)))
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))
