"""One look at a packet: what it is, whether it is valid, and what its signature is worth.

This is what ``edxml inspect`` and ``edxml validate`` print and what the hub records on
ingest: the facts routing needs, every validation issue, and the signature outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict

from edxml.attachments import AttachmentOpener
from edxml.errors import Issue, MoreIssues, PacketError, cap_issues
from edxml.models import DocumentPacket, Packet
from edxml.reader import Reading, examine, packet_kind
from edxml.schema import validate as schema_validate
from edxml.signature import FAST_PATH_MAX, SignatureOutcome, Verification
from edxml.xmlstream import DEFAULT_LIMITS, Limits, Rereadable, Source


class AttachmentSummary(BaseModel):
    """One attachment as reported: name, declared type, decoded size and hash, zipped."""

    model_config = ConfigDict(frozen=True)

    name: str | None
    content_type: str | None
    size: int
    sha256: str
    zipped: bool


class SignatureSummary(BaseModel):
    """The signature outcome as reported."""

    model_config = ConfigDict(frozen=True)

    status: Literal["valid", "invalid", "absent", "unverifiable"]
    reason: str | None
    trusted: bool | None


class Inspection(BaseModel):
    """The summary of one packet (the JSON object of ``edxml inspect --json``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    kind: Literal["edoc", "status"] | None
    document_id: str | None
    from_: str | None = None
    to: list[str]
    code: str | None
    subject: str | None
    business_type: int | None
    status_code: str | None
    attachments: list[AttachmentSummary]
    signature: SignatureSummary | None
    valid: bool
    issues: list[dict[str, object]]
    warnings: list[str]

    def as_json(self) -> dict[str, Any]:
        """The summary with ``from`` spelled as in the packet."""
        data = self.model_dump()
        data["from"] = data.pop("from_")
        ordered = ["kind", "document_id", "from", "to", "code", "subject", "business_type"]
        ordered += ["status_code", "attachments", "signature", "valid", "issues", "warnings"]
        return {key: data[key] for key in ordered}


def check(source: Source, *, limits: Limits = DEFAULT_LIMITS) -> tuple[Packet | None, list[Issue]]:
    """Read and schema-check a packet: the model when readable, and every issue found."""
    try:
        reading = examine(source, limits=limits)
    except PacketError as exc:
        return None, [Issue.from_error(exc)]
    return reading.packet, _issues(reading, limits)


def _issues(reading: Reading, limits: Limits) -> list[Issue]:
    """The reader's rule violations and the schema's findings, each fault once, at most
    ``limits.max_issues`` of them listed and the rest counted."""
    found = schema_validate(reading.tree, packet_kind(reading.tree), max_issues=limits.max_issues)
    return cap_issues(_unique([*reading.issues, *found]), limits.max_issues)


def _unique(issues: Sequence[Issue]) -> list[Issue]:
    """Every issue once; a schema issue on an element the reader already faulted is dropped.

    The reader names a path (``To/OrganId``), the schema one element (``To`` or ``OrganId``):
    they are the same fault when they share the line and a name.
    """
    faulted: dict[int | None, set[str]] = {}
    for issue in issues:
        if not issue.code.startswith("schema."):
            faulted.setdefault(issue.line, set()).update((issue.element or "").split("/"))
    kept: dict[Issue, None] = {}
    more: list[Issue] = []
    for issue in issues:
        if isinstance(issue, MoreIssues):
            more.append(issue)
        elif not (
            issue.code.startswith("schema.") and issue.element in faulted.get(issue.line, ())
        ):
            kept.setdefault(issue)
    return [*sorted(kept, key=lambda i: i.line or 0), *more]


def summarise(
    packet: Packet | None,
    issues: Sequence[Issue],
    signature: SignatureOutcome | None,
    warnings: Sequence[str] = (),
) -> Inspection:
    """The inspection of a read packet."""
    sig = (
        SignatureSummary(
            status=signature.status, reason=signature.reason, trusted=signature.trusted
        )
        if signature is not None
        else None
    )
    if packet is None:
        return Inspection(
            kind=None, document_id=None, from_=None, to=[], code=None, subject=None,
            business_type=None, status_code=None, attachments=[], signature=sig,
            valid=False, issues=[i.as_dict() for i in issues], warnings=list(warnings),
        )  # fmt: skip
    if isinstance(packet, DocumentPacket):
        header = packet.header
        return Inspection(
            kind="edoc",
            document_id=header.document_id,
            from_=packet.sender,
            to=list(packet.recipients),
            code=header.code.display if header.code else None,
            subject=header.subject,
            business_type=packet.business_type,
            status_code=None,
            attachments=[
                AttachmentSummary(
                    name=a.attachment_name,
                    content_type=a.content_type,
                    size=a.size,
                    sha256=a.sha256,
                    zipped=a.zipped,
                )
                for a in packet.attachments
            ],
            signature=sig,
            valid=not issues,
            issues=[i.as_dict() for i in issues],
            warnings=list(packet.warnings),
        )
    return Inspection(
        kind="status",
        document_id=packet.header.response_for.document_id,
        from_=packet.sender,
        to=list(packet.recipients),
        code=packet.header.response_for.code,
        subject=None,
        business_type=None,
        status_code=packet.status_code,
        attachments=[],
        signature=sig,
        valid=not issues,
        issues=[i.as_dict() for i in issues],
        warnings=list(packet.warnings),
    )


def inspect(
    source: Source,
    *,
    trust_anchors: Sequence[x509.Certificate] = (),
    crls: Sequence[x509.CertificateRevocationList] = (),
    limits: Limits = DEFAULT_LIMITS,
    verify_signature: bool = True,
) -> Inspection:
    """Read, validate and verify a packet in one pass over its bytes.

    Raises :class:`PacketError` only when the input is unsafe or not XML at all; a packet
    that breaks a rule is reported with ``valid`` false and its issues.
    """
    return inspect_packet(
        source,
        trust_anchors=trust_anchors,
        crls=crls,
        limits=limits,
        verify_signature=verify_signature,
    )[0]


def inspect_packet(
    source: Source,
    *,
    trust_anchors: Sequence[x509.Certificate] = (),
    crls: Sequence[x509.CertificateRevocationList] = (),
    limits: Limits = DEFAULT_LIMITS,
    verify_signature: bool = True,
    opener: AttachmentOpener | None = None,
) -> tuple[Inspection, Packet | None]:
    """As :func:`inspect`, with the packet model the same pass built (None if it broke a rule).

    ``opener``, when given, receives each attachment's decoded content on the same pass.
    """
    with Rereadable(source, limits, small_max=FAST_PATH_MAX) as packet:
        check = (
            Verification(packet, trust_anchors=trust_anchors, crls=crls, limits=limits)
            if verify_signature
            else None
        )
        reading = examine(
            packet.open(), limits=limits, opener=opener, sinks=check.sinks if check else ()
        )
        issues = _issues(reading, limits)
        outcome = check.finish() if check is not None else None
    inspection = summarise(reading.packet, issues, outcome, reading.report.warnings)
    return inspection, reading.packet
