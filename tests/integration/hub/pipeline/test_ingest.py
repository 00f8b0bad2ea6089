"""Ingest on a real database: one transaction per packet, deduplication, authorisation, routing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import event, func, select, update

import edxml
from hub.auth.callers import AuthenticatedAgency
from hub.channels import Channel
from hub.db.database import Database
from hub.db.models import Agency, Delivery, DeliveryState, OutboxMessage, Packet
from hub.errors import DuplicateDocumentError, ForbiddenError, UnroutablePacketError
from hub.ingest.revocation import RevocationLists
from hub.ingest.service import IngestResult, IngestService
from tests.unit import sigtools
from tests.unit.test_signature_revocation import revocation_list

from ..conftest import snapshot
from . import packets
from .conftest import Hub
from .packets import CITY, DEPARTMENT, DISTRICT, DISTRICT_OFFICE, MINISTRY, WARD

pytestmark = pytest.mark.integration


def caller(code: str) -> AuthenticatedAgency:
    return AuthenticatedAgency(code=code, name=code)


def count(database: Database, model: Any) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_document_to_three_agencies_creates_three_deliveries_and_outbox_rows(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT, CITY, DEPARTMENT))

    result = hub.ingest.accept(raw, caller(WARD))

    assert [d.recipient for d in result.deliveries] == [DISTRICT, CITY, DEPARTMENT]
    assert {d.state for d in result.deliveries} == {DeliveryState.QUEUED}
    with hub.database.transaction() as session:
        outbox = session.scalars(select(OutboxMessage)).all()
    assert sorted(row.delivery_id for row in outbox) == sorted(
        d.delivery_id for d in result.deliveries
    )
    assert {row.reason for row in outbox} == {"ingest"}


def test_each_delivery_takes_its_recipients_channel_from_the_directory(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT, CITY, MINISTRY))

    result = hub.ingest.accept(raw, caller(WARD))

    assert [d.channel for d in result.deliveries] == [Channel.INBOX, Channel.WEBHOOK, Channel.AXIS]


@pytest.fixture
def failing_outbox(hub: Hub) -> Iterator[None]:
    def fail(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            raise RuntimeError("injected failure after the packet and deliveries were inserted")

    engine = hub.database.engine
    event.listen(engine, "before_cursor_execute", fail)
    yield
    event.remove(engine, "before_cursor_execute", fail)


def test_failure_after_the_packet_insert_leaves_nothing_behind(
    hub: Hub, failing_outbox: None
) -> None:
    _, raw = packets.document()
    before = snapshot(hub.database.engine)

    with pytest.raises(RuntimeError, match="injected"):
        hub.ingest.accept(raw, caller(WARD))

    assert snapshot(hub.database.engine) == before


def test_identical_packet_again_answers_the_same_ids_and_writes_nothing(hub: Hub) -> None:
    _, raw = packets.document()
    first = hub.ingest.accept(raw, caller(WARD))
    before = snapshot(hub.database.engine)

    again = hub.ingest.accept(raw, caller(WARD))

    assert again.model_dump(exclude={"created"}) == first.model_dump(exclude={"created"})
    assert (first.created, again.created) == (True, False)
    assert snapshot(hub.database.engine) == before


def test_packet_bytes_are_stored_once_exactly_as_received(hub: Hub) -> None:
    _, raw = packets.document()

    result = hub.ingest.accept(raw, caller(WARD))

    with hub.database.transaction() as session:
        packet = session.get(Packet, result.packet_id)
        assert packet is not None
        key = packet.sha256
    assert hub.blobs.read(key) == raw


def test_packet_row_records_the_facts_of_the_packet(hub: Hub) -> None:
    document, raw = packets.document(DISTRICT, (CITY,))

    result = hub.ingest.accept(raw, caller(DISTRICT_OFFICE))

    with hub.database.transaction() as session:
        packet = session.get(Packet, result.packet_id)
        assert packet is not None
        facts = (
            packet.kind,
            packet.sender_code,
            packet.submitted_by,
            packet.document_id,
            packet.business_type,
            packet.size,
            packet.signature_status,
            packet.summary["to"],
        )
    assert facts == ("edoc", DISTRICT, DISTRICT_OFFICE, document.document_id, 0, len(raw),
                     "absent", [CITY])  # fmt: skip


def test_different_packet_with_an_accepted_sender_and_document_id_is_a_conflict(
    hub: Hub,
) -> None:
    document, raw = packets.document()
    first = hub.ingest.accept(raw, caller(WARD))
    _, other = packets.document(document_id=document.document_id, subject="Bản khác")

    with pytest.raises(DuplicateDocumentError) as raised:
        hub.ingest.accept(other, caller(WARD))

    assert raised.value.details["document_id"] == document.document_id
    assert raised.value.details["packet_id"] == first.packet_id


def test_two_concurrent_posts_of_one_document_id_exactly_one_wins(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    document, one = packets.document()
    _, two = packets.document(document_id=document.document_id, subject="Bản khác")
    both_checked = threading.Barrier(2, timeout=10)
    store_blob = IngestService._store_blob

    def store_after_both_checked(self: IngestService, raw: bytes, sha256: str) -> None:
        both_checked.wait()
        store_blob(self, raw, sha256)

    monkeypatch.setattr(IngestService, "_store_blob", store_after_both_checked)
    outcomes: list[IngestResult | Exception] = []

    def post(raw: bytes) -> None:
        try:
            outcomes.append(hub.ingest.accept(raw, caller(WARD)))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=post, args=(raw,)) for raw in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "DuplicateDocumentError",
        "IngestResult",
    ]
    assert count(hub.database, Packet) == 1


def test_two_concurrent_posts_of_identical_bytes_share_one_packet(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, raw = packets.document()
    both_checked = threading.Barrier(2, timeout=10)
    store_blob = IngestService._store_blob

    def store_after_both_checked(self: IngestService, data: bytes, sha256: str) -> None:
        both_checked.wait()
        store_blob(self, data, sha256)

    monkeypatch.setattr(IngestService, "_store_blob", store_after_both_checked)
    results: list[IngestResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(hub.ingest.accept(raw, caller(WARD))))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len({result.packet_id for result in results}) == 1
    assert sorted(result.created for result in results) == [False, True]


def test_packet_from_another_sender_is_forbidden(hub: Hub) -> None:
    _, raw = packets.document(WARD)

    with pytest.raises(ForbiddenError) as raised:
        hub.ingest.accept(raw, caller(DISTRICT))

    assert raised.value.code == "packet.sender-mismatch"


def test_delegate_may_send_for_the_agency_it_serves(hub: Hub) -> None:
    _, raw = packets.document(DISTRICT, (CITY,))

    result = hub.ingest.accept(raw, caller(DISTRICT_OFFICE))

    assert result.created


def test_principal_may_not_send_for_its_delegate(hub: Hub) -> None:
    _, raw = packets.document(DISTRICT_OFFICE, (CITY,))

    with pytest.raises(ForbiddenError):
        hub.ingest.accept(raw, caller(DISTRICT))


def test_unknown_recipients_are_refused_naming_the_codes(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT, "000.00.00.H99", "000.00.00.H98"))

    with pytest.raises(UnroutablePacketError) as raised:
        hub.ingest.accept(raw, caller(WARD))

    assert raised.value.details["codes"] == ["000.00.00.H99", "000.00.00.H98"]
    assert count(hub.database, Packet) == 0


def test_unknown_recipient_goes_to_the_axis_when_the_axis_route_is_on(hub: Hub) -> None:
    routed = hub.with_settings(axis_route=True)
    _, raw = packets.document(WARD, (DISTRICT, "000.00.00.H99"))

    result = routed.ingest.accept(raw, caller(WARD))

    assert [(d.recipient, d.channel) for d in result.deliveries] == [
        (DISTRICT, Channel.INBOX),
        ("000.00.00.H99", Channel.AXIS),
    ]


def test_inactive_recipient_is_refused_even_with_the_axis_route(hub: Hub) -> None:
    with hub.database.transaction() as session:
        session.execute(update(Agency).where(Agency.code == CITY).values(active=False))
    _, raw = packets.document(WARD, (DISTRICT, CITY))

    with pytest.raises(UnroutablePacketError) as raised:
        hub.with_settings(axis_route=True).ingest.accept(raw, caller(WARD))

    assert (raised.value.code, raised.value.details["codes"]) == (
        "packet.inactive-recipient",
        [CITY],
    )


def test_status_is_routed_to_the_sender_of_the_document(hub: Hub) -> None:
    document, raw = packets.document()
    hub.ingest.accept(raw, caller(WARD))

    result = hub.ingest.accept(packets.status(document, "03", DISTRICT), caller(DISTRICT))

    assert (result.kind, [d.recipient for d in result.deliveries]) == ("status", [WARD])
    with hub.database.transaction() as session:
        delivery = session.get(Delivery, result.deliveries[0].delivery_id)
        assert delivery is not None
        assert delivery.packet.addressee_code == WARD


def test_signature_outcome_and_trust_are_recorded(hub: Hub) -> None:
    identity = sigtools.signer()
    _, raw = packets.document()
    signed = edxml.sign(raw, identity.key, identity.cert)
    trusting = IngestService(
        hub.settings, hub.database, hub.blobs, trust_anchors=[sigtools.root_ca().cert]
    )

    result = trusting.accept(signed, caller(WARD))

    with hub.database.transaction() as session:
        packet = session.get(Packet, result.packet_id)
        assert packet is not None
        assert (packet.signature_status, packet.signature_trusted) == ("valid", True)


def test_a_signature_by_a_revoked_certificate_is_recorded_as_not_trusted(
    hub: Hub, tmp_path: Path
) -> None:
    identity = sigtools.signer()
    _, raw = packets.document()
    signed = edxml.sign(raw, identity.key, identity.cert)
    crl_file = tmp_path / "root.crl"
    crl_file.write_bytes(
        revocation_list(sigtools.root_ca(), [identity.cert]).public_bytes(
            serialization.Encoding.PEM
        )
    )
    checking = IngestService(
        hub.settings,
        hub.database,
        hub.blobs,
        trust_anchors=[sigtools.root_ca().cert],
        revocation=RevocationLists([crl_file]),
    )

    result = checking.accept(signed, caller(WARD))

    with hub.database.transaction() as session:
        packet = session.get(Packet, result.packet_id)
        assert packet is not None
        assert (packet.signature_status, packet.signature_trusted) == ("valid", False)
