"""Deliveries written straight into the tracking tables, as ingest would leave them."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import edxml
from adapters.payloads.files import FileBlobStore
from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.database import Database
from hub.db.models import Agency, AgencyLevel, Delivery, OutboxMessage, Packet
from hub.ids import new_id

SENDER = "000.05.12.H26"
_numbers = itertools.count(1)


def add_agency(
    database: Database, code: str, channel: Channel, settings: dict[str, Any] | None = None
) -> None:
    with database.transaction() as session:
        if session.get(AgencyLevel, 2) is None:
            session.add(AgencyLevel(level=2, name="Thành phố"))
            session.flush()
        session.add(
            Agency(
                code=code,
                name=f"Cơ quan {code}",
                level=2,
                channel=channel,
                channel_settings=settings or {},
            )
        )


def packet_bytes(recipient: str) -> bytes:
    doc, contents = edxml.new_document(
        sender=SENDER,
        recipients=[recipient],
        number=str(next(_numbers)),
        notation="UBND-VP",
        subject="Về việc thử nghiệm chuyển phát",
    )
    return edxml.build(doc, contents)


def add_delivery(
    database: Database,
    blobs: FileBlobStore,
    recipient: str,
    channel: Channel,
    *,
    queued_at: datetime | None = None,
) -> str:
    """A queued delivery with its packet stored and an unpublished outbox row; its id."""
    data = packet_bytes(recipient)
    key = blobs.put(data)
    packet_id, delivery_id = new_id(), new_id()
    with database.transaction() as session:
        session.add(
            Packet(
                id=packet_id,
                kind="edoc",
                sha256=key,
                size=len(data),
                sender_code=SENDER,
                document_id=f"{SENDER},{packet_id}",
                business_type=0,
                signature_status="absent",
            )
        )
        session.flush()
        session.add(
            Delivery(
                id=delivery_id,
                packet_id=packet_id,
                recipient_code=recipient,
                channel=channel,
            )
        )
        session.flush()
        session.add(OutboxMessage(delivery_id=delivery_id, created_at=queued_at or utcnow()))
    return delivery_id
