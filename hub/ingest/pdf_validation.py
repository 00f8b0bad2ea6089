"""The signatures of one PDF checked with pyHanko: integrity, coverage, changes after signing
and trust (see :mod:`hub.ingest.pdf_signatures` for the rules). Imported when a packet has a
PDF to inspect, so processes that never inspect one do not load pyHanko."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
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

from hub.ingest.pdf_reports import (
    PDF_HEAD_BYTES,
    PDF_TAIL_BYTES,
    REASON_MAX,
    SIGNATURE_SUBFILTERS,
    TIMESTAMP_SUBFILTERS,
    Coverage,
    Integrity,
    Modifications,
    PdfLimits,
    PdfSignatureReport,
    SignatureDetails,
    SignatureKind,
    T,
    Trust,
    pdf_status,
    short_reason,
    too_large,
    unreadable,
)

__all__ = ["inspect_stream"]

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


def inspect_stream(
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
        head = stream.read(PDF_HEAD_BYTES)
        stream.seek(max(0, size - PDF_TAIL_BYTES))
        tail = stream.read(PDF_TAIL_BYTES)
        stream.seek(0)
    except (OSError, ValueError) as exc:
        return unreadable("pdf.unreadable", f"the PDF cannot be read: {exc}", 0, trust_checked)
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
        return too_large(size, limits, trust_checked)
    if b"%%EOF" not in tail:
        # Readers look for the marker near the end; without it pyHanko would scan the whole
        # file backwards byte by byte, a cost an uploader could impose at will.
        return unreadable(
            "pdf.no-eof",
            f"the PDF has no %%EOF marker in its last {PDF_TAIL_BYTES} bytes: "
            "truncated or not a PDF",
            size,
            trust_checked,
        )
    try:
        reader = PdfFileReader(stream, strict=False)
        if reader.encrypted and not _open_encrypted(reader):
            return unreadable(
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
        return unreadable(
            "pdf.unreadable", f"the PDF cannot be parsed: {short_reason(exc)}", size, trust_checked
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
        problem = f"validation could not run: {short_reason(exc)}"
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
        status=pdf_status(details, unchecked),
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


def _open_encrypted(reader: PdfFileReader) -> bool:
    """Open a PDF encrypted without a user password (permissions only); False otherwise."""
    try:
        result = reader.decrypt(b"")
    except Exception:  # a public-key or unknown security handler: cannot open
        return False
    return bool(result.status.value)


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
            integrity_problem=f"the signature dictionary cannot be read: {short_reason(exc)}",
        )
    supported = TIMESTAMP_SUBFILTERS if kind == "document-timestamp" else SIGNATURE_SUBFILTERS
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
            integrity_problem=f"the signature's content cannot be decoded: {short_reason(exc)}",
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
            integrity_problem=str(exc.failure_message)[:REASON_MAX],
            **facts,
            **_coverage_facts(embedded),
        )
    except Exception as exc:  # anything else pyHanko trips on: we could not check it
        return SignatureDetails(
            field_name=name,
            kind=kind,
            integrity="unverifiable",
            integrity_problem=f"validation failed: {short_reason(exc)}",
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
