"""Digital signatures inside the PDF attachments of edXML packets.

Why: under Decree 30/2020 the legally binding signatures of an administrative document (the
authorised person's, then the agency's seal) are PDF signatures (CMS/PAdES) inside the attached
PDF, not the packet's XML signature (DOMAIN.md §3). The city office ranks units by the share
of documents carrying such a signature (§8), so the hub inspects every packet's PDFs on ingest
and stores what it found.

What:

- :func:`inspect_pdf` reads one PDF with pyHanko and reports each signature: signer, signing
  time, integrity (digest and CMS signature), coverage (whole file, whole signed revision, or
  less), what changed after signing, and trust against configured CA roots.
- :func:`inspect_attachments` does so for every PDF of a packet, raw or inside a zip
  attachment, and summarises the packet. :class:`PdfAttachmentCollector` is the same work as
  an ``edxml`` attachment opener, to ride on a reading pass the caller already makes.

The rule for "digitally signed": a PDF is ``signed`` when at least one of its ``/Sig``
signatures is *valid*: its integrity is intact (the digest of the signed byte ranges matches
and the CMS signature verifies with the signer's key), it covers at least the whole revision
it signed, and whatever was appended after it is of a kind the signature permits (more
signatures, form filling, archival data: pyHanko's difference analysis and the DocMDP
policy). Document timestamps do not count. A packet is *digitally signed* (``any_signed``)
when at least one of its PDF attachments is ``signed``. Trust is reported beside this and
does not enter the rule, because roots may not be configured; the console can require it
with ``trusted_pdf_count``.

Trust is offline: a path to one of the configured roots, at the validation time (now by
default; pass the packet's arrival time when re-inspecting old packets), with the
certificates the signature carries. Nothing is fetched (no OCSP, CRL or AIA) and revocation
is **not** checked (``revocation_checked`` is always false). Without roots, trust is
``unknown``.

Zip attachments: every member whose name ends in ``.pdf`` is inspected; nested archives are
not opened. The functions are synchronous and CPU-bound: from async code, call them through
``asyncio.to_thread``.

Cost: a PDF without filled signature fields costs a parse of its cross-reference data and
catalogue, nothing more. Bad input never raises: an unparseable PDF is reported
``readable: False`` with a reason, a non-PDF ``is_pdf: False``; zip archives are opened with
caps on entries, PDFs per archive and decompressed bytes, and what a cap stops is listed in
``skipped``. Only a packet that cannot be read at all raises, as a hub error.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Literal, cast

from cryptography import x509

import edxml
from edxml.attachments import is_zip
from hub.errors import MalformedPacketError, StorageError
from hub.ingest.pdf_reports import (
    CHUNK_BYTES,
    DEFAULT_PDF_LIMITS,
    PDF_HEAD_BYTES,
    PacketPdfReport,
    PdfInPacket,
    PdfLimits,
    PdfSignatureReport,
    PdfStatus,
    SignatureDetails,
    SkippedContent,
    short_reason,
    too_large,
    unreadable,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "DEFAULT_PDF_LIMITS",
    "PacketPdfReport",
    "PdfAttachmentCollector",
    "PdfInPacket",
    "PdfLimits",
    "PdfSignatureReport",
    "PdfSignedState",
    "SignatureDetails",
    "SkippedContent",
    "inspect_attachments",
    "inspect_pdf",
    "pdf_signed_state",
]


def _inspect_stream(
    stream: IO[bytes],
    trust_roots: Sequence[x509.Certificate],
    limits: PdfLimits,
    validation_time: datetime | None,
    *,
    size: int | None = None,
) -> PdfSignatureReport:
    """:func:`hub.ingest.pdf_validation.inspect_stream`, pyHanko imported on first use."""
    from hub.ingest.pdf_validation import inspect_stream

    return inspect_stream(stream, trust_roots, limits, validation_time, size=size)


# -- one PDF ----------------------------------------------------------------------------


def inspect_pdf(
    data: bytes | BinaryIO,
    *,
    trust_roots: Sequence[x509.Certificate] = (),
    limits: PdfLimits = DEFAULT_PDF_LIMITS,
    validation_time: datetime | None = None,
) -> PdfSignatureReport:
    """Report the signatures of one PDF; never raises for bad input.

    ``data`` is the PDF's bytes or a binary file (read from its current position; a
    non-seekable stream is copied first, up to ``limits.max_pdf_bytes``). ``trust_roots``
    are the CA certificates a signing certificate must chain to; ``validation_time`` (an
    aware datetime, default now) is the moment at which that chain must hold.
    """
    trust_checked = bool(trust_roots)
    if isinstance(data, bytes | bytearray | memoryview):
        return _inspect_stream(io.BytesIO(data), trust_roots, limits, validation_time)
    try:
        seekable = data.seekable()
    except (OSError, ValueError):
        seekable = False
    if seekable:
        try:
            start = data.tell()
            data.seek(0, os.SEEK_END)
            size = data.tell() - start
            data.seek(start)
        except (OSError, ValueError) as exc:
            return unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
        if start == 0:
            return _inspect_stream(data, trust_roots, limits, validation_time, size=size)
    with _spool(limits) as copy:
        try:
            copied = _copy_capped(data, copy, limits.max_pdf_bytes)
        except (OSError, ValueError) as exc:
            return unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
        if copied is None:
            return too_large(limits.max_pdf_bytes + 1, limits, trust_checked)
        copy.seek(0)
        return _inspect_stream(copy, trust_roots, limits, validation_time, size=copied)


# -- packets ----------------------------------------------------------------------------


def _spool(limits: PdfLimits) -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=limits.spool_in_memory_bytes)


def _copy_capped(source: IO[bytes], dest: IO[bytes], cap: int) -> int | None:
    """Copy ``source`` to ``dest``; the byte count, or None as soon as it would pass ``cap``."""
    total = 0
    while chunk := source.read(CHUNK_BYTES):
        total += len(chunk)
        if total > cap:
            return None
        dest.write(chunk)
    return total


class _Capture(io.RawIOBase):
    """Where edxml writes one decoded attachment: kept only if it may hold a PDF."""

    def __init__(self, collector: PdfAttachmentCollector, index: int, name: str | None) -> None:
        super().__init__()
        self.collector = collector
        self.index = index
        self.name = name
        self.size = 0
        self.kind: Literal["pdf", "zip", "other"] | None = None
        self.too_large = False
        self.spool = _spool(collector.limits)

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        count = memoryview(data).nbytes
        self.size += count
        if self.kind == "other" or self.too_large:
            return count
        if self.size > self.collector.limits.max_attachment_bytes:
            self.too_large = True
            self.spool.truncate(0)
            return count
        self.spool.write(data)
        if self.kind is None and self.size >= PDF_HEAD_BYTES:
            self._decide()
        return count

    def _decide(self) -> None:
        self.spool.seek(0)
        head = self.spool.read(PDF_HEAD_BYTES)
        self.spool.seek(0, os.SEEK_END)
        if is_zip(head):
            self.kind = "zip"
        elif b"%PDF-" in head:
            self.kind = "pdf"
        else:
            self.kind = "other"
            self.spool.truncate(0)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self.kind is None and not self.too_large:
                self._decide()
            self.collector._finish(self)
        finally:
            self.spool.close()
            super().close()


class PdfAttachmentCollector:
    """Inspects the PDFs of a packet's attachments as a reading pass decodes them.

    Pass :meth:`opener` as the ``opener`` of an ``edxml`` read (``edxml.examine``,
    ``edxml.read``...), then call :meth:`report`. Each attachment is inspected when its
    content ends and then dropped, so a packet's attachments are never all held at once.
    """

    def __init__(
        self,
        *,
        trust_roots: Sequence[x509.Certificate] = (),
        limits: PdfLimits = DEFAULT_PDF_LIMITS,
        validation_time: datetime | None = None,
    ) -> None:
        self.trust_roots = tuple(trust_roots)
        self.limits = limits
        self.validation_time = validation_time
        self.attachment_count = 0
        self.other_count = 0
        self.pdfs: list[PdfInPacket] = []
        self.skipped: list[SkippedContent] = []

    def opener(self, index: int, name: str | None) -> BinaryIO:
        """An ``edxml`` attachment opener: where attachment ``index`` is decoded to."""
        self.attachment_count += 1
        return cast(BinaryIO, _Capture(self, index, name))

    def report(self) -> PacketPdfReport:
        """The summary of what was collected so far."""
        return _summarise(self)

    def _inspect(self, stream: IO[bytes], size: int) -> PdfSignatureReport:
        return _inspect_stream(
            stream, self.trust_roots, self.limits, self.validation_time, size=size
        )

    def _skip(self, capture: _Capture, code: str, reason: str, member: str | None = None) -> None:
        self.skipped.append(
            SkippedContent(
                attachment_index=capture.index,
                attachment_name=capture.name,
                member=member,
                code=code,
                reason=reason,
            )
        )

    def _add(self, capture: _Capture, report: PdfSignatureReport, member: str | None) -> None:
        if not report.is_pdf:
            self.other_count += 1
            return
        self.pdfs.append(
            PdfInPacket(
                attachment_index=capture.index,
                attachment_name=capture.name,
                member=member,
                report=report,
            )
        )

    def _finish(self, capture: _Capture) -> None:
        limits = self.limits
        if capture.too_large:
            self._skip(
                capture,
                "attachment.too-large",
                f"the attachment ({capture.size} bytes) is larger than the "
                f"{limits.max_attachment_bytes}-byte inspection limit",
            )
        elif capture.kind == "pdf":
            if capture.size > limits.max_pdf_bytes:
                self._skip(
                    capture,
                    "pdf.too-large",
                    f"the PDF ({capture.size} bytes) is larger than the "
                    f"{limits.max_pdf_bytes}-byte inspection limit",
                )
            else:
                self._add(capture, self._inspect(capture.spool, capture.size), None)
        elif capture.kind == "zip":
            self._finish_zip(capture)
        else:
            self.other_count += 1

    def _finish_zip(self, capture: _Capture) -> None:
        limits = self.limits
        try:
            archive = zipfile.ZipFile(capture.spool)
        except Exception as exc:  # zipfile raises BadZipFile, OSError, ValueError, EOFError...
            self._skip(capture, "zip.unreadable", f"the zip cannot be read: {short_reason(exc)}")
            return
        with archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
            if len(entries) > limits.max_zip_entries:
                self._skip(
                    capture,
                    "zip.too-many-entries",
                    f"the zip lists {len(entries)} files, more than the "
                    f"{limits.max_zip_entries} inspected",
                )
                return
            budget = limits.max_unzipped_bytes
            inspected = 0
            for info in entries:
                member = info.filename
                if not member.lower().endswith(".pdf"):
                    self.other_count += 1
                    continue
                if inspected >= limits.max_pdfs_per_attachment:
                    self._skip(
                        capture,
                        "zip.too-many-pdfs",
                        f"only the first {limits.max_pdfs_per_attachment} PDFs of a zip are "
                        "inspected",
                        member,
                    )
                    continue
                cap = min(limits.max_pdf_bytes, budget)
                if info.flag_bits & 0x1:
                    self._skip(capture, "zip.encrypted-member", "the file is encrypted", member)
                    continue
                if info.file_size > cap:
                    self._skip(capture, *_oversize(info.file_size, limits, budget), member)
                    continue
                with _spool(limits) as copy:
                    try:
                        with archive.open(info) as source:
                            copied = _copy_capped(source, copy, cap)
                    except Exception as exc:  # corrupt data, unsupported method, bad CRC...
                        self._skip(
                            capture,
                            "zip.unreadable-member",
                            f"the file cannot be decompressed: {short_reason(exc)}",
                            member,
                        )
                        continue
                    if copied is None:
                        self._skip(capture, *_oversize(cap + 1, limits, budget), member)
                        continue
                    budget -= copied
                    inspected += 1
                    copy.seek(0)
                    self._add(capture, self._inspect(copy, copied), member)


def _oversize(size: int, limits: PdfLimits, budget: int) -> tuple[str, str]:
    if size > limits.max_pdf_bytes:
        return (
            "zip.member-too-large",
            f"the file decompresses to more than the {limits.max_pdf_bytes}-byte limit "
            f"for one PDF ({size} bytes or more)",
        )
    return (
        "zip.too-much-data",
        f"the zip's PDFs decompress to more than the {limits.max_unzipped_bytes}-byte "
        f"limit for one attachment ({budget} bytes were left)",
    )


def _summarise(collector: PdfAttachmentCollector) -> PacketPdfReport:
    reports = [pdf.report for pdf in collector.pdfs]

    def count(status: PdfStatus) -> int:
        return sum(1 for report in reports if report.status == status)

    signatures = [sig for report in reports for sig in report.signatures]
    unchecked = sum(report.unchecked_signature_count for report in reports)
    trusted = sum(
        1
        for report in reports
        if any(
            s.valid and s.trust == "trusted" and s.kind == "signature" for s in report.signatures
        )
    )
    signed = count("signed")
    return PacketPdfReport(
        attachment_count=collector.attachment_count,
        other_attachment_count=collector.other_count,
        pdf_count=len(reports),
        signed_pdf_count=signed,
        unsigned_pdf_count=count("unsigned"),
        tampered_pdf_count=count("tampered"),
        unverifiable_pdf_count=count("unverifiable"),
        unreadable_pdf_count=count("unreadable"),
        trusted_pdf_count=trusted,
        any_signed=signed > 0,
        all_intact=bool(signatures)
        and not unchecked
        and all(sig.integrity == "intact" for sig in signatures),
        skipped_count=len(collector.skipped),
        trust_checked=bool(collector.trust_roots),
        pdfs=tuple(collector.pdfs),
        skipped=tuple(collector.skipped),
    )


PdfSignedState = Literal["signed", "tampered", "unverifiable", "unsigned", "no-pdf"]


def pdf_signed_state(report: PacketPdfReport) -> PdfSignedState:
    """One word for a packet's PDF signatures, as the console counts them.

    ``signed`` by the module's rule; otherwise the worst thing found among signatures
    (``tampered`` before ``unverifiable``); ``unsigned`` when its PDFs carry no signature;
    ``no-pdf`` when it has no PDF at all.
    """
    if report.pdf_count == 0:
        return "no-pdf"
    if report.any_signed:
        return "signed"
    if report.tampered_pdf_count:
        return "tampered"
    if report.unverifiable_pdf_count:
        return "unverifiable"
    return "unsigned"


def inspect_attachments(
    packet: bytes | str | os.PathLike[str],
    *,
    trust_roots: Sequence[x509.Certificate] = (),
    limits: PdfLimits = DEFAULT_PDF_LIMITS,
    packet_limits: edxml.Limits = edxml.DEFAULT_LIMITS,
    validation_time: datetime | None = None,
) -> PacketPdfReport:
    """Inspect the PDFs of an edXML packet (raw PDF attachments and PDFs inside zips).

    The packet is read in one safe streaming pass (``edxml.examine``: a packet that breaks a
    routing rule is still inspected). Raises :class:`~hub.errors.MalformedPacketError` when
    the packet is not readable XML/edXML or an attachment is not valid base64, and
    :class:`~hub.errors.StorageError` when a packet file cannot be read.
    """
    collector = PdfAttachmentCollector(
        trust_roots=trust_roots, limits=limits, validation_time=validation_time
    )
    source: bytes | Path = packet if isinstance(packet, bytes) else Path(packet)
    try:
        edxml.examine(source, limits=packet_limits, opener=collector.opener)
    except edxml.EdxmlError as exc:
        raise MalformedPacketError(
            exc.message,
            code=exc.code,
            element=exc.element,
            line=exc.line,
            details={"issues": [exc.as_dict()]},
        ) from exc
    except OSError as exc:
        raise StorageError(
            f"the packet file cannot be read: {exc.strerror or exc}", code="storage.read-failed"
        ) from exc
    return collector.report()
