"""What the hub reports of the PDF signatures of a packet: the report models, the limits of an
inspection, and the few rules shared by the inspection and the packet summary (see
:mod:`hub.ingest.pdf_signatures`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_PDF_LIMITS",
    "MIB",
    "PDF_HEAD_BYTES",
    "PDF_TAIL_BYTES",
    "REASON_MAX",
    "SIGNATURE_SUBFILTERS",
    "TIMESTAMP_SUBFILTERS",
    "PacketPdfReport",
    "PdfInPacket",
    "PdfLimits",
    "PdfSignatureReport",
    "SignatureDetails",
    "SkippedContent",
    "pdf_status",
    "short_reason",
    "too_large",
    "unreadable",
]

T = TypeVar("T")

Integrity = Literal["intact", "broken", "unverifiable"]
Coverage = Literal["entire-file", "entire-revision", "partial"]
Trust = Literal["trusted", "untrusted", "unknown"]
Modifications = Literal["none", "lta-updates", "form-filling", "annotations", "other"]
PdfStatus = Literal["not-pdf", "unreadable", "unsigned", "signed", "tampered", "unverifiable"]
SignatureKind = Literal["signature", "document-timestamp"]

MIB = 1024 * 1024
PDF_HEAD_BYTES = 1024
"""A PDF's ``%PDF-`` header may follow up to 1024 bytes of junk (ISO 32000-1, annex H)."""
PDF_TAIL_BYTES = 1024
"""The ``%%EOF`` marker must lie within the last 1024 bytes (as PDF readers require)."""
CHUNK_BYTES = 1 << 16
REASON_MAX = 300


SIGNATURE_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})


@dataclass(frozen=True)
class PdfLimits:
    """Bounds on what one inspection reads; what exceeds them is skipped, with a reason."""

    max_pdf_bytes: int = 64 * MIB
    """Largest PDF inspected, raw or decompressed from a zip."""
    max_attachment_bytes: int = 128 * MIB
    """Largest decoded attachment kept for inspection (a PDF or a zip holding PDFs)."""
    max_zip_entries: int = 1_000
    """An archive listing more entries than this is not opened."""
    max_pdfs_per_attachment: int = 32
    """Most PDFs inspected inside one zip attachment."""
    max_unzipped_bytes: int = 256 * MIB
    """Most bytes decompressed out of one zip attachment, all its PDFs together."""
    max_signatures: int = 32
    """Most signatures validated in one PDF; further ones are counted, not validated."""
    max_revisions_for_diff: int = 200
    """Above this many revisions, the analysis of changes made after signing is skipped."""
    spool_in_memory_bytes: int = 2 * MIB
    """Attachments and zip members up to this size stay in memory; larger ones spill to a
    temporary file that is deleted when inspected."""


DEFAULT_PDF_LIMITS = PdfLimits()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class SignatureDetails(_Model):
    """One filled signature field of a PDF and what checking it found."""

    field_name: str
    kind: SignatureKind
    """``signature`` (``/Sig``: a person or a seal) or ``document-timestamp``."""
    signer_name: str | None = None
    """The signing certificate's subject common name (its whole subject if it has none)."""
    signer_subject: str | None = None
    """The subject as RFC 4514 text. Vietnamese certificates often carry a personal ID number
    (``UID=CMND:…``/``CCCD:…``) here: treat it as personal data."""
    signer_issuer: str | None = None
    signer_serial: str | None = None
    """Hex serial number of the signing certificate."""
    signing_time: datetime | None = None
    """The time the signer claims: the CMS ``signingTime`` attribute, else the PDF's ``/M``
    (for a document timestamp: the time in its token). Not proof of time by itself."""
    signing_time_source: Literal["signed-attributes", "pdf-m", "timestamp-token"] | None = None
    timestamp_time: datetime | None = None
    """The time of an RFC 3161 signature timestamp embedded in the signature, if any."""
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    integrity: Integrity
    """``intact``: the signed bytes' digest matches and the CMS signature verifies;
    ``broken``: one of them fails, or the signature cannot be decoded; ``unverifiable``: a
    format or case this check does not handle (reason in ``integrity_problem``)."""
    integrity_problem: str | None = None
    coverage: Coverage | None = None
    """``entire-file``; ``entire-revision``: the whole revision it signed, with later
    incremental updates (always the case for the first of two signatures); ``partial``:
    less than its own revision, a red flag."""
    covers_whole_file: bool = False
    signed_revision: int | None = None
    """0-based revision of the file the signature belongs to."""
    modifications: Modifications | None = None
    """What incremental updates after the signed revision did (pyHanko's difference
    analysis): ``none``; ``lta-updates`` (validation data, timestamps); ``form-filling``
    (further signatures, form fields); ``annotations``; ``other`` (anything else, e.g. page
    content). None when not analysed."""
    changes_permitted: bool | None = None
    """Whether those modifications are allowed for this signature (its DocMDP policy)."""
    valid: bool = False
    """Intact, covering at least its revision, and later changes permitted (a document
    timestamp: not found forbidden). A valid ``signature`` makes its PDF count as digitally
    signed (trust aside)."""
    trust: Trust = "unknown"
    """``trusted``: a path to a configured root (revocation not checked); ``untrusted``: no
    such path, an expired certificate, a disallowed algorithm or key usage; ``unknown``: no
    roots configured, or the signature is not intact."""
    trust_problem: str | None = None


class PdfSignatureReport(_Model):
    """What one PDF holds in signatures."""

    is_pdf: bool
    readable: bool
    status: PdfStatus
    """``signed`` (at least one valid signature), ``unsigned`` (none), ``tampered``
    (signatures, none valid, some broken or changed after signing), ``unverifiable``
    (signatures, none valid, none checkable), ``unreadable``, ``not-pdf``."""
    reason: str | None = None
    """Why the PDF could not be read (or is not a PDF)."""
    reason_code: str | None = None
    size: int = 0
    revisions: int | None = None
    signature_count: int = 0
    """Filled ``/Sig`` fields (document timestamps excluded)."""
    document_timestamp_count: int = 0
    empty_signature_fields: int = 0
    """Signature fields laid out but never signed."""
    unchecked_signature_count: int = 0
    """Signatures beyond ``PdfLimits.max_signatures``: counted, not validated."""
    signatures: tuple[SignatureDetails, ...] = ()
    all_intact: bool = False
    """At least one signature, and every signature (timestamps included) intact."""
    trust_checked: bool = False
    """Trust roots were configured for this inspection."""
    revocation_checked: Literal[False] = False
    """Always false: certificates are not checked for revocation (no OCSP, no CRL)."""


class PdfInPacket(_Model):
    """A PDF found in a packet: where, and its report."""

    attachment_index: int
    """0-based position of the attachment in the packet."""
    attachment_name: str | None = None
    member: str | None = None
    """The file name inside the zip attachment, when the PDF came from one."""
    report: PdfSignatureReport


class SkippedContent(_Model):
    """Something that may hold a PDF but was not inspected, and why."""

    attachment_index: int
    attachment_name: str | None = None
    member: str | None = None
    code: str
    reason: str


class PacketPdfReport(_Model):
    """The PDF signatures of one packet: counts for the console, details for people."""

    attachment_count: int
    other_attachment_count: int
    """Attachments that are neither PDFs nor zips (plus non-PDF members of zips)."""
    pdf_count: int
    signed_pdf_count: int
    unsigned_pdf_count: int
    tampered_pdf_count: int
    unverifiable_pdf_count: int
    unreadable_pdf_count: int
    trusted_pdf_count: int
    """Signed PDFs with at least one valid signature that is also trusted."""
    any_signed: bool
    """The packet's document counts as digitally signed (see the module's rule)."""
    all_intact: bool
    """At least one signature in the packet's PDFs, and every one of them intact."""
    skipped_count: int
    trust_checked: bool
    revocation_checked: Literal[False] = False
    pdfs: tuple[PdfInPacket, ...] = ()
    skipped: tuple[SkippedContent, ...] = ()


def pdf_status(details: Sequence[SignatureDetails], unchecked: int) -> PdfStatus:
    signatures = [d for d in details if d.kind == "signature"]
    if not signatures and not unchecked:
        return "unsigned"
    if any(d.valid for d in signatures):
        return "signed"
    if signatures and all(d.integrity == "unverifiable" for d in signatures):
        return "unverifiable"
    if not signatures:
        return "unverifiable"
    return "tampered"


def unreadable(code: str, reason: str, size: int, trust_checked: bool) -> PdfSignatureReport:
    return PdfSignatureReport(
        is_pdf=True,
        readable=False,
        status="unreadable",
        reason=reason,
        reason_code=code,
        size=size,
        trust_checked=trust_checked,
    )


def too_large(size: int, limits: PdfLimits, trust_checked: bool) -> PdfSignatureReport:
    return unreadable(
        "pdf.too-large",
        f"the PDF is larger than the {limits.max_pdf_bytes}-byte inspection limit",
        size,
        trust_checked,
    )


def short_reason(exc: BaseException) -> str:
    """An exception as one short line for a report."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:REASON_MAX]
