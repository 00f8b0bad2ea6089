"""Typed models of edXML document and status packets (QCVN 102:2016).

Values are kept as the text the packet carries (surrounding whitespace removed); typed
readings such as :attr:`OtherInfo.priority_level` are properties that return ``None``
when the text does not parse, so an odd optional field never makes a packet unreadable.
Unknown child elements are kept as :class:`Extension` objects, in order, and written back.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BusinessType = Literal[0, 1, 2, 3]
"""0 new document, 1 revoke, 2 update, 3 replace."""

STATUS_MEANINGS: dict[str, str] = {
    "01": "arrived",
    "02": "refused",
    "03": "accepted",
    "04": "assigned",
    "05": "processing",
    "06": "completed",
    "13": "take-back requested",
    "15": "change agreed",
    "16": "change refused",
}
"""Status codes of DOMAIN.md §4 and what each means."""

STATUS_DESCRIPTIONS_VI: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận, vào sổ",
    "04": "Đã phân công xử lý",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Yêu cầu lấy lại văn bản",
    "15": "Đồng ý cập nhật, lấy lại",
    "16": "Từ chối cập nhật, lấy lại",
}
"""The default ``Description`` a status packet carries, as Vietnamese clerks write it."""


def parse_date(text: str | None) -> dt.date | None:
    """A ``yyyy/MM/dd`` date (``-`` also accepted), or None when it does not parse."""
    if not text:
        return None
    for fmt in ("%Y/%m/%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def parse_timestamp(text: str | None) -> dt.datetime | None:
    """A ``yyyy/MM/dd HH:mm:ss`` local timestamp (naive), or None when it does not parse."""
    if not text:
        return None
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def parse_int(text: str | None) -> int | None:
    """An integer, or None when the text is absent or not a number."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


class Model(BaseModel):
    """Base of every packet model: immutable, compared by value, strict about field names."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Extension(Model):
    """An element the standard does not define, kept as written so nothing is dropped."""

    tag: str
    """The element's ``{namespace}local`` name."""
    xml: str
    """The element serialised as XML (namespace declarations included)."""

    @property
    def local_name(self) -> str:
        """The element name without its namespace."""
        return self.tag.rpartition("}")[2]

    @property
    def text(self) -> str | None:
        """The element's text content, for simple extensions such as ``ApplicationType``."""
        from edxml.extensions import extension_text

        return extension_text(self)


class Extensible(Model):
    """A model that keeps the unknown child elements found beside its known ones."""

    extensions: tuple[Extension, ...] = ()

    def extension(self, local_name: str) -> Extension | None:
        """The first kept unknown element with this local name, if any."""
        for ext in self.extensions:
            if ext.local_name == local_name:
                return ext
        return None


class Organization(Extensible):
    """An agency as named in ``From`` or ``To``; only ``organ_id`` is required."""

    organ_id: str
    organization_in_charge: str | None = None
    organ_name: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


class Code(Extensible):
    """Number and notation of a document (số, ký hiệu)."""

    code_number: str | None = None
    code_notation: str | None = None

    @property
    def display(self) -> str | None:
        """``number/notation`` as people write it."""
        if self.code_number and self.code_notation:
            return f"{self.code_number}/{self.code_notation}"
        return self.code_number or self.code_notation


class PromulgationInfo(Extensible):
    """Where and when the document was issued."""

    place: str | None = None
    promulgation_date: str | None = None

    @property
    def date(self) -> dt.date | None:
        """The promulgation date, when it parses."""
        return parse_date(self.promulgation_date)


class DocumentType(Extensible):
    """Kind of document (e.g. ``Công văn``) with its numeric type codes."""

    type: str | None = None
    type_detail: str | None = None
    type_name: str | None = None


class SignerInfo(Extensible):
    """The person who signed the document on paper or in the PDF."""

    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


class OtherInfo(Extensible):
    """Priority, sphere, typist, copies, pages, direction and appendixes."""

    priority: str | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: str | None = None
    page_amount: str | None = None
    direction: str | None = None
    appendixes: tuple[str, ...] | None = None

    @property
    def priority_level(self) -> int | None:
        """0 normal … 4 flash with deadline, when the text is a number."""
        return parse_int(self.priority)


class ResponseFor(Extensible):
    """The earlier document this packet answers; every part may be missing in a document."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: str | None = None
    document_id: str | None = None


class StaffInfo(Extensible):
    """The clerk who handled the packet."""

    department: str | None = None
    staff: str | None = None
    mobile: str | None = None
    email: str | None = None


class TraceHeader(Extensible):
    """One hop the packet passed through."""

    organ_id: str | None = None
    timestamp: str | None = None

    @property
    def time(self) -> dt.datetime | None:
        """The hop's local time, when it parses."""
        return parse_timestamp(self.timestamp)


class Receiver(Extensible):
    """A recipient named in an update's receiver list."""

    organ_id: str | None = None
    receiver_type: str | None = None


class BusinessDocumentInfo(Extensible):
    """What an update changes: the document information and/or the receivers."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] | None = None


class ReplacementInfo(Extensible):
    """A document replaced by this one, and the agencies that had received it."""

    document_id: str | None = None
    organ_ids: tuple[str, ...] | None = None


class Business(Extensible):
    """The ``Bussiness`` block (sic): new, revoke, update or replace, and why."""

    document_id: str | None = None
    business_doc_type: str | None = None
    business_doc_reason: str | None = None
    paper: str | None = None
    staff_info: StaffInfo | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] | None = None

    @property
    def business_type(self) -> int:
        """0–3 as written; 0 (new) when absent or not a number."""
        value = parse_int(self.business_doc_type)
        return value if value in (0, 1, 2, 3) else 0


class TraceHeaderList(Extensible):
    """Hops, business block and any extra attributes senders put on the list."""

    trace_headers: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class ManifestReference(Extensible):
    """One entry of the manifest, naming an attachment by content id."""

    content_id: str | None = None
    content_type: str | None = None
    description: str | None = None
    attachment_name: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class Manifest(Extensible):
    """The body's manifest of attachments."""

    version: str | None = "1.0"
    references: tuple[ManifestReference, ...] = ()


class Attachment(Model):
    """An attachment's metadata and the facts of its decoded bytes (not the bytes)."""

    content_id: str | None = None
    attachment_name: str | None = None
    description: str | None = None
    content_type: str | None = None
    size: int
    """Decoded size in bytes."""
    sha256: str
    """Hex SHA-256 of the decoded bytes."""
    zipped: bool
    """Whether the decoded bytes are a zip archive (``PK`` magic), whatever the type says."""
    line: int | None = Field(default=None, exclude=True, repr=False)
    """Line of the attachment in the packet it was read from (not part of its value)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attachment):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(tuple(self.model_dump().items()))


class SignatureInfo(Model):
    """Where a packet's XML signature is and how it is written (verification is separate)."""

    layout: Literal["standard", "legacy"]
    """``standard``: XML-Signature namespace; ``legacy``: unprefixed in the edXML namespace."""
    signature_method: str | None = None
    digest_method: str | None = None
    canonicalization_method: str | None = None
    subject_name: str | None = None
    has_certificate: bool = False


class DocumentHeader(Extensible):
    """The ``MessageHeader`` of a document packet."""

    from_: Organization = Field(alias="from")
    to: tuple[Organization, ...]
    document_id: str
    code: Code | None = None
    promulgation_info: PromulgationInfo | None = None
    document_type: DocumentType | None = None
    subject: str | None = None
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: str | None = None
    to_places: tuple[str, ...] | None = None
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: str | None = None


class StatusHeader(Extensible):
    """The ``MessageHeader`` of a status packet."""

    from_: Organization = Field(alias="from")
    response_for: ResponseFor
    staff_info: StaffInfo | None = None
    status_code: str
    description: str | None = None
    timestamp: str | None = None

    @property
    def time(self) -> dt.datetime | None:
        """When the status was reported (local time), when it parses."""
        return parse_timestamp(self.timestamp)


class Envelope(Extensible):
    """Parts shared by both packet kinds: trace list, signature facts, header extensions."""

    trace: TraceHeaderList | None = None
    signature: SignatureInfo | None = None
    warnings: tuple[str, ...] = Field(default=(), exclude=True, repr=False)
    """Irregularities tolerated while reading (not part of the packet's value)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Envelope):
            return NotImplemented
        return type(self) is type(other) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return id(self)


class DocumentPacket(Envelope):
    """A document packet ("edoc"): header, trace list, manifest and attachments."""

    kind: Literal["edoc"] = "edoc"
    header: DocumentHeader
    manifest: Manifest = Manifest()
    attachments: tuple[Attachment, ...] = ()

    @property
    def document_id(self) -> str:
        """The document's identifier."""
        return self.header.document_id

    @property
    def sender(self) -> str:
        """``From/OrganId``."""
        return self.header.from_.organ_id

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every ``To/OrganId``, in packet order."""
        return tuple(org.organ_id for org in self.header.to)

    @property
    def business_type(self) -> int:
        """0 new, 1 revoke, 2 update, 3 replace; 0 when there is no business block."""
        if self.trace is None or self.trace.business is None:
            return 0
        return self.trace.business.business_type


class StatusPacket(Envelope):
    """A status packet: who reports which status about which document."""

    kind: Literal["status"] = "status"
    header: StatusHeader

    @property
    def document_id(self) -> str:
        """The original document's identifier (``ResponseFor/DocumentId``)."""
        return self.header.response_for.document_id or ""

    @property
    def sender(self) -> str:
        """The reporting party (``From/OrganId``)."""
        return self.header.from_.organ_id

    @property
    def recipients(self) -> tuple[str, ...]:
        """The addressee of the status (``ResponseFor/OrganId``)."""
        organ_id = self.header.response_for.organ_id
        return (organ_id,) if organ_id else ()

    @property
    def status_code(self) -> str:
        """The two-digit status code."""
        return self.header.status_code


Packet = DocumentPacket | StatusPacket
