"""Ingest: the one way a packet enters the hub, whichever door it came through.

Steps, in order: size limit; one safe read that schema-checks the packet and verifies its
signature (outcome recorded, never fatal) and inspects its PDF attachments' signatures; the
raw bytes are stored once in the blob store under their SHA-256; then **one transaction**:
identical bytes already accepted are answered as before (once the caller is known to be
allowed to send them), authorisation (``From`` must be the caller or an agency it may send
for; so must a document's DocumentId issuer; a status about a document the hub carries must
come from a party to it, to a party), every recipient routed through the directory, and the
packet, a delivery and an outbox row per recipient, the receipts bookkeeping and the evidence
of submission written. A different new document with an accepted sender and DocumentId is a
conflict, found by the packets table's unique key.

The blob is written before that transaction, so the transaction never waits on the disk: when
the packet is refused or the transaction fails, the blob stays as an orphan, which is harmless
(content-addressed, the same bytes posted again reuse it) and can be swept by retention.

Packets the national axis holds for the city come in with ``source="axis"``, submitted by the
hub's axis poller on behalf of senders outside the city; packets posted by a peer lienthong
hub (an agency on the ``hub`` channel) come in with ``source="hub"``. Both are trusted for
senders outside the city only: ``From`` must not be one of the city's own agencies (an agency
whose channel is not ``axis`` or ``hub``). Only the city's agencies among the recipients get
deliveries (the axis or the peer serves the others); a packet naming none of them is refused
with ``packet.no-local-recipient``.

The directory in force when the packet arrives decides: a recipient code that a dated change
ended goes to its successor (the delivery keeps the code named, see
:mod:`hub.ingest.successors`), or the packet is refused naming the successors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import TYPE_CHECKING, Any, Literal

import structlog
from cryptography import x509
from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import edxml
from hub.auth.callers import AuthenticatedAgency
from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.models import (
    AGENCY_CODE_LENGTH,
    DOCUMENT_ID_LENGTH,
    Delivery,
    DeliveryState,
    OutboxMessage,
    Packet,
)
from hub.directory import find_agency, resolve
from hub.directory.store import may_send_for
from hub.directory.succession import lineage
from hub.errors import (
    DuplicateDocumentError,
    ForbiddenError,
    HubError,
    MalformedPacketError,
    OversizePacketError,
    StorageError,
    UnroutablePacketError,
)
from hub.evidence.facts import record_submission
from hub.ids import new_id
from hub.ingest.pdf_signatures import PacketPdfReport, PdfAttachmentCollector, pdf_signed_state
from hub.ingest.revocation import RevocationLists
from hub.ingest.successors import Redirect, record_redirects, redirects_of
from hub.payloads import BlobStore, BlobStoreError
from hub.settings import Settings
from hub.tracking.receipts import (
    TAKE_BACK,
    DocumentNotice,
    Replacement,
    StatusNotice,
    copies_of,
    record_document,
    record_status,
)
from hub.tracking.timeline import RedirectView, in_address_order, redirect_views
from hub.transport.wakeup import announce_outbox

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["DeliveryReceipt", "IngestResult", "IngestService", "PacketKind", "Source"]

PacketKind = Literal["edoc", "status"]
Source = Literal["api", "axis", "hub", "vxp"]
"""The door a packet came in by: the agency API, the axis poller, a peer hub, the VXP endpoint."""

_CODE_LENGTH = 128
_OUTSIDE_CHANNELS = frozenset({Channel.AXIS, Channel.HUB})
"""Agencies reached through these channels are outside the city."""
_FROM_OUTSIDE = frozenset({"axis", "hub"})
"""Sources that submit for senders outside the city, to the city's own agencies."""
_log = structlog.get_logger(__name__)


class DeliveryReceipt(BaseModel):
    """One recipient's delivery as ingest created it (and as it stands on a repeat)."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    delivery_id: str
    channel: Channel
    state: DeliveryState
    redirects: list[RedirectView] = []
    """The codes the packet named that no longer exist and whose successor this is."""


class IngestResult(BaseModel):
    """What the hub answers for an accepted packet."""

    model_config = ConfigDict(frozen=True)

    packet_id: str
    kind: PacketKind
    document_id: str
    deliveries: list[DeliveryReceipt]
    created: bool
    """False when identical bytes had already been accepted (nothing new was written)."""


@dataclass(frozen=True)
class _Route:
    recipient: str
    channel: Channel
    redirects: tuple[Redirect, ...] = ()
    """The ended codes named in the packet that this recipient succeeds."""


@dataclass(frozen=True)
class _Facts:
    """What one read of a packet established."""

    inspection: edxml.Inspection
    kind: PacketKind
    sender: str
    recipients: tuple[str, ...]
    document_id: str
    document: DocumentNotice | None
    status: StatusNotice | None
    pdfs: PacketPdfReport | None
    """The digital signatures in a document's PDF attachments (None for a status)."""


class IngestService:
    """Accepts packets for the hub; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        blobs: BlobStore,
        *,
        trust_anchors: Sequence[x509.Certificate] = (),
        pdf_trust_roots: Sequence[x509.Certificate] = (),
        revocation: RevocationLists | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._blobs = blobs
        self._trust_anchors = tuple(trust_anchors)
        self._revocation = revocation
        self._pdf_trust_roots = tuple(pdf_trust_roots)
        self._limits = edxml.Limits(max_bytes=settings.ingest.max_packet_bytes)

    def accept(
        self,
        raw: bytes | bytearray | memoryview,
        agency: AuthenticatedAgency,
        *,
        source: Source = "api",
        expected_kind: PacketKind | None = None,
    ) -> IngestResult:
        """Accept one packet posted by ``agency`` (see the module docstring for the steps).

        ``expected_kind`` is the kind the door was told (the VXP ``messagetype``): a packet of
        the other kind is refused before anything is stored.

        Raises:
            OversizePacketError: over ``LIENTHONG_MAX_PACKET_BYTES``.
            MalformedPacketError: unsafe, not edXML, or breaking a schema or routing rule;
                ``packet.kind-mismatch``: not of ``expected_kind``.
            ForbiddenError: ``From`` is neither the agency nor one it may send for (from the
                axis: ``From`` is an agency of the city).
            DuplicateDocumentError: another new document has this sender and DocumentId.
            UnroutablePacketError: a recipient is unknown (axis route off) or inactive;
                from the axis: no recipient is an agency of the city.
            StorageError: the database or the blob store failed.
        """
        log = _log.bind(submitted_by=agency.code, source=source, size=len(raw))
        try:
            result = self._accept(raw, agency, source, expected_kind)
        except HubError as exc:
            if not isinstance(exc, StorageError):
                log.info("packet.rejected", code=exc.code)
            raise
        log.info(
            "packet.accepted" if result.created else "packet.repeated",
            packet_id=result.packet_id,
            kind=result.kind,
            recipients=[delivery.recipient for delivery in result.deliveries],
            delivery_ids=[delivery.delivery_id for delivery in result.deliveries],
        )
        return result

    def _accept(
        self,
        raw: bytes | bytearray | memoryview,
        agency: AuthenticatedAgency,
        source: Source,
        expected_kind: PacketKind | None = None,
    ) -> IngestResult:
        limit = self._settings.ingest.max_packet_bytes
        if len(raw) > limit:
            raise OversizePacketError(
                f"the packet is {len(raw)} bytes; this hub accepts at most {limit}",
                details={"limit": limit},
            )
        sha256 = hashlib.sha256(raw).hexdigest()
        facts = self._read(raw)
        if expected_kind is not None and facts.kind != expected_kind:
            raise MalformedPacketError(
                f"the packet was sent as {expected_kind} but is a {facts.kind} packet",
                code="packet.kind-mismatch",
            )
        self._store_blob(raw, sha256)
        try:
            with self._database.transaction() as session:
                stored = _stored_answer(session, sha256, agency, source)
                if stored is not None:
                    return stored
                _authorise(session, agency, facts.sender, source)
                if facts.document is not None:
                    _authorise_issuer(session, agency, facts, source)
                if facts.status is not None:
                    _authorise_party(session, facts.status, source)
                routes = (
                    _local_routes(session, facts.recipients)
                    if source in _FROM_OUTSIDE
                    else self._route(session, facts.recipients)
                )
                if facts.document is not None and (
                    source in _FROM_OUTSIDE or any(route.redirects for route in routes)
                ):
                    facts = replace(facts, document=_addressed_to(facts.document, routes, source))
                return _record(session, raw, sha256, facts, routes, agency, source)
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            # A concurrent post of the same bytes, or another new document with this
            # sender and DocumentId (the packets table's unique keys) won the race.
            with self._database.transaction() as session:
                stored = _stored_answer(session, sha256, agency, source)
                if stored is not None:
                    return stored
                _refuse_duplicate_document(session, facts)
            raise

    def _read(self, raw: bytes | bytearray | memoryview) -> _Facts:
        pdfs = PdfAttachmentCollector(trust_roots=self._pdf_trust_roots)
        try:
            inspection, packet = edxml.inspect_packet(
                raw,
                trust_anchors=self._trust_anchors,
                crls=self._revocation.current() if self._revocation is not None else (),
                limits=self._limits,
                opener=pdfs.opener,
            )
        except edxml.EdxmlError as exc:
            raise MalformedPacketError(
                exc.message,
                code=exc.code,
                element=exc.element,
                line=exc.line,
                details={"issues": [exc.as_dict()]},
            ) from exc
        if not inspection.valid or inspection.kind is None or packet is None:
            first = inspection.issues[0] if inspection.issues else {}
            line = first.get("line")
            raise MalformedPacketError(
                str(first.get("message") or "the packet is not a valid edXML packet"),
                code=str(first.get("code") or "packet.invalid"),
                element=str(first["element"]) if first.get("element") else None,
                line=line if isinstance(line, int) else None,
                details={"issues": inspection.issues},
            )
        sender = inspection.from_ or ""
        recipients = tuple(inspection.to)
        document_id = inspection.document_id or ""
        _check_lengths(sender, recipients, document_id)
        document: DocumentNotice | None = None
        status: StatusNotice | None = None
        if inspection.kind == "status":
            status = _status_notice(packet, inspection)
        else:
            document = _document_notice(packet, inspection)
        return _Facts(
            inspection=inspection,
            kind=inspection.kind,
            sender=sender,
            recipients=recipients,
            document_id=document_id,
            document=document,
            status=status,
            pdfs=pdfs.report() if document is not None else None,
        )

    def _route(self, session: Session, recipients: Sequence[str]) -> list[_Route]:
        resolution = resolve(session, recipients)
        redirects = redirects_of(resolution)
        inactive = [item.recipient for item in redirects.values() if not item.recipient.active]
        if inactive:
            resolution = replace(
                resolution,
                inactive={**resolution.inactive, **{info.code: info for info in inactive}},
            )
        if resolution.inactive:
            codes = list(resolution.inactive)
            raise UnroutablePacketError(
                f"recipient(s) {', '.join(codes)} are switched off in the hub's directory",
                code="packet.inactive-recipient",
                element="To/OrganId",
                details={"codes": codes},
            )
        if resolution.unknown and not self._settings.ingest.axis_route:
            codes = list(resolution.unknown)
            raise UnroutablePacketError(
                f"recipient(s) {', '.join(codes)} are not in the hub's directory; check the "
                "codes, or ask the hub's operators to add the agencies",
                element="To/OrganId",
                details={"codes": codes},
            )
        return _successor_routes(
            [
                _Route(
                    code,
                    resolution.found[code].channel if code in resolution.found else Channel.AXIS,
                )
                for code in dict.fromkeys(recipients)
                if code not in redirects
            ],
            recipients,
            redirects,
        )

    def _store_blob(self, raw: bytes | bytearray | memoryview, sha256: str) -> None:
        try:
            key = self._blobs.put(raw)
        except BlobStoreError as exc:
            raise StorageError(f"the payload store failed: {exc}") from exc
        if key != sha256:
            raise StorageError(f"the payload store named the packet {key}, not {sha256}")


def _check_lengths(sender: str, recipients: Sequence[str], document_id: str) -> None:
    too_long = [
        (element, value, limit)
        for element, value, limit in (
            ("From/OrganId", sender, AGENCY_CODE_LENGTH),
            *(("To/OrganId", code, AGENCY_CODE_LENGTH) for code in recipients),
            ("DocumentId", document_id, DOCUMENT_ID_LENGTH),
        )
        if len(value) > limit
    ]
    if too_long:
        element, value, limit = too_long[0]
        raise MalformedPacketError(
            f"{element} has {len(value)} characters; the hub accepts at most {limit}",
            code="packet.value-too-long",
            element=element,
        )


def _local_routes(session: Session, recipients: Sequence[str]) -> list[_Route]:
    """Routes to the city's own agencies among a packet from the axis (at least one)."""
    resolution = resolve(session, recipients)
    redirects = {
        code: item
        for code, item in redirects_of(resolution).items()
        if item.recipient.channel not in _OUTSIDE_CHANNELS
    }
    inactive = [
        code for code, info in resolution.inactive.items() if info.channel not in _OUTSIDE_CHANNELS
    ]
    if inactive:
        raise UnroutablePacketError(
            f"recipient(s) {', '.join(inactive)} are switched off in the hub's directory",
            code="packet.inactive-recipient",
            element="To/OrganId",
            details={"codes": inactive},
        )
    local = _successor_routes(
        [
            _Route(code, resolution.found[code].channel)
            for code in dict.fromkeys(recipients)
            if code in resolution.found and resolution.found[code].channel not in _OUTSIDE_CHANNELS
        ],
        recipients,
        redirects,
    )
    if not local:
        codes = list(dict.fromkeys(recipients))
        raise UnroutablePacketError(
            f"none of the recipients ({', '.join(codes) or 'none'}) is an agency of this hub",
            code="packet.no-local-recipient",
            element="To/OrganId",
            details={"codes": codes},
        )
    return local


def _successor_routes(
    routes: Sequence[_Route], recipients: Sequence[str], redirects: Mapping[str, Redirect]
) -> list[_Route]:
    """``routes`` with the successors of the ended codes among them, one route per agency
    (codes that became one agency share its route), in the order the packet names them."""
    if not redirects:
        return list(routes)
    by_code = {route.recipient: route for route in routes}
    ordered: list[str] = []
    for code in dict.fromkeys(recipients):
        item = redirects.get(code)
        target = item.recipient.code if item is not None else code
        if item is not None:
            current = by_code.get(target) or _Route(target, item.recipient.channel)
            by_code[target] = replace(current, redirects=(*current.redirects, item))
        if target in by_code and target not in ordered:
            ordered.append(target)
    return [by_code[code] for code in ordered]


def _addressed_to(
    notice: DocumentNotice, routes: Sequence[_Route], source: Source
) -> DocumentNotice:
    """The document's recipients as routed: its copies are those of the agencies that take
    them (a successor for an ended code); a revoke or update also looks under the codes
    named."""
    routed = tuple(route.recipient for route in routes)
    if notice.business_type in (0, 3) or source in _FROM_OUTSIDE:
        return replace(notice, recipients=routed)
    return replace(notice, recipients=tuple(dict.fromkeys((*notice.recipients, *routed))))


def _authorise(
    session: Session, agency: AuthenticatedAgency, sender: str, source: Source = "api"
) -> None:
    if source in _FROM_OUTSIDE:
        _authorise_outside(session, agency, sender, source)
        return
    if not may_send_for(session, agency.code, sender):
        raise ForbiddenError(
            f"the packet's From/OrganId is {sender}, but the token belongs to {agency.code}, "
            "which may not send on its behalf",
            code="packet.sender-mismatch",
            details={"element": "From/OrganId", "sender": sender, "agency": agency.code},
        )


def _authorise_outside(
    session: Session, agency: AuthenticatedAgency, sender: str, source: Source
) -> None:
    """The axis and peer hubs submit for senders outside the city only."""
    found = find_agency(session, sender)
    if found is not None and found.channel not in _OUTSIDE_CHANNELS:
        who = "the national axis" if source == "axis" else "a peer hub"
        raise ForbiddenError(
            f"the packet's From/OrganId is {sender}, an agency of this city: {who} "
            f"({agency.code}) may only submit packets of senders outside the city",
            code="packet.sender-mismatch",
            details={"element": "From/OrganId", "sender": sender, "agency": agency.code},
        )


def _authorise_issuer(
    session: Session, agency: AuthenticatedAgency, facts: _Facts, source: Source
) -> None:
    """A DocumentId's issuer part (before its first comma) names the sender, or an agency
    the caller may send for: an agency cannot number its documents as another's. From the
    axis or a peer hub, it may name anyone but an agency of this city (not theirs to issue).
    """
    issuer = facts.document_id.split(",", 1)[0].strip() if "," in facts.document_id else ""
    if not issuer or issuer == facts.sender:
        return
    if source in _FROM_OUTSIDE:
        found = find_agency(session, issuer)
        allowed = found is None or found.channel in _OUTSIDE_CHANNELS
    else:
        allowed = may_send_for(session, agency.code, issuer)
    if not allowed:
        raise ForbiddenError(
            f"the DocumentId {facts.document_id} was issued by {issuer} (its part before the "
            f"first comma), but the packet is from {facts.sender}, sent by {agency.code}, "
            f"which may not send on behalf of {issuer}",
            code="packet.issuer-mismatch",
            details={"element": "DocumentId", "issuer": issuer, "agency": agency.code},
        )


def _authorise_party(session: Session, status: StatusNotice, source: Source) -> None:
    """A status about a document the hub carries comes from a party to it, to a party: a
    recipient to the sender, or the sender (13, take-back) to a recipient. From the axis or a
    peer hub, which speak for outside parties, the city's end must be a party."""
    copies = copies_of(session, status.document_id)
    if not copies or (status.document_sender, status.recipient) in copies:
        return
    if _party_by_succession(session, copies, status):
        return
    if source in _FROM_OUTSIDE:
        if status.code == TAKE_BACK:
            local_end_is_a_party = status.recipient in {r for _, r in copies}
        else:
            local_end_is_a_party = status.document_sender in {s for s, _ in copies}
        if local_end_is_a_party:
            return
    raise ForbiddenError(
        f"{status.reporter} is not a party to document {status.document_id} as this status "
        f"says (ResponseFor/OrganId {status.addressee}): a status comes from a recipient to "
        "the sender, or from the sender to a recipient (13, take-back)",
        code="status.not-a-party",
        details={
            "element": "ResponseFor/OrganId",
            "reporter": status.reporter,
            "addressee": status.addressee,
        },
    )


def _party_by_succession(
    session: Session, copies: set[tuple[str, str]], status: StatusNotice
) -> bool:
    """Whether the status names the parties of a copy through a reorganisation: an ended
    code for the copy its successor holds, or a successor for its predecessor's copy (the
    same copies :func:`hub.tracking.receipts.record_status` moves)."""
    senders = {status.document_sender, *_joined(session, status.document_sender)}
    recipients = {status.recipient, *_joined(session, status.recipient)}
    return any(pair in copies for pair in product(sorted(senders), sorted(recipients)))


def _joined(session: Session, code: str) -> list[str]:
    ahead, behind = lineage(session, code)
    return [*ahead, *behind]


def _stored_answer(
    session: Session, sha256: str, agency: AuthenticatedAgency, source: Source = "api"
) -> IngestResult | None:
    """The answer given to identical bytes before, if the agency may send them; no re-read."""
    if session.connection().scalar(_PACKET_BY_SHA256, {"sha256": sha256}) is None:
        return None
    packet = session.scalars(select(Packet).where(Packet.sha256 == sha256)).one()
    _authorise(session, agency, packet.sender_code, source)
    rows = in_address_order(
        packet, session.scalars(select(Delivery).where(Delivery.packet_id == packet.id))
    )
    redirects = redirect_views(session, [row.id for row in rows])
    return _result(packet, rows, created=False, redirects=redirects)


def _refuse_duplicate_document(session: Session, facts: _Facts) -> None:
    if facts.document is None or facts.document.business_type != 0:
        return
    existing = session.scalars(
        select(Packet.id).where(
            Packet.sender_code == facts.sender,
            Packet.document_id == facts.document_id,
            Packet.kind == "edoc",
            Packet.business_type == 0,
        )
    ).first()
    if existing is not None:
        raise DuplicateDocumentError(
            f"document {facts.document_id} from {facts.sender} was already accepted as packet "
            f"{existing}; a revoke, update or replacement says so in its Bussiness block "
            "(BussinessDocType 1, 2 or 3), a new document needs a new DocumentId",
            details={
                "element": "DocumentId",
                "document_id": facts.document_id,
                "packet_id": existing,
            },
        )


_INSERT_PACKET = insert(Packet.metadata.tables[Packet.__tablename__])
_PACKET_BY_SHA256 = select(Packet.id).where(Packet.sha256 == bindparam("sha256"))
"""Every packet is looked up by its bytes first (the idempotency check): built once."""
_INSERT_DELIVERY = insert(Delivery.metadata.tables[Delivery.__tablename__])
_INSERT_OUTBOX = insert(OutboxMessage.metadata.tables[OutboxMessage.__tablename__])


def _record(
    session: Session,
    raw: bytes | bytearray | memoryview,
    sha256: str,
    facts: _Facts,
    routes: Sequence[_Route],
    agency: AuthenticatedAgency,
    source: Source,
) -> IngestResult:
    # Plain INSERTs, not ORM objects: this runs for every packet, and the unit of work's
    # bookkeeping cost more than the statements themselves.
    now = utcnow()
    inspection = facts.inspection
    signature = inspection.signature
    packet_id = new_id()
    connection = session.connection()
    connection.execute(
        _INSERT_PACKET,
        dict(
            id=packet_id,
            kind=facts.kind,
            sha256=sha256,
            size=len(raw),
            sender_code=facts.sender,
            submitted_by=agency.code,
            source=source,
            document_id=facts.document_id,
            business_type=inspection.business_type if facts.kind == "edoc" else None,
            status_code=inspection.status_code,
            addressee_code=facts.status.addressee if facts.status is not None else None,
            code=inspection.code[:_CODE_LENGTH] if inspection.code else None,
            subject=inspection.subject,
            signature_status=signature.status if signature is not None else "absent",
            signature_reason=signature.reason if signature is not None else None,
            signature_trusted=signature.trusted if signature is not None else None,
            summary=inspection.as_json(),
            received_at=now,
            **_pdf_columns(facts.pdfs),
        ),
    )
    deliveries = [
        DeliveryReceipt(
            recipient=route.recipient,
            delivery_id=new_id(),
            channel=route.channel,
            state=DeliveryState.QUEUED,
            redirects=[item.view(now) for item in route.redirects],
        )
        for route in routes
    ]
    if deliveries:
        connection.execute(
            _INSERT_DELIVERY,
            [
                {
                    "id": delivery.delivery_id,
                    "packet_id": packet_id,
                    "recipient_code": delivery.recipient,
                    "channel": delivery.channel,
                    "state": DeliveryState.QUEUED,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for delivery in deliveries
            ],
        )
        connection.execute(
            _INSERT_OUTBOX,
            [
                {"delivery_id": delivery.delivery_id, "reason": "ingest", "created_at": now}
                for delivery in deliveries
            ],
        )
        record_redirects(
            connection,
            {delivery.recipient: delivery.delivery_id for delivery in deliveries},
            [item for route in routes for item in route.redirects],
            now,
        )
    record_submission(
        connection,
        packet_id=packet_id,
        sha256=sha256,
        size=len(raw),
        packet_kind=facts.kind,
        sender=facts.sender,
        submitted_by=agency.code,
        source=source,
        document_id=facts.document_id,
        addressed=facts.recipients,
        deliveries=[(item.recipient, item.delivery_id, item.channel.value) for item in deliveries],
        at=now,
        business_type=inspection.business_type if facts.kind == "edoc" else None,
        status_code=inspection.status_code,
    )
    if facts.document is not None:
        record_document(session, packet_id, facts.document, now)
    if facts.status is not None:
        record_status(session, packet_id, facts.status, now)
    session.flush()
    announce_outbox(session)
    return IngestResult(
        packet_id=packet_id,
        kind=facts.kind,
        document_id=facts.document_id,
        deliveries=deliveries,
        created=True,
    )


def _pdf_columns(report: PacketPdfReport | None) -> dict[str, Any]:
    """The packet row's PDF-signature columns for ``report``."""
    if report is None:
        return {"pdf_signed": None, "pdf_count": 0, "pdf_signed_count": 0, "pdf_report": None}
    return {
        "pdf_signed": pdf_signed_state(report),
        "pdf_count": report.pdf_count,
        "pdf_signed_count": report.signed_pdf_count,
        "pdf_report": report.model_dump(mode="json"),
    }


def _result(
    packet: Packet,
    deliveries: Sequence[Delivery],
    *,
    created: bool,
    redirects: Mapping[str, list[RedirectView]] | None = None,
) -> IngestResult:
    return IngestResult(
        packet_id=packet.id,
        kind="status" if packet.kind == "status" else "edoc",
        document_id=packet.document_id,
        deliveries=[
            DeliveryReceipt(
                recipient=row.recipient_code,
                delivery_id=row.id,
                channel=row.channel,
                state=row.state,
                redirects=(redirects or {}).get(row.id, []),
            )
            for row in deliveries
        ],
        created=created,
    )


def _document_notice(packet: edxml.Packet, inspection: edxml.Inspection) -> DocumentNotice:
    business_type = inspection.business_type or 0
    reason: str | None = None
    replacements: tuple[Replacement, ...] = ()
    business = packet.trace.business if packet.trace is not None else None
    if business_type != 0 and isinstance(packet, edxml.DocumentPacket) and business is not None:
        reason = business.business_doc_reason
        replacements = tuple(
            Replacement(item.document_id, tuple(item.organ_ids or ()))
            for item in business.replacements or ()
            if item.document_id
        )
    return DocumentNotice(
        sender=inspection.from_ or "",
        document_id=inspection.document_id or "",
        recipients=tuple(inspection.to),
        business_type=business_type,
        reason=reason,
        replacements=replacements,
    )


def _status_notice(packet: edxml.Packet, inspection: edxml.Inspection) -> StatusNotice:
    header = packet.header if isinstance(packet, edxml.StatusPacket) else None
    return StatusNotice(
        reporter=inspection.from_ or "",
        addressee=inspection.to[0] if inspection.to else "",
        document_id=inspection.document_id or "",
        code=inspection.status_code or "",
        description=header.description if header is not None else None,
        timestamp=header.timestamp if header is not None else None,
    )
