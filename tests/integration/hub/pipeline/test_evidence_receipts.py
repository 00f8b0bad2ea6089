"""Receipts: exported from the hub's evidence, verified offline with the certificate alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from hub.db.base import utcnow
from hub.db.models import EvidenceRecord, Packet
from hub.errors import NotFoundError
from hub.evidence.export import export_receipt, packets_named
from hub.evidence.offline import ReceiptCheck, verify_receipt
from hub.ingest.service import IngestResult
from hub.records.retention import delete_purged, purge_payloads

from .conftest import Hub
from .evidence import delivered_everywhere, records, signer
from .packets import CITY, DISTRICT

pytestmark = pytest.mark.integration


def receipt_of(hub: Hub, name: str) -> bytes:
    with hub.database.transaction() as session:
        return export_receipt(session, signer(), packets_named(session, name), subject=name)


def verified(receipt: bytes) -> ReceiptCheck:
    return verify_receipt(receipt, signer().certificate)


def test_the_receipt_of_a_delivered_document_verifies_offline(hub: Hub) -> None:
    result = delivered_everywhere(hub)

    check = verified(receipt_of(hub, result.packet_id))

    assert (check.ok, check.problems) == (True, [])
    assert [fact.kind for fact in check.facts] == [
        "submitted",
        "made-available",
        "retrieved",
        "delivered",
    ]
    assert [fact.fields.get("recipient") for fact in check.facts[1:]] == [DISTRICT, DISTRICT, CITY]


def test_exporting_seals_the_records_it_carries(hub: Hub) -> None:
    result = delivered_everywhere(hub)

    check = verified(receipt_of(hub, result.packet_id))

    assert all(row.seq is not None for row in records(hub))
    assert check.checkpoint == 1
    assert [fact.seq for fact in check.facts] == [1, 2, 3, 4]


def test_a_receipt_by_document_id_carries_the_documents_packets(hub: Hub) -> None:
    result = delivered_everywhere(hub)

    check = verified(receipt_of(hub, result.document_id))

    assert check.ok
    assert check.subject == result.document_id
    assert {fact.packet for fact in check.facts} == {result.packet_id}


def test_a_receipt_outlives_the_purge_of_the_payload(hub: Hub) -> None:
    result = delivered_everywhere(hub)
    digest = aged(hub, result)
    with hub.database.transaction() as session:
        report = purge_payloads(
            session, hub.blobs, older_than=timedelta(days=30), actor="test", reason="retention"
        )
    delete_purged(hub.blobs, report)
    assert not hub.blobs.exists(digest)

    check = verified(receipt_of(hub, result.packet_id))

    assert check.ok
    assert check.facts[-1].kind == "payload-purged"
    assert {fact.fields["sha256"] for fact in check.facts} == {digest}


def test_one_byte_changed_in_an_exported_receipt_names_its_record(hub: Hub) -> None:
    result = delivered_everywhere(hub)
    receipt = receipt_of(hub, result.packet_id)
    position = receipt.index(b'kind="retrieved"') + len(b'kind="re')
    changed = receipt[:position] + b"X" + receipt[position + 1 :]

    check = verified(changed)

    assert not check.ok
    assert (check.first_broken or "").startswith("record 3 of the receipt (retrieved of packet")


def test_a_packet_without_evidence_has_no_receipt(hub: Hub) -> None:
    result = delivered_everywhere(hub)
    with hub.database.transaction() as session:
        session.execute(delete(EvidenceRecord))

    with pytest.raises(NotFoundError) as raised:
        receipt_of(hub, result.packet_id)

    assert raised.value.code == "evidence.none"


def aged(hub: Hub, result: IngestResult) -> str:
    """Make the packet 40 days old; its SHA-256."""
    with hub.database.transaction() as session:
        session.execute(
            update(Packet)
            .where(Packet.id == result.packet_id)
            .values(received_at=utcnow() - timedelta(days=40))
        )
        digest = session.scalar(select(Packet.sha256).where(Packet.id == result.packet_id))
    assert digest is not None
    return digest
