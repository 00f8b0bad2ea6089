"""Making new packets: a document from metadata and files, a status answering a document."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from edxml.attachments import is_zip
from edxml.builder import Content, build
from edxml.errors import BuildError
from edxml.models import (
    STATUS_DESCRIPTIONS_VI,
    Attachment,
    Business,
    Code,
    DocumentHeader,
    DocumentPacket,
    DocumentType,
    Manifest,
    ManifestReference,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    StatusPacket,
    TraceHeader,
    TraceHeaderList,
)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Packets carry local time without a zone (DOMAIN.md §3)."""

_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}


def now_local() -> dt.datetime:
    """The current local time in Việt Nam, without zone (as packets write it)."""
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


def format_date(value: dt.date) -> str:
    """``yyyy/MM/dd``."""
    return value.strftime("%Y/%m/%d")


def format_timestamp(value: dt.datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss``."""
    return value.strftime("%Y/%m/%d %H:%M:%S")


def document_id_for(issuer: str, date: dt.date, number: str, notation: str) -> str:
    """``<issuer>,<yyyy/MM/dd>,<number>/<notation>`` as QCVN 102 forms a DocumentId."""
    return f"{issuer},{format_date(date)},{number}/{notation}"


@dataclass(frozen=True)
class FileToAttach:
    """A file to put in a packet: its bytes (or path), name and how to carry it."""

    data: bytes | Path
    name: str | None = None
    content_type: str | None = None
    description: str | None = None
    zip: bool = False
    """Zip the file first, as one widespread SDK does (the type then says application/zip)."""

    def payload(self) -> tuple[str, bytes | Path, str]:
        """The attachment name, the bytes to encode, and the declared content type."""
        name = self.name or (self.data.name if isinstance(self.data, Path) else None)
        if not name:
            raise BuildError("an attachment needs a name", code="build.attachment-name")
        if self.zip:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                if isinstance(self.data, Path):
                    archive.write(self.data, arcname=name)
                else:
                    archive.writestr(name, self.data)
            return name, buffer.getvalue(), "application/zip"
        content_type = self.content_type or _CONTENT_TYPES.get(
            Path(name).suffix.lower(), "application/octet-stream"
        )
        return name, self.data, content_type


def describe_content(content: bytes | Path) -> tuple[int, str, bool]:
    """Size, hex SHA-256 and zip-ness of an attachment's bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    if isinstance(content, bytes):
        digest.update(content)
        return len(content), digest.hexdigest(), is_zip(content)
    with open(content, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if not head:
                head = chunk[:4]
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), is_zip(head)


def attach(files: Sequence[FileToAttach]) -> tuple[Manifest, tuple[Attachment, ...], list[Content]]:
    """Manifest entries, attachment models and contents for ``files``, with ids cid:1…"""
    references: list[ManifestReference] = []
    attachments: list[Attachment] = []
    contents: list[Content] = []
    for index, item in enumerate(files, start=1):
        name, payload, content_type = item.payload()
        size, sha256, zipped = describe_content(payload)
        content_id = f"cid:{index}"
        description = item.description or name
        references.append(
            ManifestReference(
                content_id=content_id,
                content_type=content_type,
                description=description,
                attachment_name=name,
            )
        )
        attachments.append(
            Attachment(
                content_id=content_id,
                attachment_name=name,
                description=description,
                content_type=content_type,
                size=size,
                sha256=sha256,
                zipped=zipped,
            )
        )
        contents.append(payload)
    return Manifest(version="1.0", references=tuple(references)), tuple(attachments), contents


def _org(value: Organization | str) -> Organization:
    return value if isinstance(value, Organization) else Organization(organ_id=value)


def new_document(
    *,
    sender: Organization | str,
    recipients: Sequence[Organization | str],
    number: str,
    notation: str,
    subject: str,
    document_id: str | None = None,
    date: dt.date | None = None,
    place: str | None = None,
    type_code: str = "1",
    type_name: str = "Công văn",
    content: str | None = None,
    signer: SignerInfo | None = None,
    due_date: dt.date | None = None,
    priority: int = 0,
    business: Business | None = None,
    staff: StaffInfo | None = None,
    response_for: Sequence[ResponseFor] = (),
    files: Sequence[FileToAttach] = (),
    timestamp: dt.datetime | None = None,
) -> tuple[DocumentPacket, list[Content]]:
    """A new document packet and the contents to build it with (see :func:`build`)."""
    sender_org = _org(sender)
    issued = date or now_local().date()
    manifest, attachments, contents = attach(files)
    if business is None:
        business = Business(
            business_doc_type="0",
            business_doc_reason="Văn bản điện tử mới",
            paper="0",
            staff_info=staff,
        )
    header = DocumentHeader(
        from_=sender_org,
        to=tuple(_org(r) for r in recipients),
        document_id=document_id or document_id_for(sender_org.organ_id, issued, number, notation),
        code=Code(code_number=number, code_notation=notation),
        promulgation_info=PromulgationInfo(place=place, promulgation_date=format_date(issued)),
        document_type=DocumentType(type=type_code, type_name=type_name),
        subject=subject,
        content=content,
        signer_info=signer,
        due_date=format_date(due_date) if due_date else None,
        other_info=OtherInfo(priority=str(priority)),
        response_for=tuple(response_for),
    )
    trace = TraceHeaderList(
        trace_headers=(
            TraceHeader(
                organ_id=sender_org.organ_id,
                timestamp=format_timestamp(timestamp or now_local()),
            ),
        ),
        business=business,
    )
    packet = DocumentPacket(header=header, trace=trace, manifest=manifest, attachments=attachments)
    return packet, contents


def status_for(
    document: DocumentPacket,
    status_code: str,
    *,
    reporter: Organization | str | None = None,
    description: str | None = None,
    staff: StaffInfo | None = None,
    timestamp: dt.datetime | None = None,
) -> StatusPacket:
    """A status packet answering ``document``: from ``reporter`` (default: first recipient)."""
    if status_code not in STATUS_DESCRIPTIONS_VI:
        known = ", ".join(STATUS_DESCRIPTIONS_VI)
        raise BuildError(
            f"{status_code!r} is not a status code a flow defines ({known})",
            code="build.bad-status-code",
            element="StatusCode",
        )
    header = document.header
    reporter_org = header.to[0] if reporter is None else _org(reporter)
    code = header.code.display if header.code else None
    promulgated = header.promulgation_info.promulgation_date if header.promulgation_info else None
    return StatusPacket(
        header=StatusHeader(
            from_=reporter_org,
            response_for=ResponseFor(
                organ_id=header.from_.organ_id,
                code=code,
                promulgation_date=promulgated,
                document_id=header.document_id,
            ),
            staff_info=staff,
            status_code=status_code,
            description=description or STATUS_DESCRIPTIONS_VI.get(status_code, status_code),
            timestamp=format_timestamp(timestamp or now_local()),
        )
    )


def build_status_for(document: DocumentPacket, status_code: str, **options: object) -> bytes:
    """The bytes of a status packet answering ``document`` (options as :func:`status_for`)."""
    return build(status_for(document, status_code, **options))  # type: ignore[arg-type]
