"""The ``inbox`` channel: the agency's system fetches what awaits it and acknowledges it.

A delivery on the ``inbox`` channel becomes ``available`` when a worker has done its part;
the agency lists those, fetches each packet (the bytes exactly as posted) and acknowledges
it ``done`` (the delivery becomes ``delivered``) or ``fail`` (``refused``). An agency sees
only deliveries addressed to it; any other id is simply not found. Acknowledging is
idempotent, and a second acknowledgement that contradicts the first is a conflict; the first
is the evidence of retrieval (or refusal) the sender can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.channels.base import DeliveryJob, HandOver
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, Packet
from hub.errors import ConflictError, NotFoundError
from hub.evidence.facts import Copy, record_acknowledgement

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources

__all__ = [
    "FETCHABLE_STATES",
    "AckResult",
    "InboxDelivery",
    "InboxHandler",
    "InboxItem",
    "acknowledge",
    "build",
    "list_inbox",
    "open_delivery",
    "peer_label",
]

AckOutcome = Literal["done", "fail"]

FETCHABLE_STATES = frozenset(
    {DeliveryState.AVAILABLE, DeliveryState.DELIVERED, DeliveryState.REFUSED}
)
"""States in which the recipient may fetch the packet (again, after acknowledging it)."""

_ACK_STATE = {"done": DeliveryState.DELIVERED, "fail": DeliveryState.REFUSED}
_log = structlog.get_logger(__name__)


def build(resources: ChannelResources) -> InboxHandler:
    """The channel's handler (it needs no resources)."""
    return InboxHandler()


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: the hub's own inbox."""
    return "inbox"


class InboxHandler:
    """The pull inbox: nothing to push, the delivery becomes available to the agency."""

    needs_payload = False

    def peer(self, job: DeliveryJob) -> str | None:
        return None

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        return HandOver(DeliveryState.AVAILABLE)

    def close(self) -> None:
        return None


class InboxItem(BaseModel):
    """One delivery waiting in an agency's inbox."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    packet_id: str
    kind: str
    document_id: str
    sender: str
    status_code: str | None
    size: int
    received_at: datetime
    """When the hub accepted the packet."""


class InboxDelivery(BaseModel):
    """A delivery the caller may fetch, with what the response headers carry."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    packet_id: str
    kind: str
    sender: str
    sha256: str
    size: int
    state: DeliveryState


class AckResult(BaseModel):
    """A delivery after its acknowledgement."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    state: DeliveryState
    result: AckOutcome
    reason: str | None
    acked_at: datetime


def list_inbox(
    session: Session, agency_code: str, *, kind: str | None = None, limit: int = 100
) -> list[InboxItem]:
    """The agency's available deliveries, oldest first."""
    query = (
        select(Delivery, Packet)
        .join(Packet, Delivery.packet_id == Packet.id)
        .where(Delivery.recipient_code == agency_code, Delivery.state == DeliveryState.AVAILABLE)
        .order_by(Delivery.created_at, Delivery.id)
        .limit(limit)
    )
    if kind is not None:
        query = query.where(Packet.kind == kind)
    return [
        InboxItem(
            delivery_id=delivery.id,
            packet_id=packet.id,
            kind=packet.kind,
            document_id=packet.document_id,
            sender=packet.sender_code,
            status_code=packet.status_code,
            size=packet.size,
            received_at=packet.received_at,
        )
        for delivery, packet in session.execute(query)
    ]


def open_delivery(session: Session, agency_code: str, delivery_id: str) -> InboxDelivery:
    """The delivery the agency wants to fetch.

    Raises:
        NotFoundError: no delivery with this id is addressed to the agency.
        ConflictError: the delivery is not available yet (or was given up).
    """
    delivery = _own_delivery(session, agency_code, delivery_id)
    if delivery.state not in FETCHABLE_STATES:
        raise ConflictError(
            f"delivery {delivery_id} is {delivery.state.value}, not available for fetching yet",
            code="delivery.not-available",
            details={"state": delivery.state.value},
        )
    packet = delivery.packet
    _log.info(
        "inbox.fetched",
        delivery_id=delivery.id,
        packet_id=packet.id,
        recipient=agency_code,
        state=delivery.state.value,
    )
    return InboxDelivery(
        delivery_id=delivery.id,
        packet_id=packet.id,
        kind=packet.kind,
        sender=packet.sender_code,
        sha256=packet.sha256,
        size=packet.size,
        state=delivery.state,
    )


def acknowledge(
    session: Session,
    agency_code: str,
    delivery_id: str,
    result: AckOutcome,
    reason: str | None = None,
) -> AckResult:
    """Record the agency's acknowledgement of an available delivery.

    The same acknowledgement again returns the stored one.

    Raises:
        NotFoundError: no delivery with this id is addressed to the agency.
        ConflictError: the delivery was acknowledged otherwise, or is not available.
    """
    now = utcnow()
    values: dict[str, object] = {
        "state": _ACK_STATE[result],
        "ack_result": result,
        "ack_reason": reason,
        "acked_at": now,
        "updated_at": now,
    }
    if result == "done":
        values["delivered_at"] = now
    changed = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.recipient_code == agency_code,
            Delivery.state == DeliveryState.AVAILABLE,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    delivery = _own_delivery(session, agency_code, delivery_id)
    if getattr(changed, "rowcount", 0) == 1:
        session.refresh(delivery)
        record_acknowledgement(
            session.connection(),
            Copy(
                delivery.packet_id,
                delivery.id,
                agency_code,
                delivery.channel,
                delivery.packet.sha256,
            ),
            done=result == "done",
            at=now,
            reason=reason,
        )
        _log.info(
            "inbox.acknowledged",
            delivery_id=delivery_id,
            packet_id=delivery.packet_id,
            recipient=agency_code,
            result=result,
        )
        return _ack_result(delivery)
    if delivery.ack_result is None or delivery.acked_at is None:
        raise ConflictError(
            f"delivery {delivery_id} is {delivery.state.value}; only an available delivery "
            "can be acknowledged",
            code="delivery.not-available",
            details={"state": delivery.state.value},
        )
    if delivery.ack_result != result:
        raise ConflictError(
            f"delivery {delivery_id} was already acknowledged {delivery.ack_result!r} at "
            f"{delivery.acked_at.isoformat()}",
            code="delivery.already-acknowledged",
            details={"result": delivery.ack_result},
        )
    return _ack_result(delivery)


def _own_delivery(session: Session, agency_code: str, delivery_id: str) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.recipient_code != agency_code:
        raise NotFoundError(
            f"no delivery {delivery_id} addressed to {agency_code}", code="delivery.not_found"
        )
    return delivery


def _ack_result(delivery: Delivery) -> AckResult:
    assert delivery.acked_at is not None
    return AckResult(
        delivery_id=delivery.id,
        state=delivery.state,
        result="done" if delivery.ack_result == "done" else "fail",
        reason=delivery.ack_reason,
        acked_at=delivery.acked_at,
    )
