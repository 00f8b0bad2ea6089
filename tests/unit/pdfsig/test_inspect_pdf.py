"""inspect_pdf: the signatures of one PDF, their integrity, coverage and trust."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import socket

import pytest

from hub.ingest.pdf_signatures import PdfSignatureReport, inspect_pdf
from simulators.pdfs import (
    Authority,
    Signer,
    TimeStampAuthority,
    append_update,
    flip_signed_byte,
    relabel_as_unsupported_format,
    sign,
)


def test_unsigned_pdf_has_no_signatures(unsigned_pdf: bytes) -> None:
    report = inspect_pdf(unsigned_pdf)

    assert (report.is_pdf, report.readable, report.status) == (True, True, "unsigned")
    assert report.signature_count == 0
    assert report.signatures == ()


def test_signed_pdf_has_one_intact_signature(signed_pdf: bytes) -> None:
    report = inspect_pdf(signed_pdf)

    assert report.signature_count == 1
    (signature,) = report.signatures
    assert signature.integrity == "intact"
    assert (signature.coverage, signature.covers_whole_file) == ("entire-file", True)
    assert signature.valid
    assert report.status == "signed"
    assert report.all_intact


def test_signature_names_the_signer(signed_pdf: bytes) -> None:
    (signature,) = inspect_pdf(signed_pdf).signatures

    assert signature.signer_name == "Nguyễn Văn An"
    assert signature.signer_subject == "O=UBND Quận Ba Đình,CN=Nguyễn Văn An"
    assert signature.signer_issuer == "CN=Test Government CA"


def test_signature_gives_the_signing_time_from_its_signed_attributes(
    unsigned_pdf: bytes, person: Signer
) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pdf = sign(unsigned_pdf, person)
    after = dt.datetime.now(dt.UTC)

    (signature,) = inspect_pdf(pdf).signatures

    assert signature.signing_time is not None
    assert before <= signature.signing_time <= after
    assert signature.signing_time_source == "signed-attributes"


def test_signature_is_trusted_when_its_ca_is_a_configured_root(
    signed_pdf: bytes, city_ca: Authority
) -> None:
    (signature,) = inspect_pdf(signed_pdf, trust_roots=[city_ca.cert]).signatures

    assert signature.trust == "trusted"
    assert signature.trust_problem is None


def test_signature_is_untrusted_when_only_another_ca_is_a_root(
    signed_pdf: bytes, other_ca: Authority
) -> None:
    (signature,) = inspect_pdf(signed_pdf, trust_roots=[other_ca.cert]).signatures

    assert signature.trust == "untrusted"
    assert signature.trust_problem == "no_certificate_chain_found"
    assert signature.integrity == "intact"


def test_trust_is_unknown_without_roots(signed_pdf: bytes) -> None:
    report = inspect_pdf(signed_pdf)

    assert report.signatures[0].trust == "unknown"
    assert not report.trust_checked


def test_certificate_expired_at_the_validation_time_is_untrusted(
    signed_pdf: bytes, city_ca: Authority
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)

    (signature,) = inspect_pdf(
        signed_pdf, trust_roots=[city_ca.cert], validation_time=later
    ).signatures

    assert signature.trust == "untrusted"


def test_revocation_is_never_claimed_as_checked(signed_pdf: bytes, city_ca: Authority) -> None:
    report = inspect_pdf(signed_pdf, trust_roots=[city_ca.cert])

    assert report.revocation_checked is False


def test_flipped_byte_inside_the_signed_range_breaks_integrity(signed_pdf: bytes) -> None:
    report = inspect_pdf(flip_signed_byte(signed_pdf))

    (signature,) = report.signatures
    assert signature.integrity == "broken"
    assert signature.integrity_problem == "the document's bytes no longer match the signed digest"
    assert not signature.valid
    assert report.status == "tampered"
    assert not report.all_intact


def test_broken_signature_is_not_assessed_for_trust(signed_pdf: bytes, city_ca: Authority) -> None:
    (signature,) = inspect_pdf(flip_signed_byte(signed_pdf), trust_roots=[city_ca.cert]).signatures

    assert signature.trust == "unknown"


def test_update_after_signing_leaves_the_signed_revision_intact_but_not_the_whole_file(
    signed_pdf: bytes,
) -> None:
    report = inspect_pdf(append_update(signed_pdf))

    (signature,) = report.signatures
    assert signature.integrity == "intact"
    assert signature.coverage == "entire-revision"
    assert not signature.covers_whole_file
    assert report.revisions == 3
    assert signature.signed_revision == 1


def test_page_content_changed_after_signing_makes_the_pdf_tampered(signed_pdf: bytes) -> None:
    report = inspect_pdf(append_update(signed_pdf))

    (signature,) = report.signatures
    assert (signature.modifications, signature.changes_permitted) == ("other", False)
    assert not signature.valid
    assert report.status == "tampered"


def test_person_and_seal_signatures_are_both_counted(
    signed_pdf: bytes, seal: Signer, city_ca: Authority
) -> None:
    pdf = sign(signed_pdf, seal, field="Seal")

    report = inspect_pdf(pdf, trust_roots=[city_ca.cert])

    assert report.signature_count == 2
    assert [s.signer_name for s in report.signatures] == ["Nguyễn Văn An", "UBND Quận Ba Đình"]
    assert all(s.valid and s.trust == "trusted" for s in report.signatures)
    assert report.all_intact


def test_first_of_two_signatures_covers_its_revision_and_permits_the_second(
    signed_pdf: bytes, seal: Signer
) -> None:
    first, second = inspect_pdf(sign(signed_pdf, seal, field="Seal")).signatures

    assert (first.coverage, first.modifications, first.changes_permitted) == (
        "entire-revision",
        "form-filling",
        True,
    )
    assert second.coverage == "entire-file"


def test_document_timestamp_is_reported_but_not_counted_as_a_signature(
    unsigned_pdf: bytes, tsa: TimeStampAuthority, city_ca: Authority
) -> None:
    report = inspect_pdf(tsa.stamp(unsigned_pdf), trust_roots=[city_ca.cert])

    assert (report.signature_count, report.document_timestamp_count) == (0, 1)
    (stamp,) = report.signatures
    assert (stamp.kind, stamp.integrity, stamp.trust) == ("document-timestamp", "intact", "trusted")
    assert stamp.signing_time_source == "timestamp-token"
    assert report.status == "unsigned"


def test_signature_in_an_unsupported_format_is_unverifiable(signed_pdf: bytes) -> None:
    report = inspect_pdf(relabel_as_unsupported_format(signed_pdf))

    (signature,) = report.signatures
    assert signature.integrity == "unverifiable"
    assert signature.integrity_problem == (
        "unsupported signature format (SubFilter /adbe.x509.rsa_sha1)"
    )
    assert report.status == "unverifiable"


def test_unparseable_pdf_is_unreadable_with_a_reason() -> None:
    report = inspect_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%% broken xref\n%%EOF\n")

    assert (report.is_pdf, report.readable, report.status) == (True, False, "unreadable")
    assert report.reason_code == "pdf.unreadable"
    assert report.reason is not None
    assert report.reason.startswith("the PDF cannot be parsed: ")


def test_a_pdf_without_an_end_marker_is_refused_without_scanning_it() -> None:
    junk = b"%PDF-1.7\n" + bytes(range(256)) * 40_000  # 10 MB, no %%EOF anywhere

    report = inspect_pdf(junk)

    assert (report.is_pdf, report.status, report.reason_code) == (True, "unreadable", "pdf.no-eof")


def test_non_pdf_bytes_are_reported_as_not_a_pdf() -> None:
    report = inspect_pdf(b"PK\x03\x04 this is a .docx, not a PDF")

    assert (report.is_pdf, report.status, report.reason_code) == (False, "not-pdf", "pdf.not-pdf")


def test_pdf_over_the_size_limit_is_not_parsed(signed_pdf: bytes) -> None:
    from hub.ingest.pdf_signatures import PdfLimits

    report = inspect_pdf(signed_pdf, limits=PdfLimits(max_pdf_bytes=1024))

    assert (report.readable, report.reason_code) == (False, "pdf.too-large")


def test_pdf_is_read_from_a_binary_file(signed_pdf: bytes) -> None:
    report = inspect_pdf(io.BytesIO(signed_pdf))

    assert report.signature_count == 1


def test_report_survives_a_json_round_trip(signed_pdf: bytes, city_ca: Authority) -> None:
    report = inspect_pdf(signed_pdf, trust_roots=[city_ca.cert])

    assert PdfSignatureReport.model_validate_json(report.model_dump_json()) == report


def test_inspection_opens_no_network_connection(
    signed_pdf: bytes, other_ca: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    report = inspect_pdf(signed_pdf, trust_roots=[other_ca.cert])

    assert report.signatures[0].trust == "untrusted"


def test_inspection_works_inside_a_running_event_loop(signed_pdf: bytes) -> None:
    async def inspect_in_loop() -> PdfSignatureReport:
        return inspect_pdf(signed_pdf)

    report = asyncio.run(inspect_in_loop())

    assert report.signatures[0].integrity == "intact"
