"""Deliveries on their way to an agency that ended: sent on to its successor, or parked.

When a change takes effect, a delivery still waiting for its recipient (queued, retrying,
waiting in the inbox, parked or expired) is re-targeted to the single successor (a split's
``in_flight`` successor counts), keeping its delivery id; one waiting in an inbox whose
successor is reached otherwise goes back to the outbox. When the packet already has a
delivery to that successor (two of its recipients merged), it ends ``merged`` into it, so the
successor gets the packet once. Without a single successor, a delivery still under way is
parked with the successors named. Every move is recorded (:class:`DeliveryRedirect`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from edxml.compose import LOCAL_TZ
from hub.channels import Channel
from hub.db.models import Delivery, DeliveryRedirect, DeliveryState, OutboxMessage
from hub.directory.succession import Succession, follow
from hub.transport.wakeup import announce_outbox

__all__ = ["MOVABLE", "Retargeted", "retarget_deliveries", "successors_text"]

MOVABLE = (
    DeliveryState.QUEUED,
    DeliveryState.RETRYING,
    DeliveryState.AVAILABLE,
    DeliveryState.PARKED,
    DeliveryState.EXPIRED,
)
"""States of a delivery its recipient has not taken yet."""
_UNDER_WAY = (DeliveryState.QUEUED, DeliveryState.RETRYING, DeliveryState.AVAILABLE)
_IN_CHUNK = 500

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Retargeted:
    """What a change did to one delivery."""

    delivery_id: str
    packet_id: str
    from_code: str
    to_code: str | None
    """The successor it goes to (None: parked for want of a single successor)."""
    state_before: DeliveryState
    state_after: DeliveryState
    merged_into: str | None = None


def successors_text(succession: Succession) -> str:
    """Why a code leads nowhere single, in words an integrator can act on."""
    when = succession.ended_at.astimezone(LOCAL_TZ).date().isoformat()
    act = f" by {succession.change.act}" if succession.change is not None else ""
    if not succession.successors:
        return f"{succession.code} was dissolved on {when}{act} without a successor"
    return (
        f"{succession.code} no longer exists since {when}{act}; its successors are "
        f"{', '.join(succession.codes)}: address the one the document is for"
    )


def retarget_deliveries(
    session: Session,
    now: datetime,
    *,
    codes: Iterable[str] = (),
    delivery_ids: Sequence[str] = (),
) -> list[Retargeted]:
    """Move the deliveries to ``codes`` (or the ones named) whose recipient ended by ``now``."""
    rows = _movable(session, list(dict.fromkeys(codes)), list(delivery_ids))
    if not rows:
        return []
    successions = follow(session, {row.recipient_code for row in rows}, now)
    done: list[Retargeted] = []
    queued = False
    for row in rows:
        succession = successions.get(row.recipient_code)
        if succession is None:
            continue
        outcome = _move(session, row, succession, now)
        session.flush()
        if outcome is not None:
            requeued = outcome.state_before is DeliveryState.AVAILABLE and (
                outcome.state_after is DeliveryState.QUEUED
            )
            queued = queued or requeued
            done.append(outcome)
    session.flush()
    if queued:
        announce_outbox(session)
    for item in done:
        _log.info(
            "delivery.retargeted",
            delivery_id=item.delivery_id,
            packet_id=item.packet_id,
            recipient=item.from_code,
            successor=item.to_code,
            state=item.state_after.value,
            merged_into=item.merged_into,
        )
    return done


def _movable(session: Session, codes: list[str], delivery_ids: list[str]) -> list[Delivery]:
    found: dict[str, Delivery] = {}
    for column, values in ((Delivery.recipient_code, codes), (Delivery.id, delivery_ids)):
        for start in range(0, len(values), _IN_CHUNK):
            query = (
                select(Delivery)
                .where(column.in_(values[start : start + _IN_CHUNK]), Delivery.state.in_(MOVABLE))
                .order_by(Delivery.created_at, Delivery.id)
                .with_for_update()
            )
            for row in session.scalars(query):
                found[row.id] = row
    return sorted(found.values(), key=lambda row: (row.created_at, row.id))


def _move(
    session: Session, row: Delivery, succession: Succession, now: datetime
) -> Retargeted | None:
    before = row.state
    change_id = succession.change.id if succession.change is not None else None
    target = succession.in_flight or succession.single
    if target is None:
        if before not in _UNDER_WAY:
            return None
        row.state = DeliveryState.PARKED
        row.last_error = f"[directory.no-single-successor] {successors_text(succession)}"
        row.updated_at = now
        session.add(
            DeliveryRedirect(
                delivery_id=row.id,
                from_code=row.recipient_code,
                to_code=None,
                change_id=change_id,
                stage="in-flight",
                at=now,
            )
        )
        return Retargeted(row.id, row.packet_id, row.recipient_code, None, before, row.state)
    sibling = session.scalar(
        select(Delivery.id).where(
            Delivery.packet_id == row.packet_id, Delivery.recipient_code == target.code
        )
    )
    origin = row.recipient_code
    if sibling is not None:
        row.state = DeliveryState.MERGED
        row.last_error = (
            f"[directory.merged] {origin} and another recipient of the packet are now "
            f"{target.code}: delivery {sibling} carries it there"
        )
        row.updated_at = now
        session.add(
            DeliveryRedirect(
                delivery_id=row.id,
                from_code=origin,
                to_code=target.code,
                change_id=change_id,
                stage="in-flight",
                merged_into=sibling,
                at=now,
            )
        )
        return Retargeted(row.id, row.packet_id, origin, target.code, before, row.state, sibling)
    row.recipient_code = target.code
    row.channel = target.channel
    row.updated_at = now
    if before is DeliveryState.AVAILABLE and target.channel is not Channel.INBOX:
        row.state = DeliveryState.QUEUED
        session.add(OutboxMessage(delivery_id=row.id, reason="redirect", created_at=now))
    session.add(
        DeliveryRedirect(
            delivery_id=row.id,
            from_code=origin,
            to_code=target.code,
            change_id=change_id,
            stage="in-flight",
            at=now,
        )
    )
    return Retargeted(row.id, row.packet_id, origin, target.code, before, row.state)
