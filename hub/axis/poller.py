"""Inbound from the national axis: two polling loops, for document and for status packets.

The axis never pushes (DOMAIN.md §7). Each round of a loop lists what the upstream holds for
the city (``getReceivedEdocList``), and for each item downloads it (``getEdoc``), hands the
bytes to ingest like any packet (:meth:`hub.ingest.service.IngestService.accept` with
``source="axis"``: the axis is trusted for senders outside the city, and only the city's
agencies among the recipients get deliveries), and only once the ingest transaction has
committed acknowledges it ``done`` (``updateStatus``).

Nothing is lost or doubled by a crash: an item is acknowledged only after its packet is
stored, so an item whose acknowledgement never left is listed again; ingest answers identical
bytes with the packet already accepted, and that item is then acknowledged ``done`` without a
second packet. A download, database or acknowledgement failure leaves the item for the next
round.

A packet ingest refuses for what it is (unreadable, not edXML, invalid, too large, a sender of
this city, no recipient in this city, a different document under a DocumentId already used)
is acknowledged ``fail``: the axis tells its sender. Its bytes are kept in the payload store
and an audit entry (action ``axis.packet-rejected``, subject ``<upstream>/<docId>``) records
the blob key, the size, the axis's sender and the error, once per item, for operators.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.axis.errors import AxisError
from hub.axis.link import record_poll
from hub.axis.models import MESSAGE_TYPES, AckStatus, MessageType, ReceivedItem
from hub.axis.upstream import Upstream
from hub.db.models import AGENCY_CODE_LENGTH, AuditEntry
from hub.errors import (
    ConflictError,
    ForbiddenError,
    HubError,
    RejectedPacketError,
    StorageError,
)
from hub.ingest.service import IngestService
from hub.payloads import BlobStore, BlobStoreError
from hub.records import audit

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["REJECT_ACTION", "AxisPoller", "PollReport"]

REJECT_ACTION = "axis.packet-rejected"
"""The audit action recording a packet from the axis that ingest refused."""


_log = structlog.get_logger(__name__)

_Verdict = Literal["accepted", "repeated", "rejected", "left"]
_SUBJECT_LENGTH = 255
_REFUSED = (RejectedPacketError, ForbiddenError, ConflictError)
"""What ingest refuses for what the packet is: acknowledged ``fail``."""


@dataclass
class PollReport:
    """What one round of one loop did."""

    kind: MessageType
    listed: int = 0
    accepted: int = 0
    """New packets ingested and acknowledged ``done``."""
    repeated: int = 0
    """Items already ingested (their acknowledgement was lost), acknowledged ``done``."""
    rejected: int = 0
    """Packets ingest refused, kept for operators and acknowledged ``fail``."""
    left: int = 0
    """Items left for the next round (download, storage or acknowledgement failed)."""
    error: str | None = None
    """Why the list could not be read, if it could not."""
    doc_ids: dict[str, str] = field(default_factory=dict)
    """What became of each item listed: its docId → accepted, repeated, rejected or left."""

    def count(self, doc_id: str, verdict: _Verdict) -> None:
        self.doc_ids[doc_id] = verdict
        setattr(self, verdict, getattr(self, verdict) + 1)


class AxisPoller:
    """The receive loops of one upstream account; :meth:`poll` is one round of one loop."""

    def __init__(
        self,
        upstream: Upstream,
        ingest: IngestService,
        database: Database,
        blobs: BlobStore,
        *,
        periods: Mapping[MessageType, float],
    ) -> None:
        self._upstream = upstream
        self._ingest = ingest
        self._database = database
        self._blobs = blobs
        self._periods = dict(periods)
        self._submitter = AuthenticatedAgency(
            code=upstream.name[:AGENCY_CODE_LENGTH], name="national axis"
        )

    @property
    def submitter(self) -> str:
        """What packets from the axis record as ``submitted_by``: the upstream's name."""
        return self._submitter.code

    def poll(self, kind: MessageType) -> PollReport:
        """One round: list, then download, ingest and acknowledge each item in turn; the
        round's figures are kept for the console's Peers page."""
        report = self._poll(kind)
        try:
            record_poll(self._database, self._upstream.name, report)
        except StorageError as exc:
            _log.warning("axis.poll_not_recorded", message_type=kind, error=str(exc))
        return report

    def _poll(self, kind: MessageType) -> PollReport:
        report = PollReport(kind)
        try:
            items = self._upstream.list_received(kind)
        except AxisError as exc:
            report.error = str(exc)
            _log.warning(
                "axis.list_failed",
                message_type=kind,
                upstream=self._upstream.name,
                error=exc.code,
                error_code=exc.error_code,
                http_status=exc.http_status,
            )
            return report
        report.listed = len(items)
        for item in items:
            report.count(item.doc_id, self._receive(item, kind))
        if items:
            _log.info(
                "axis.polled",
                message_type=kind,
                upstream=self._upstream.name,
                listed=report.listed,
                accepted=report.accepted,
                repeated=report.repeated,
                rejected=report.rejected,
                left=report.left,
            )
        return report

    def run(self, stop: threading.Event, kinds: tuple[MessageType, ...] = MESSAGE_TYPES) -> None:
        """Poll each kind on its own thread and period until ``stop`` is set.

        Raises:
            Exception: a loop died of an unexpected error (the others are stopped first).
        """
        failures: list[BaseException] = []

        def loop(kind: MessageType) -> None:
            try:
                while not stop.is_set():
                    self.poll(kind)
                    stop.wait(self._periods[kind])
            except BaseException as exc:
                failures.append(exc)
                _log.exception("axis.poller_failed", message_type=kind)
                stop.set()

        threads = [
            threading.Thread(target=loop, args=(kind,), name=f"axis-poll-{kind}", daemon=True)
            for kind in kinds
        ]
        _log.info(
            "axis.poller_started",
            upstream=self._upstream.name,
            periods={kind: self._periods[kind] for kind in kinds},
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _log.info("axis.poller_stopped", upstream=self._upstream.name)
        if failures:
            raise failures[0]

    # -- one item ------------------------------------------------------------------------

    def _receive(self, item: ReceivedItem, kind: MessageType) -> _Verdict:
        log = _log.bind(
            axis_doc_id=item.doc_id,
            message_type=kind,
            upstream=self._upstream.name,
            axis_sender=item.sender,
        )
        try:
            data = self._upstream.fetch(item.doc_id)
        except AxisError as exc:
            log.warning("axis.fetch_failed", **_facts(exc))
            return "left"
        outcome: AckStatus
        verdict: _Verdict
        try:
            result = self._ingest.accept(data, self._submitter, source="axis")
        except _REFUSED as exc:
            try:
                blob = self._keep_rejected(item, kind, data, exc)
            except StorageError as failure:
                log.error("axis.reject_not_kept", error=str(failure), code=exc.code)
                return "left"
            log = log.bind(blob=blob, error=exc.code, reason=exc.message)
            outcome, verdict = "fail", "rejected"
        except HubError as exc:
            log.error("axis.ingest_failed", error=exc.code, reason=exc.message)
            return "left"
        else:
            log = log.bind(
                packet_id=result.packet_id,
                delivery_ids=[delivery.delivery_id for delivery in result.deliveries],
            )
            outcome, verdict = "done", "accepted" if result.created else "repeated"
        try:
            self._upstream.acknowledge(item.doc_id, outcome)
        except AxisError as exc:
            log.warning("axis.ack_failed", outcome=outcome, **_facts(exc))
            return "left"
        (log.warning if verdict == "rejected" else log.info)(
            "axis.received", outcome=outcome, result=verdict
        )
        return verdict

    def _keep_rejected(
        self, item: ReceivedItem, kind: MessageType, data: bytes, error: HubError
    ) -> str:
        """Store the refused bytes and audit them once per item; the blob key.

        Raises:
            StorageError: the payload store or the database failed.
        """
        try:
            key = self._blobs.put(data)
        except BlobStoreError as exc:
            raise StorageError(f"the payload store failed: {exc}") from exc
        subject = f"{self._upstream.name}/{item.doc_id}"[:_SUBJECT_LENGTH]
        with self._database.transaction() as session:
            known = session.scalars(
                select(AuditEntry.id)
                .where(AuditEntry.action == REJECT_ACTION, AuditEntry.subject == subject)
                .limit(1)
            ).first()
            if known is None:
                audit.append(
                    session,
                    actor=f"upstream:{self._upstream.name}",
                    action=REJECT_ACTION,
                    subject=subject,
                    reason=error.message,
                    details={
                        "doc_id": item.doc_id,
                        "message_type": kind,
                        "sender": item.sender,
                        "recipients": list(item.recipients),
                        "blob": key,
                        "size": len(data),
                        "error": {
                            "code": error.code,
                            "element": getattr(error, "element", None),
                            "line": getattr(error, "line", None),
                        },
                    },
                )
        return key


def _facts(error: AxisError) -> dict[str, Any]:
    return {
        "error": error.code,
        "error_code": error.error_code,
        "http_status": error.http_status,
        "reason": error.message,
    }
