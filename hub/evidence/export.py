"""Making a receipt: a packet's (or a document's packets') evidence, sealed, then signed.

Records not sealed yet are sealed first (a checkpoint, in the same transaction), so every
record a receipt carries has its place in the chain and the checkpoint it carries covers
them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import EvidenceRecord, Packet
from hub.errors import ConflictError, NotFoundError
from hub.evidence.checkpoints import latest_checkpoint, seal, unsealed
from hub.evidence.receipt import (
    ReceiptCheckpoint,
    ReceiptRecord,
    issued_text,
    parse_statement,
    render,
    sign_receipt,
)
from hub.evidence.signing import HubSigner

__all__ = ["export_receipt", "packets_named"]


def packets_named(session: Session, name: str, sender: str | None = None) -> list[str]:
    """The packet ``name`` is the id of, or the document packets of the DocumentId ``name``
    (new, revoke, update, replacement; ``sender`` picks one sender's), oldest first.

    Raises:
        NotFoundError: no such packet or document.
        ConflictError: several senders used this DocumentId and no sender was named.
    """
    if sender is None and session.get(Packet, name) is not None:
        return [name]
    query = select(Packet.id, Packet.sender_code).where(
        Packet.document_id == name, Packet.kind == "edoc"
    )
    if sender is not None:
        query = query.where(Packet.sender_code == sender)
    by_sender: dict[str, list[str]] = defaultdict(list)
    for packet_id, code in session.execute(query.order_by(Packet.received_at, Packet.id)):
        by_sender[code].append(packet_id)
    if not by_sender:
        raise NotFoundError(f"no packet or document {name}", code="evidence.not-found")
    if len(by_sender) > 1:
        senders = sorted(by_sender)
        raise ConflictError(
            f"senders {', '.join(senders)} each have a document {name}; name one with --sender",
            code="document.ambiguous",
            details={"senders": senders},
        )
    (packet_ids,) = by_sender.values()
    return packet_ids


def export_receipt(
    session: Session,
    signer: HubSigner,
    packet_ids: Sequence[str],
    *,
    subject: str,
    now: datetime | None = None,
) -> bytes:
    """The signed receipt of the evidence of ``packet_ids`` (sealing what is not yet).

    Raises:
        NotFoundError: the hub holds no evidence of these packets (accepted before it kept
            evidence).
    """
    ids = list(dict.fromkeys(packet_ids))
    while unsealed(session, ids):
        seal(session, signer, now=now)
    rows = session.scalars(
        select(EvidenceRecord)
        .where(EvidenceRecord.packet_id.in_(ids))
        .order_by(EvidenceRecord.seq, EvidenceRecord.id)
    ).all()
    if not rows:
        raise NotFoundError(
            f"the hub holds no evidence of {subject}: it was accepted before the hub kept "
            "evidence (revision 0010)",
            code="evidence.none",
        )
    by_packet: dict[str, list[tuple[ReceiptRecord, dict[str, object]]]] = {
        packet_id: [] for packet_id in ids
    }
    for row in rows:
        record = ReceiptRecord(
            statement=row.statement,
            record_hash=row.record_hash,
            seq=row.seq,
            prev_hash=row.prev_hash,
            chain_hash=row.chain_hash,
        )
        by_packet[row.packet_id].append((record, parse_statement(row.statement) or {}))
    latest = latest_checkpoint(session)
    checkpoint = (
        (
            ReceiptCheckpoint(
                statement=latest.statement, hash=latest.hash, signature=latest.signature
            ),
            parse_statement(latest.statement) or {},
        )
        if latest is not None
        else None
    )
    root = render(
        issued=issued_text(now or utcnow()),
        subject=subject,
        packets=[(packet_id, records) for packet_id, records in by_packet.items() if records],
        checkpoint=checkpoint,
    )
    return sign_receipt(root, signer)
