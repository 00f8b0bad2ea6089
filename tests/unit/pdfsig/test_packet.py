"""inspect_attachments: the PDFs of an edXML packet, raw or zipped, and the packet summary."""

from __future__ import annotations

from pathlib import Path

import pytest

import edxml
from hub.errors import MalformedPacketError
from hub.ingest.pdf_signatures import (
    PacketPdfReport,
    PdfAttachmentCollector,
    PdfLimits,
    inspect_attachments,
)
from simulators.pdfs import Authority, flip_signed_byte, packet, zipped

MIB = 1024 * 1024


def test_pdf_inside_a_zip_attachment_is_found_and_inspected(signed_pdf: bytes) -> None:
    data = packet(edxml.FileToAttach(signed_pdf, name="12-UBND-VP.pdf", zip=True))

    report = inspect_attachments(data)

    (found,) = report.pdfs
    assert (found.attachment_index, found.attachment_name, found.member) == (
        0,
        "12-UBND-VP.pdf",
        "12-UBND-VP.pdf",
    )
    assert found.report.status == "signed"
    assert report.any_signed


def test_raw_pdf_attachment_is_inspected(signed_pdf: bytes) -> None:
    report = inspect_attachments(packet(edxml.FileToAttach(signed_pdf, name="vb.pdf")))

    (found,) = report.pdfs
    assert found.member is None
    assert found.report.signature_count == 1


def test_every_pdf_member_of_a_zip_is_inspected(signed_pdf: bytes, unsigned_pdf: bytes) -> None:
    archive = zipped({"van-ban.pdf": signed_pdf, "phu-luc.PDF": unsigned_pdf})

    report = inspect_attachments(packet(edxml.FileToAttach(archive, name="ho-so.zip")))

    assert [(pdf.member, pdf.report.status) for pdf in report.pdfs] == [
        ("van-ban.pdf", "signed"),
        ("phu-luc.PDF", "unsigned"),
    ]


def test_non_pdf_attachment_is_ignored() -> None:
    data = packet(edxml.FileToAttach(b"Noi dung cong van", name="ghi-chu.txt"))

    report = inspect_attachments(data)

    assert (report.attachment_count, report.other_attachment_count) == (1, 1)
    assert (report.pdf_count, report.skipped) == (0, ())
    assert not report.any_signed


def test_zip_member_with_a_huge_decompressed_size_is_skipped_with_a_reason() -> None:
    bomb = zipped({"bom.pdf": b"%PDF-1.7\n" + bytes(65 * MIB)}, level=1)
    assert len(bomb) < MIB

    report = inspect_attachments(packet(edxml.FileToAttach(bomb, name="ho-so.zip")))

    (skipped,) = report.skipped
    assert (skipped.member, skipped.code) == ("bom.pdf", "zip.member-too-large")
    assert "67108864-byte limit" in skipped.reason
    assert report.pdf_count == 0


def test_zip_member_larger_than_it_declares_is_cut_off_and_skipped(unsigned_pdf: bytes) -> None:
    archive = bytearray(zipped({"a.pdf": unsigned_pdf + bytes(64 * 1024)}))
    # declare a 100-byte file in the local header and the central directory
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = archive.index(signature) + offset
        archive[at : at + 4] = (100).to_bytes(4, "little")

    report = inspect_attachments(packet(edxml.FileToAttach(bytes(archive), name="a.zip")))

    (skipped,) = report.skipped
    assert skipped.code == "zip.unreadable-member"


def test_pdfs_beyond_the_per_zip_cap_are_skipped(unsigned_pdf: bytes) -> None:
    archive = zipped({f"{n}.pdf": unsigned_pdf for n in range(3)})
    limits = PdfLimits(max_pdfs_per_attachment=2)

    report = inspect_attachments(packet(edxml.FileToAttach(archive, name="a.zip")), limits=limits)

    assert report.pdf_count == 2
    assert [(s.member, s.code) for s in report.skipped] == [("2.pdf", "zip.too-many-pdfs")]


def test_zip_listing_too_many_entries_is_not_opened(unsigned_pdf: bytes) -> None:
    archive = zipped({f"{n}.txt": b"x" for n in range(5)} | {"a.pdf": unsigned_pdf})

    report = inspect_attachments(
        packet(edxml.FileToAttach(archive, name="a.zip")), limits=PdfLimits(max_zip_entries=4)
    )

    assert [s.code for s in report.skipped] == ["zip.too-many-entries"]
    assert report.pdf_count == 0


def test_corrupt_zip_attachment_is_skipped_with_a_reason() -> None:
    data = packet(edxml.FileToAttach(b"PK\x03\x04" + bytes(100), name="hong.zip"))

    report = inspect_attachments(data)

    (skipped,) = report.skipped
    assert skipped.code == "zip.unreadable"
    assert skipped.reason.startswith("the zip cannot be read: ")


def test_attachment_over_the_size_limit_is_skipped(signed_pdf: bytes) -> None:
    data = packet(edxml.FileToAttach(signed_pdf, name="vb.pdf"))

    report = inspect_attachments(data, limits=PdfLimits(max_attachment_bytes=2048))

    assert [s.code for s in report.skipped] == ["attachment.too-large"]
    assert report.pdf_count == 0


def test_packet_summary_counts_signed_unsigned_and_tampered_pdfs(
    signed_pdf: bytes, unsigned_pdf: bytes
) -> None:
    data = packet(
        edxml.FileToAttach(signed_pdf, name="ky.pdf"),
        edxml.FileToAttach(unsigned_pdf, name="khong-ky.pdf", zip=True),
        edxml.FileToAttach(flip_signed_byte(signed_pdf), name="bi-sua.pdf"),
    )

    report = inspect_attachments(data)

    assert (
        report.pdf_count,
        report.signed_pdf_count,
        report.unsigned_pdf_count,
        report.tampered_pdf_count,
    ) == (3, 1, 1, 1)
    assert report.any_signed
    assert not report.all_intact


def test_packet_without_a_valid_signature_is_not_digitally_signed(
    signed_pdf: bytes, unsigned_pdf: bytes
) -> None:
    data = packet(
        edxml.FileToAttach(unsigned_pdf, name="khong-ky.pdf"),
        edxml.FileToAttach(flip_signed_byte(signed_pdf), name="bi-sua.pdf"),
    )

    assert not inspect_attachments(data).any_signed


def test_trusted_pdfs_are_counted_when_roots_are_configured(
    signed_pdf: bytes, city_ca: Authority
) -> None:
    data = packet(edxml.FileToAttach(signed_pdf, name="ky.pdf"))

    report = inspect_attachments(data, trust_roots=[city_ca.cert])

    assert (report.trust_checked, report.trusted_pdf_count) == (True, 1)


def test_packet_is_read_from_a_path(signed_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "goi-tin.edxml"
    path.write_bytes(packet(edxml.FileToAttach(signed_pdf, name="ky.pdf")))

    assert inspect_attachments(path).signed_pdf_count == 1


def test_unreadable_packet_raises_the_hubs_malformed_packet_error() -> None:
    with pytest.raises(MalformedPacketError) as caught:
        inspect_attachments(b"<edXML><unclosed>")

    assert caught.value.code == "xml.malformed"


def test_collector_rides_on_a_reading_pass_the_caller_makes(signed_pdf: bytes) -> None:
    collector = PdfAttachmentCollector()

    edxml.read(packet(edxml.FileToAttach(signed_pdf, name="ky.pdf")), opener=collector.opener)

    assert collector.report().signed_pdf_count == 1


def test_packet_report_survives_a_json_round_trip(signed_pdf: bytes) -> None:
    report = inspect_attachments(packet(edxml.FileToAttach(signed_pdf, name="ky.pdf", zip=True)))

    assert PacketPdfReport.model_validate_json(report.model_dump_json()) == report
