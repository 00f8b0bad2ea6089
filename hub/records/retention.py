"""Retention: removing packet bytes the hub no longer needs, never anything in flight.

Two sweeps, both with a dry run:

- **Payloads of finished packets**: a packet received more than ``older_than`` ago whose every
  delivery is finished for good (``delivered`` or ``refused``) has its bytes deleted from the
  payload store; its record, deliveries, attempts, statuses, its evidence (which keeps the
  SHA-256, never the bytes) and the audit log stay, ``payload_purged_at`` says when, and an
  evidence record ``payload-purged`` vouches for it. A packet with any delivery queued,
  retrying, waiting in an inbox, parked or expired is kept: parked and expired ones may still
  be replayed. The packets are marked in the caller's transaction and their bytes deleted
  after it commits (:func:`delete_purged`), so a failed transaction never leaves a packet
  without its bytes.
- **Orphans**: bytes no packet refers to (stored by an ingest that was then refused or failed,
  or left behind by a purge interrupted after its commit) are deleted once older than
  ``orphan_grace``, so an ingest still between storing its bytes
  and committing its transaction is never touched.

Each real purge is written to the audit log (who, why, how many).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, Packet
from hub.errors import StorageError
from hub.evidence.facts import record_purge
from hub.payloads import BlobStore, BlobStoreError
from hub.records import audit

__all__ = ["PurgeReport", "delete_purged", "purge_payloads", "sweep_orphans"]

FINISHED = (DeliveryState.DELIVERED, DeliveryState.REFUSED, DeliveryState.MERGED)
"""Delivery states after which a packet's bytes are no longer needed (a merged delivery's
packet is carried by another delivery)."""
_BATCH = 500
_log = structlog.get_logger(__name__)


class PurgeReport(BaseModel):
    """What a sweep removed, or would remove."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    packets: int = 0
    orphans: int = 0
    bytes: int = 0
    packet_ids: list[str] = []
    keys: list[str] = []
    """Blob keys to delete once the purge's transaction has committed."""
    audit_entry_id: int | None = None


def purge_payloads(
    session: Session,
    blobs: BlobStore,
    *,
    older_than: timedelta,
    actor: str,
    reason: str,
    dry_run: bool = False,
    now: datetime | None = None,
    limit: int = 10_000,
) -> PurgeReport:
    """Delete the bytes of finished packets older than ``older_than`` (see the module).

    Raises:
        StorageError: the payload store failed (what was purged before stays recorded).
    """
    moment = now or utcnow()
    unfinished = exists().where(Delivery.packet_id == Packet.id, Delivery.state.not_in(FINISHED))
    query = (
        select(Packet.id, Packet.sha256, Packet.size)
        .where(
            Packet.payload_purged_at.is_(None),
            Packet.received_at < moment - older_than,
            ~unfinished,
        )
        .order_by(Packet.received_at)
        .limit(limit)
    )
    rows: Sequence[tuple[str, str, int]] = [
        (packet_id, sha256, size) for packet_id, sha256, size in session.execute(query)
    ]
    report = PurgeReport(
        dry_run=dry_run,
        packets=len(rows),
        bytes=sum(size for _, _, size in rows),
        packet_ids=[packet_id for packet_id, _, _ in rows],
    )
    if dry_run or not rows:
        return report
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        session.execute(
            update(Packet)
            .where(Packet.id.in_([packet_id for packet_id, _, _ in batch]))
            .values(payload_purged_at=moment)
            .execution_options(synchronize_session=False)
        )
    entry = audit.append(
        session,
        actor=actor,
        action="payloads.purged",
        subject=f"{len(rows)} packets received before {(moment - older_than).isoformat()}",
        reason=reason,
        details={"packets": len(rows), "bytes": report.bytes, "older_than_days": older_than.days},
        at=moment,
    )
    record_purge(
        session.connection(),
        [(packet_id, sha256) for packet_id, sha256, _ in rows],
        at=moment,
        actor=actor,
        audit_entry=entry.id,
    )
    _log.info("payloads.purged", packets=len(rows), bytes=report.bytes, audit_entry=entry.id)
    return report.model_copy(
        update={"audit_entry_id": entry.id, "keys": [sha256 for _, sha256, _ in rows]}
    )


def delete_purged(blobs: BlobStore, report: PurgeReport) -> None:
    """Delete the bytes of the packets a committed :func:`purge_payloads` marked.

    Called after the commit: if it fails part way, the packets are marked and their bytes
    left behind, which the next :func:`sweep_orphans` removes (it treats purged packets'
    bytes as unreferenced).

    Raises:
        StorageError: the payload store failed.
    """
    for key in report.keys:
        try:
            blobs.delete(key)
        except BlobStoreError as exc:
            raise StorageError(f"the payload store failed: {exc}") from exc


def sweep_orphans(
    session: Session,
    blobs: BlobStore,
    *,
    orphan_grace: timedelta = timedelta(hours=1),
    dry_run: bool = False,
    clock: float | None = None,
) -> PurgeReport:
    """Delete stored bytes no packet refers to, written more than ``orphan_grace`` ago.

    Raises:
        StorageError: the payload store could not be listed or a blob not deleted.
    """
    deadline = (clock if clock is not None else time.time()) - orphan_grace.total_seconds()
    try:
        candidates = [key for key, written in blobs.stored() if written < deadline]
    except BlobStoreError as exc:
        raise StorageError(f"the payload store failed: {exc}") from exc
    orphans: list[str] = []
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        known = set(
            session.scalars(
                select(Packet.sha256).where(
                    Packet.sha256.in_(batch), Packet.payload_purged_at.is_(None)
                )
            )
        )
        orphans += [key for key in batch if key not in known]
    if not dry_run:
        for key in orphans:
            try:
                blobs.delete(key)
            except BlobStoreError as exc:
                raise StorageError(f"the payload store failed: {exc}") from exc
        if orphans:
            _log.info("payloads.orphans_deleted", count=len(orphans))
    return PurgeReport(dry_run=dry_run, orphans=len(orphans))
