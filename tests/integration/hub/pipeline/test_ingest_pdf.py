"""Ingest records the digital signatures inside each document's PDF attachments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import edxml
from hub.auth.callers import AuthenticatedAgency
from hub.db.models import Packet
from hub.ingest.service import IngestService
from simulators import pdfs

from . import packets
from .conftest import Hub
from .packets import CITY, DISTRICT, WARD

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def city_ca() -> pdfs.Authority:
    return pdfs.Authority.create("Test Government CA")


@pytest.fixture(scope="module")
def person(city_ca: pdfs.Authority) -> pdfs.Signer:
    return city_ca.issue("Nguyễn Văn An", "UBND Phường Văn Miếu")


def _ingest(hub: Hub, ca: pdfs.Authority, *files: edxml.FileToAttach) -> Packet:
    document, contents = edxml.new_document(
        sender=WARD,
        recipients=[DISTRICT, CITY],
        number=str(next(packets._numbers)),
        notation="UBND-VP",
        subject="Về việc thử nghiệm chữ ký số",
        files=files,
    )
    service = IngestService(hub.settings, hub.database, hub.blobs, pdf_trust_roots=[ca.cert])
    result = service.accept(edxml.build(document, contents), AuthenticatedAgency(WARD, WARD))
    with hub.database.transaction() as session:
        row = session.scalars(select(Packet).where(Packet.id == result.packet_id)).one()
        session.expunge(row)
    return row


def test_a_document_with_a_signed_pdf_is_recorded_signed_with_its_signer(
    hub: Hub, city_ca: pdfs.Authority, person: pdfs.Signer
) -> None:
    signed = pdfs.sign(pdfs.blank_pdf(), person)

    row = _ingest(hub, city_ca, edxml.FileToAttach(signed, name="vanban.pdf"))

    assert (row.pdf_signed, row.pdf_count, row.pdf_signed_count) == ("signed", 1, 1)
    assert row.pdf_report is not None
    signature = row.pdf_report["pdfs"][0]["report"]["signatures"][0]
    assert signature["signer_name"] == "Nguyễn Văn An"
    assert signature["trust"] == "trusted"


def test_a_pdf_changed_after_signing_is_recorded_tampered(
    hub: Hub, city_ca: pdfs.Authority, person: pdfs.Signer
) -> None:
    tampered = pdfs.flip_signed_byte(pdfs.sign(pdfs.blank_pdf(), person))

    row = _ingest(hub, city_ca, edxml.FileToAttach(tampered, name="vanban.pdf"))

    assert (row.pdf_signed, row.pdf_signed_count) == ("tampered", 0)


def test_a_signed_pdf_inside_a_zip_counts_and_an_unsigned_one_alone_does_not(
    hub: Hub, city_ca: pdfs.Authority, person: pdfs.Signer
) -> None:
    archive = pdfs.zipped({"vanban.pdf": pdfs.sign(pdfs.blank_pdf(), person)})

    zipped_row = _ingest(hub, city_ca, edxml.FileToAttach(archive, name="hoso.zip"))
    unsigned_row = _ingest(hub, city_ca, edxml.FileToAttach(pdfs.blank_pdf(), name="a.pdf"))

    assert zipped_row.pdf_signed == "signed"
    assert (unsigned_row.pdf_signed, unsigned_row.pdf_count) == ("unsigned", 1)


def test_a_document_without_pdfs_and_a_status_packet_are_told_apart(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    no_pdf = edxml.new_document(
        sender=WARD,
        recipients=[DISTRICT],
        number=str(next(packets._numbers)),
        notation="UBND-VP",
        subject="Không có tệp PDF",
        files=(edxml.FileToAttach(b"plain text", name="ghichu.txt"),),
    )
    hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))
    status = hub.ingest.accept(
        edxml.build(edxml.status_for(document, "01", reporter=DISTRICT)),
        AuthenticatedAgency(DISTRICT, DISTRICT),
    )
    plain = hub.ingest.accept(edxml.build(*no_pdf), AuthenticatedAgency(WARD, WARD))

    with hub.database.transaction() as session:
        rows = session.execute(
            select(Packet.id, Packet.pdf_signed).where(
                Packet.id.in_([status.packet_id, plain.packet_id])
            )
        )
        states = dict(rows.all())
    assert states == {status.packet_id: None, plain.packet_id: "no-pdf"}
