"""Helpers of the evidence tests: a signing key, packets taken through delivery, sealing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.channels.base import DeliveryJob, HandOver
from hub.channels.inbox import acknowledge
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, EvidenceRecord
from hub.errors import PermanentDeliveryError
from hub.evidence.checkpoints import seal
from hub.evidence.signing import HubSigner, self_signed
from hub.ingest.service import IngestResult
from hub.transport.worker.outcome import Result, Settlement
from hub.transport.worker.records import record_attempt

from . import packets
from .conftest import Hub
from .packets import CITY, DISTRICT, WARD

_pair: tuple[bytes, bytes] | None = None


def key_pair() -> tuple[bytes, bytes]:
    """One self-signed key and certificate (PEM) for the whole test session."""
    global _pair
    if _pair is None:
        _pair = self_signed("lienthong test evidence")
    return _pair


def signer() -> HubSigner:
    """The test session's evidence key."""
    key_pem, cert_pem = key_pair()
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return HubSigner(key=key, certificate=x509.load_pem_x509_certificate(cert_pem))


def write_pair(folder: Path) -> tuple[Path, Path]:
    """The session's key and certificate as files in ``folder``: (key, certificate)."""
    key_pem, cert_pem = key_pair()
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / "evidence.key", folder / "evidence.pem"
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_pem)
    return key_file, cert_file


def accept(
    hub: Hub, sender: str = WARD, recipients: tuple[str, ...] = (DISTRICT, CITY)
) -> IngestResult:
    """A new document posted by ``sender``."""
    _, raw = packets.document(sender, recipients)
    return hub.ingest.accept(raw, AuthenticatedAgency(sender, sender))


def settle(
    hub: Hub,
    delivery_id: str,
    state: DeliveryState,
    *,
    http_status: int | None = None,
    external_ref: str | None = None,
    error: str | None = None,
) -> None:
    """The next attempt of a delivery ends in ``state``, as a worker records it (a handover,
    or with ``error`` a permanent failure)."""
    with hub.database.transaction() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        job = DeliveryJob(
            delivery_id=row.id,
            packet_id=row.packet_id,
            recipient=row.recipient_code,
            channel=row.channel,
            blob=row.packet.sha256,
            kind=row.packet.kind,
            attempt=row.attempts + 1,
            settings={},
        )
        now = utcnow()
        if error is None:
            result = Result(
                started_at=now,
                duration=0.01,
                handover=HandOver(state, http_status=http_status, external_ref=external_ref),
                outcome=state.value,
            )
        else:
            result = Result(
                started_at=now,
                duration=0.01,
                error=PermanentDeliveryError(error, code="delivery.refused"),
                outcome="permanent",
            )
        settlement = Settlement(
            state=state,
            outcome=result.outcome,
            last_error=error,
            delivered_at=now if state is DeliveryState.DELIVERED else None,
        )
        assert record_attempt(session.connection(), job, result, settlement, "test-worker")


def delivered_everywhere(hub: Hub) -> IngestResult:
    """A document from the ward: the district fetched and acknowledged it from its inbox, the
    city's webhook took it."""
    result = accept(hub)
    copies = {delivery.recipient: delivery.delivery_id for delivery in result.deliveries}
    settle(hub, copies[DISTRICT], DeliveryState.AVAILABLE)
    with hub.database.transaction() as session:
        acknowledge(session, DISTRICT, copies[DISTRICT], "done")
    settle(hub, copies[CITY], DeliveryState.DELIVERED, http_status=200)
    return result


def records(hub: Hub, packet_id: str | None = None) -> list[EvidenceRecord]:
    """The evidence records (of one packet), in the order they were written."""
    query = select(EvidenceRecord).order_by(EvidenceRecord.id)
    if packet_id is not None:
        query = query.where(EvidenceRecord.packet_id == packet_id)
    with hub.database.transaction() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


def statements(hub: Hub, packet_id: str) -> list[dict[str, Any]]:
    """The statements of a packet's evidence, in the order they were written."""
    return [json.loads(row.statement) for row in records(hub, packet_id)]


def seal_all(hub: Hub, key: HubSigner, when: datetime | None = None) -> None:
    """One checkpoint over every record written so far."""
    with hub.database.transaction() as session:
        seal(session, key, now=when or datetime.now(UTC))
