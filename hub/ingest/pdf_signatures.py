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

import asyncio
import contextlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import extract_self_reported_ts
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext

import edxml
from edxml.attachments import is_zip
from hub.errors import MalformedPacketError, StorageError

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

T = TypeVar("T")

Integrity = Literal["intact", "broken", "unverifiable"]
Coverage = Literal["entire-file", "entire-revision", "partial"]
Trust = Literal["trusted", "untrusted", "unknown"]
Modifications = Literal["none", "lta-updates", "form-filling", "annotations", "other"]
PdfStatus = Literal["not-pdf", "unreadable", "unsigned", "signed", "tampered", "unverifiable"]
SignatureKind = Literal["signature", "document-timestamp"]

_MIB = 1024 * 1024
_HEAD = 1024
"""A PDF's ``%PDF-`` header may follow up to 1024 bytes of junk (ISO 32000-1, annex H)."""
_TAIL = 1024
"""The ``%%EOF`` marker must lie within the last 1024 bytes (as PDF readers require)."""
_CHUNK = 1 << 16
_REASON_MAX = 300

_SIG_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
_TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})
_KEY_USAGE = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
)
"""Signing certificates must allow nonRepudiation or digitalSignature (either will do)."""

_COVERAGE: dict[SignatureCoverageLevel, Coverage] = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire-file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire-revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "partial",
}
_MODIFICATIONS: dict[ModificationLevel, Modifications] = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta-updates",
    ModificationLevel.FORM_FILLING: "form-filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


@dataclass(frozen=True)
class PdfLimits:
    """Bounds on what one inspection reads; what exceeds them is skipped, with a reason."""

    max_pdf_bytes: int = 64 * _MIB
    """Largest PDF inspected, raw or decompressed from a zip."""
    max_attachment_bytes: int = 128 * _MIB
    """Largest decoded attachment kept for inspection (a PDF or a zip holding PDFs)."""
    max_zip_entries: int = 1_000
    """An archive listing more entries than this is not opened."""
    max_pdfs_per_attachment: int = 32
    """Most PDFs inspected inside one zip attachment."""
    max_unzipped_bytes: int = 256 * _MIB
    """Most bytes decompressed out of one zip attachment, all its PDFs together."""
    max_signatures: int = 32
    """Most signatures validated in one PDF; further ones are counted, not validated."""
    max_revisions_for_diff: int = 200
    """Above this many revisions, the analysis of changes made after signing is skipped."""
    spool_in_memory_bytes: int = 2 * _MIB
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
            return _unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
        if start == 0:
            return _inspect_stream(data, trust_roots, limits, validation_time, size=size)
    with _spool(limits) as copy:
        try:
            copied = _copy_capped(data, copy, limits.max_pdf_bytes)
        except (OSError, ValueError) as exc:
            return _unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
        if copied is None:
            return _too_large(limits.max_pdf_bytes + 1, limits, trust_checked)
        copy.seek(0)
        return _inspect_stream(copy, trust_roots, limits, validation_time, size=copied)


def _inspect_stream(
    stream: IO[bytes],
    trust_roots: Sequence[x509.Certificate],
    limits: PdfLimits,
    validation_time: datetime | None,
    *,
    size: int | None = None,
) -> PdfSignatureReport:
    trust_checked = bool(trust_roots)
    try:
        if size is None:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
        stream.seek(0)
        head = stream.read(_HEAD)
        stream.seek(max(0, size - _TAIL))
        tail = stream.read(_TAIL)
        stream.seek(0)
    except (OSError, ValueError) as exc:
        return _unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
    if b"%PDF-" not in head:
        return PdfSignatureReport(
            is_pdf=False,
            readable=False,
            status="not-pdf",
            reason="not a PDF: no %PDF- header in the first 1024 bytes",
            reason_code="pdf.not-pdf",
            size=size,
            trust_checked=trust_checked,
        )
    if size > limits.max_pdf_bytes:
        return _too_large(size, limits, trust_checked)
    if b"%%EOF" not in tail:
        # Readers look for the marker near the end; without it pyHanko would scan the whole
        # file backwards byte by byte, a cost an uploader could impose at will.
        return _unreadable(
            "pdf.no-eof",
            f"the PDF has no %%EOF marker in its last {_TAIL} bytes: truncated or not a PDF",
            size,
            trust_checked,
        )
    try:
        reader = PdfFileReader(stream, strict=False)
        if reader.encrypted and not _open_encrypted(reader):
            return _unreadable(
                "pdf.encrypted",
                "the PDF is encrypted with a password; its signatures cannot be read",
                size,
                trust_checked,
            )
        filled: list[tuple[str, Any]] = []
        empty = 0
        for name, value, field_ref in enumerate_sig_fields(reader):
            if value:
                filled.append((str(name), field_ref))
            else:
                empty += 1
        revisions = int(reader.xrefs.total_revisions)
    except Exception as exc:  # pyHanko raises many kinds on malformed input; all mean "bad PDF"
        return _unreadable(
            "pdf.unreadable", f"the PDF cannot be parsed: {_say(exc)}", size, trust_checked
        )
    if not filled:
        return PdfSignatureReport(
            is_pdf=True,
            readable=True,
            status="unsigned",
            size=size,
            revisions=revisions,
            empty_signature_fields=empty,
            trust_checked=trust_checked,
        )
    checked = filled[: limits.max_signatures]
    skip_diff = revisions > limits.max_revisions_for_diff
    try:
        details = _run(
            lambda: _validate_all(
                reader, checked, trust_roots, validation_time, skip_diff=skip_diff
            )
        )
    except Exception as exc:  # a failure outside any one signature (e.g. a trust root)
        problem = f"validation could not run: {_say(exc)}"
        details = [
            SignatureDetails(
                field_name=name,
                kind="signature",
                integrity="unverifiable",
                integrity_problem=problem,
            )
            for name, _ in checked
        ]
    unchecked = len(filled) - len(checked)
    signature_count = sum(1 for d in details if d.kind == "signature") + unchecked
    return PdfSignatureReport(
        is_pdf=True,
        readable=True,
        status=_pdf_status(details, unchecked),
        size=size,
        revisions=revisions,
        signature_count=signature_count,
        document_timestamp_count=sum(1 for d in details if d.kind == "document-timestamp"),
        empty_signature_fields=empty,
        unchecked_signature_count=unchecked,
        signatures=tuple(details),
        all_intact=bool(details)
        and not unchecked
        and all(d.integrity == "intact" for d in details),
        trust_checked=trust_checked,
    )


def _pdf_status(details: Sequence[SignatureDetails], unchecked: int) -> PdfStatus:
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


def _open_encrypted(reader: PdfFileReader) -> bool:
    """Open a PDF encrypted without a user password (permissions only); False otherwise."""
    try:
        result = reader.decrypt(b"")
    except Exception:  # a public-key or unknown security handler: cannot open
        return False
    return bool(result.status.value)


def _unreadable(code: str, reason: str, size: int, trust_checked: bool) -> PdfSignatureReport:
    return PdfSignatureReport(
        is_pdf=True,
        readable=False,
        status="unreadable",
        reason=reason,
        reason_code=code,
        size=size,
        trust_checked=trust_checked,
    )


def _too_large(size: int, limits: PdfLimits, trust_checked: bool) -> PdfSignatureReport:
    return _unreadable(
        "pdf.too-large",
        f"the PDF is larger than the {limits.max_pdf_bytes}-byte inspection limit",
        size,
        trust_checked,
    )


def _say(exc: BaseException) -> str:
    """An exception as one short line for a report."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:_REASON_MAX]


# -- validating signatures --------------------------------------------------------------


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run pyHanko's asynchronous validation from synchronous code, even inside a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdfsig") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _validation_context(
    trust_roots: Sequence[x509.Certificate], validation_time: datetime | None
) -> ValidationContext:
    """An offline context: only these roots (never the system's), no fetching, no revocation."""
    return ValidationContext(
        trust_roots=[
            cert
            for root in trust_roots
            for cert in load_certs_from_pemder_data(root.public_bytes(Encoding.DER))
        ],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=validation_time,
    )


async def _validate_all(
    reader: PdfFileReader,
    fields: Sequence[tuple[str, Any]],
    trust_roots: Sequence[x509.Certificate],
    validation_time: datetime | None,
    *,
    skip_diff: bool,
) -> list[SignatureDetails]:
    context = _validation_context(trust_roots, validation_time)
    try:
        return [
            await _validate_one(reader, name, ref, context, bool(trust_roots), skip_diff)
            for name, ref in fields
        ]
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]  # unannotated in pyHanko


async def _validate_one(
    reader: PdfFileReader,
    name: str,
    field_ref: Any,
    context: ValidationContext,
    trust_checked: bool,
    skip_diff: bool,
) -> SignatureDetails:
    kind: SignatureKind = "signature"
    try:
        field = field_ref.get_object()
        sig_object = field["/V"].get_object()
        kind = "document-timestamp" if str(sig_object.get("/Type", "")) == "/DocTimeStamp" else kind
        subfilter = str(sig_object.get("/SubFilter", ""))
    except Exception as exc:  # malformed field dictionary
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity="broken",
            integrity_problem=f"the signature dictionary cannot be read: {_say(exc)}",
        )
    supported = _TIMESTAMP_SUBFILTERS if kind == "document-timestamp" else _SIG_SUBFILTERS
    if subfilter not in supported:
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity="unverifiable",
            integrity_problem=f"unsupported signature format (SubFilter {subfilter or 'missing'})",
        )
    try:
        embedded = EmbeddedPdfSignature(reader, field, name)
    except Exception as exc:  # no /ByteRange, unreadable /Contents, not CMS
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity="broken",
            integrity_problem=f"the signature's content cannot be decoded: {_say(exc)}",
        )
    facts = _signer_facts(embedded, kind)
    try:
        status: PdfSignatureStatus | DocumentTimestampStatus
        if kind == "document-timestamp":
            status = await async_validate_pdf_timestamp(
                embedded, validation_context=context, skip_diff=skip_diff
            )
        else:
            status = await async_validate_pdf_signature(
                embedded,
                signer_validation_context=context,
                ts_validation_context=context,
                key_usage_settings=_KEY_USAGE,
                skip_diff=skip_diff,
            )
    except SignatureValidationError as exc:
        subindication = str(getattr(exc, "ades_subindication", "") or "")
        integrity: Integrity = (
            "unverifiable" if "NO_SIGNING_CERTIFICATE" in subindication else "broken"
        )
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity=integrity,
            integrity_problem=str(exc.failure_message)[:_REASON_MAX],
            **facts,
            **_coverage_facts(embedded),
        )
    except Exception as exc:  # anything else pyHanko trips on: we could not check it
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity="unverifiable",
            integrity_problem=f"validation failed: {_say(exc)}",
            **facts,
            **_coverage_facts(embedded),
        )
    return _details_from_status(name, kind, status, facts, embedded, trust_checked)


def _details_from_status(
    name: str,
    kind: SignatureKind,
    status: PdfSignatureStatus | DocumentTimestampStatus,
    facts: dict[str, Any],
    embedded: EmbeddedPdfSignature,
    trust_checked: bool,
) -> SignatureDetails:
    intact = bool(status.intact and status.valid)
    if intact:
        problem = None
    elif not status.intact:
        problem = "the document's bytes no longer match the signed digest"
    else:
        problem = "the CMS signature does not verify with the signing certificate's key"
    coverage = _COVERAGE.get(status.coverage) if status.coverage is not None else None
    level = status.modification_level
    modifications = _MODIFICATIONS.get(level) if level is not None else None
    changes_permitted = status.docmdp_ok
    permitted = changes_permitted is True or (
        kind == "document-timestamp" and changes_permitted is None
    )
    trust: Trust
    trust_problem: str | None = None
    if not trust_checked:
        trust = "unknown"
    elif not intact:
        trust, trust_problem = "unknown", "not checked: the signature is not intact"
    elif status.trusted:
        trust = "trusted"
    else:
        trust = "untrusted"
        indication = status.trust_problem_indic
        trust_problem = (
            getattr(indication, "name", str(indication)).lower() if indication else "untrusted"
        )
    timestamp_time: datetime | None = None
    if isinstance(status, PdfSignatureStatus):
        token = status.timestamp_validity
        timestamp_time = token.timestamp if token is not None else None
    else:
        facts = {
            **facts,
            "signing_time": status.timestamp,
            "signing_time_source": "timestamp-token",
        }
    return SignatureDetails(
        field_name=name,
        kind=kind,
        **facts,
        timestamp_time=timestamp_time,
        digest_algorithm=str(status.md_algorithm),
        signature_algorithm=str(status.pkcs7_signature_mechanism),
        integrity="intact" if intact else "broken",
        integrity_problem=problem,
        coverage=coverage,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signed_revision=_signed_revision(embedded),
        modifications=modifications,
        changes_permitted=changes_permitted,
        valid=intact and coverage in ("entire-file", "entire-revision") and permitted,
        trust=trust,
        trust_problem=trust_problem,
    )


def _coverage_facts(embedded: EmbeddedPdfSignature) -> dict[str, Any]:
    level = embedded.coverage
    if not isinstance(level, SignatureCoverageLevel):
        return {"signed_revision": _signed_revision(embedded)}
    return {
        "coverage": _COVERAGE.get(level),
        "covers_whole_file": level == SignatureCoverageLevel.ENTIRE_FILE,
        "signed_revision": _signed_revision(embedded),
    }


def _signed_revision(embedded: EmbeddedPdfSignature) -> int | None:
    revision = embedded.signed_revision
    return revision if isinstance(revision, int) else None


def _signer_facts(embedded: EmbeddedPdfSignature, kind: SignatureKind) -> dict[str, Any]:
    """Who signed and when they say they did, read before (and whatever) validation finds."""
    facts: dict[str, Any] = {}
    try:
        der = embedded.signer_cert.dump()
    except Exception:  # no signer certificate in the CMS: validation will say so
        der = None
    if der is not None:
        try:
            cert = x509.load_der_x509_certificate(der)
            subject = cert.subject.rfc4514_string()
            common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            value = common[0].value if common else None
            facts.update(
                signer_name=(value.decode() if isinstance(value, bytes) else value) or subject,
                signer_subject=subject,
                signer_issuer=cert.issuer.rfc4514_string(),
                signer_serial=format(cert.serial_number, "x"),
            )
        except Exception:  # a certificate cryptography will not parse: keep pyHanko's view
            try:
                facts["signer_name"] = str(embedded.signer_cert.subject.human_friendly)
            except Exception:
                facts["signer_name"] = None
    if kind == "signature":
        with contextlib.suppress(Exception):  # an unparseable date leaves the time unknown
            claimed = extract_self_reported_ts(embedded.signer_info)
            if claimed is not None:
                facts.update(signing_time=claimed, signing_time_source="signed-attributes")
            else:
                claimed = embedded.self_reported_timestamp
                if claimed is not None:
                    facts.update(signing_time=claimed, signing_time_source="pdf-m")
    return facts


# -- packets ----------------------------------------------------------------------------


def _spool(limits: PdfLimits) -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=limits.spool_in_memory_bytes)


def _copy_capped(source: IO[bytes], dest: IO[bytes], cap: int) -> int | None:
    """Copy ``source`` to ``dest``; the byte count, or None as soon as it would pass ``cap``."""
    total = 0
    while chunk := source.read(_CHUNK):
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
        if self.kind is None and self.size >= _HEAD:
            self._decide()
        return count

    def _decide(self) -> None:
        self.spool.seek(0)
        head = self.spool.read(_HEAD)
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
            self._skip(capture, "zip.unreadable", f"the zip cannot be read: {_say(exc)}")
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
                            f"the file cannot be decompressed: {_say(exc)}",
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
