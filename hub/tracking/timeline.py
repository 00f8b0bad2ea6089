"""Tracking views: one packet with its deliveries, and one document's whole timeline.

A timeline puts the two axes side by side: transport (each packet's deliveries, their
attempts and timestamps) and business (each recipient's state and every status received).
Only the parties see them: the sender (or whoever posted for it), the recipients, and
operators; anyone else is told the packet or document does not exist.

DocumentIds are unique per sender, not globally: when several senders used the same one,
the caller names the sender it means.

A delivery that a directory change sent to another agency than the one addressed (a code
that no longer existed, or a recipient that ended while the packet was on its way) carries
its redirects: the code named, the successor, the change and its act.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.callers import AuthenticatedOperator, Caller
from hub.channels import Channel
from hub.db.models import (
    ChangeRequest,
    ChangeState,
    Delivery,
    DeliveryAttempt,
    DeliveryRedirect,
    DeliveryState,
    DirectoryChange,
    DocumentRecipient,
    Packet,
    StatusEvent,
)
from hub.errors import ConflictError, NotFoundError

__all__ = [
    "AttemptView",
    "DeliveryView",
    "PacketView",
    "RecipientStateView",
    "RedirectView",
    "StatusEventView",
    "Timeline",
    "document_timeline",
    "in_address_order",
    "packet_view",
    "redirect_views",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class AttemptView(_View):
    """One delivery attempt."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    error: str | None
    http_status: int | None
    peer_code: str | None = None
    """The error code exactly as the peer answered it (e.g. the axis's ``ErrorCode``)."""


class RedirectView(_View):
    """A delivery sent on to a successor by a directory change (or parked for want of one)."""

    from_code: str
    """The code the packet named (or the delivery had)."""
    to_code: str | None
    """The agency that took it on; None: no single successor (the delivery was parked)."""
    stage: str
    """``ingest``: the code no longer existed when the packet came; ``in-flight``: its
    agency ended while the packet was on its way."""
    at: datetime
    change: str | None = None
    """The change's key."""
    kind: str | None = None
    act: str | None = None
    """The legal act that decided the change."""
    effective_at: datetime | None = None
    merged_into: str | None = None
    """The packet's delivery to the successor that carries this one (state ``merged``)."""


class DeliveryView(_View):
    """One recipient's copy of a packet on the transport axis."""

    delivery_id: str
    recipient: str
    channel: Channel
    state: DeliveryState
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    acked_at: datetime | None
    ack_result: str | None
    ack_reason: str | None
    attempt_log: list[AttemptView]
    redirects: list[RedirectView] = []
    """Directory changes that sent it elsewhere than the code addressed."""


class SignatureView(_View):
    """The signature outcome recorded at ingest."""

    status: str
    reason: str | None
    trusted: bool | None


class PacketView(_View):
    """An accepted packet and where each of its deliveries stands."""

    packet_id: str
    kind: str
    sender: str
    submitted_by: str | None
    source: str
    document_id: str
    business_type: int | None
    status_code: str | None
    addressee: str | None
    code: str | None
    subject: str | None
    size: int
    sha256: str
    received_at: datetime
    signature: SignatureView
    deliveries: list[DeliveryView]


class RecipientStateView(_View):
    """A document's business state at one recipient."""

    recipient: str
    status: str | None
    status_at: datetime | None
    change_request: ChangeRequest | None
    change_state: ChangeState | None
    change_packet_id: str | None
    change_reason: str | None
    change_requested_at: datetime | None
    change_answered_at: datetime | None
    replaced_by: str | None
    replaced_at: datetime | None


class StatusEventView(_View):
    """One status packet as received, and what it did."""

    packet_id: str
    reporter: str
    recipient: str
    status_code: str
    description: str | None
    reported_at: datetime | None
    reported_at_text: str | None
    received_at: datetime
    document_known: bool
    effect: str


class Timeline(_View):
    """Everything the hub knows about one document of one sender."""

    document_id: str
    sender: str
    packets: list[PacketView]
    """The document's packets (new, revoke, update) and the status packets about it."""
    recipients: list[RecipientStateView]
    statuses: list[StatusEventView]


def packet_view(session: Session, caller: Caller, packet_id: str) -> PacketView:
    """One packet, if the caller is a party to it.

    Raises:
        NotFoundError: no such packet, or the caller is not a party to it.
    """
    packet = session.get(Packet, packet_id)
    if packet is None:
        raise _packet_not_found(packet_id)
    (view,) = _packet_views(session, [packet])
    if not isinstance(caller, AuthenticatedOperator) and caller.code not in _parties([view]):
        raise _packet_not_found(packet_id)
    return view


def document_timeline(
    session: Session, caller: Caller, document_id: str, sender: str | None = None
) -> Timeline:
    """The timeline of a document, if the caller is a party to it.

    Raises:
        NotFoundError: no such document, or the caller is not a party to it.
        ConflictError: several senders used this DocumentId; name one with ``sender``.
    """
    documents = select(Packet).where(Packet.document_id == document_id, Packet.kind == "edoc")
    events = select(StatusEvent).where(StatusEvent.document_id == document_id)
    if sender is not None:
        documents = documents.where(Packet.sender_code == sender)
        events = events.where(StatusEvent.document_sender_code == sender)
    by_sender: dict[str, list[Packet]] = defaultdict(list)
    for packet in session.scalars(documents.order_by(Packet.received_at, Packet.id)):
        by_sender[packet.sender_code].append(packet)
    events_by_sender: dict[str, list[StatusEvent]] = defaultdict(list)
    for event in session.scalars(events.order_by(StatusEvent.id)):
        events_by_sender[event.document_sender_code].append(event)

    visible: dict[str, list[PacketView]] = {}
    for candidate in sorted(set(by_sender) | set(events_by_sender)):
        views = _packet_views(session, by_sender.get(candidate, []))
        if _may_see(caller, candidate, views, events_by_sender.get(candidate, [])):
            visible[candidate] = views
    if not visible:
        raise NotFoundError(
            f"no document {document_id} that you are a party to", code="document.not_found"
        )
    if len(visible) > 1:
        senders = sorted(visible)
        raise ConflictError(
            f"senders {', '.join(senders)} each have a document {document_id}; "
            "name the one you mean with ?sender=",
            code="document.ambiguous",
            details={"senders": senders},
        )
    ((chosen, documents_views),) = visible.items()
    chosen_events = events_by_sender.get(chosen, [])
    status_packets = _packets(session, [event.packet_id for event in chosen_events])
    states = session.scalars(
        select(DocumentRecipient)
        .where(
            DocumentRecipient.sender_code == chosen,
            DocumentRecipient.document_id == document_id,
        )
        .order_by(DocumentRecipient.id)
    )
    return Timeline(
        document_id=document_id,
        sender=chosen,
        packets=sorted(
            [*documents_views, *_packet_views(session, status_packets)],
            key=lambda view: (view.received_at, view.packet_id),
        ),
        recipients=[
            RecipientStateView(
                recipient=row.recipient_code,
                status=row.status,
                status_at=row.status_at,
                change_request=row.change_request,
                change_state=row.change_state,
                change_packet_id=row.change_packet_id,
                change_reason=row.change_reason,
                change_requested_at=row.change_requested_at,
                change_answered_at=row.change_answered_at,
                replaced_by=row.replaced_by,
                replaced_at=row.replaced_at,
            )
            for row in states
        ],
        statuses=[
            StatusEventView(
                packet_id=event.packet_id,
                reporter=event.reporter_code,
                recipient=event.recipient_code,
                status_code=event.status_code,
                description=event.description,
                reported_at=event.reported_at,
                reported_at_text=event.reported_at_text,
                received_at=event.received_at,
                document_known=event.document_known,
                effect=event.effect,
            )
            for event in chosen_events
        ],
    )


def _may_see(
    caller: Caller, sender: str, documents: Sequence[PacketView], events: Sequence[StatusEvent]
) -> bool:
    if isinstance(caller, AuthenticatedOperator) or caller.code == sender:
        return True
    if documents:
        return caller.code in _parties(documents)
    return any(caller.code in (event.reporter_code, event.recipient_code) for event in events)


def _parties(views: Iterable[PacketView]) -> set[str]:
    parties: set[str] = set()
    for view in views:
        parties.add(view.sender)
        if view.submitted_by:
            parties.add(view.submitted_by)
        parties.update(delivery.recipient for delivery in view.deliveries)
        parties.update(
            redirect.from_code for delivery in view.deliveries for redirect in delivery.redirects
        )
    return parties


def _packets(session: Session, packet_ids: Sequence[str]) -> list[Packet]:
    if not packet_ids:
        return []
    wanted = list(dict.fromkeys(packet_ids))
    return list(session.scalars(select(Packet).where(Packet.id.in_(wanted))))


def _packet_views(session: Session, packets: Sequence[Packet]) -> list[PacketView]:
    if not packets:
        return []
    deliveries: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in session.scalars(
        select(Delivery)
        .where(Delivery.packet_id.in_([packet.id for packet in packets]))
        .order_by(Delivery.created_at, Delivery.id)
    ):
        deliveries[delivery.packet_id].append(delivery)
    attempts: dict[str, list[DeliveryAttempt]] = defaultdict(list)
    delivery_ids = [row.id for rows in deliveries.values() for row in rows]
    if delivery_ids:
        for attempt in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    redirects = redirect_views(session, delivery_ids)
    return [
        PacketView(
            packet_id=packet.id,
            kind=packet.kind,
            sender=packet.sender_code,
            submitted_by=packet.submitted_by,
            source=packet.source,
            document_id=packet.document_id,
            business_type=packet.business_type,
            status_code=packet.status_code,
            addressee=packet.addressee_code,
            code=packet.code,
            subject=packet.subject,
            size=packet.size,
            sha256=packet.sha256,
            received_at=packet.received_at,
            signature=SignatureView(
                status=packet.signature_status,
                reason=packet.signature_reason,
                trusted=packet.signature_trusted,
            ),
            deliveries=[
                DeliveryView(
                    delivery_id=row.id,
                    recipient=row.recipient_code,
                    channel=row.channel,
                    state=row.state,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    delivered_at=row.delivered_at,
                    acked_at=row.acked_at,
                    ack_result=row.ack_result,
                    ack_reason=row.ack_reason,
                    attempt_log=[
                        AttemptView(
                            number=attempt.number,
                            started_at=attempt.started_at,
                            finished_at=attempt.finished_at,
                            outcome=attempt.outcome,
                            error=attempt.error,
                            http_status=attempt.http_status,
                            peer_code=attempt.peer_code,
                        )
                        for attempt in attempts[row.id]
                    ],
                    redirects=redirects.get(row.id, []),
                )
                for row in in_address_order(packet, deliveries[packet.id])
            ],
        )
        for packet in packets
    ]


def redirect_views(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[RedirectView]]:
    """The redirects of each of these deliveries, oldest first."""
    found: dict[str, list[RedirectView]] = defaultdict(list)
    if not delivery_ids:
        return found
    rows = session.execute(
        select(DeliveryRedirect, DirectoryChange)
        .outerjoin(DirectoryChange, DirectoryChange.id == DeliveryRedirect.change_id)
        .where(DeliveryRedirect.delivery_id.in_(list(delivery_ids)))
        .order_by(DeliveryRedirect.id)
    )
    for redirect, change in rows:
        found[redirect.delivery_id].append(
            RedirectView(
                from_code=redirect.from_code,
                to_code=redirect.to_code,
                stage=redirect.stage,
                at=redirect.at,
                change=change.key if change is not None else None,
                kind=change.kind.value if change is not None else None,
                act=change.act if change is not None else None,
                effective_at=change.effective_at if change is not None else None,
                merged_into=redirect.merged_into,
            )
        )
    return found


def in_address_order(packet: Packet, rows: Iterable[Delivery]) -> list[Delivery]:
    """A packet's deliveries in the order its recipients are addressed."""
    order = {code: index for index, code in enumerate(packet.summary.get("to") or ())}
    return sorted(rows, key=lambda row: (order.get(row.recipient_code, len(order)), row.id))


def _packet_not_found(packet_id: str) -> NotFoundError:
    return NotFoundError(f"no packet {packet_id} that you are a party to", code="packet.not_found")
