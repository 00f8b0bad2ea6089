"""Writing packets from models, in exactly the prefix layout of the public samples.

The root carries the default namespace; the envelope declares ``edXML:`` and its children
use it; ``AttachmentEncoded`` is a sibling of the envelope, unprefixed, with each
``edXML:ContentTransferEncoded`` redeclaring the prefix. Attachment content is base64-encoded
in pieces straight into the output, so large files never sit in memory twice.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from edxml.attachments import Base64Decoder
from edxml.errors import BuildError
from edxml.models import (
    Business,
    DocumentPacket,
    Extension,
    Manifest,
    Organization,
    Packet,
    ResponseFor,
    StaffInfo,
    StatusPacket,
    TraceHeaderList,
)
from edxml.namespaces import EDXML_NS

Content = bytes | Path | BinaryIO
"""An attachment's decoded bytes: in memory, in a file, or an open binary stream."""

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ENCODE_CHUNK = 3 * (1 << 16)
_INDENT = "  "


def _escape_text(value: str, where: str) -> str:
    bad = _INVALID_XML_CHARS.search(value)
    if bad:
        raise BuildError(
            f"{where} holds the character U+{ord(bad.group()):04X}, which XML cannot carry",
            code="build.bad-character",
            element=where,
        )
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
    )


def _escape_attr(value: str, where: str) -> str:
    return (
        _escape_text(value, where)
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
    )


class _Writer:
    """Accumulates the packet's lines; prefixes every edXML element name with ``edXML:``."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.lines: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append(f"{_INDENT * depth}{text}\n")

    def flush(self) -> None:
        if self.lines:
            self.out.write("".join(self.lines).encode("utf-8"))
            self.lines.clear()

    def leaf(self, depth: int, name: str, value: str | None, prefix: str = "edXML:") -> None:
        if value is None:
            return
        self.line(depth, f"<{prefix}{name}>{_escape_text(value, name)}</{prefix}{name}>")

    def open(self, depth: int, name: str, attributes: Mapping[str, str] | None = None) -> None:
        self.line(depth, f"<edXML:{name}{_attributes(attributes, name)}>")

    def close(self, depth: int, name: str) -> None:
        self.line(depth, f"</edXML:{name}>")

    def extensions(self, depth: int, extensions: Sequence[Extension]) -> None:
        for ext in extensions:
            self.line(depth, ext.xml)


def _attributes(attributes: Mapping[str, str] | None, where: str) -> str:
    if not attributes:
        return ""
    parts: list[str] = []
    declared: dict[str, str] = {}
    for name, value in attributes.items():
        if name.startswith("{"):
            uri, _, local = name[1:].partition("}")
            if uri == EDXML_NS:
                qualified = f"edXML:{local}"
            else:
                prefix = declared.get(uri)
                if prefix is None:
                    prefix = _known_prefix(uri, len(declared))
                    declared[uri] = prefix
                    parts.append(f'xmlns:{prefix}="{_escape_attr(uri, where)}"')
                qualified = f"{prefix}:{local}"
        else:
            qualified = name
        parts.append(f'{qualified}="{_escape_attr(value, where)}"')
    return " " + " ".join(parts)


_PREFIXES = {
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xsd",
    "http://schemas.xmlsoap.org/soap/envelope/": "SOAP-ENV",
}


def _known_prefix(uri: str, index: int) -> str:
    return _PREFIXES.get(uri, f"ns{index + 1}")


def _organization(w: _Writer, depth: int, name: str, org: Organization) -> None:
    w.open(depth, name)
    d = depth + 1
    w.leaf(d, "OrganId", org.organ_id)
    w.leaf(d, "OrganizationInCharge", org.organization_in_charge)
    w.leaf(d, "OrganName", org.organ_name)
    w.leaf(d, "OrganAdd", org.organ_add)
    w.leaf(d, "Email", org.email)
    w.leaf(d, "Telephone", org.telephone)
    w.leaf(d, "Fax", org.fax)
    w.leaf(d, "Website", org.website)
    w.extensions(d, org.extensions)
    w.close(depth, name)


def _response_for(w: _Writer, depth: int, response: ResponseFor) -> None:
    fields = (
        ("OrganId", response.organ_id),
        ("Code", response.code),
        ("PromulgationDate", response.promulgation_date),
        ("DocumentId", response.document_id),
    )
    if all(value is None for _, value in fields) and not response.extensions:
        w.line(depth, "<edXML:ResponseFor/>")
        return
    w.open(depth, "ResponseFor")
    for name, value in fields:
        w.leaf(depth + 1, name, value)
    w.extensions(depth + 1, response.extensions)
    w.close(depth, "ResponseFor")


def _staff(w: _Writer, depth: int, staff: StaffInfo | None) -> None:
    if staff is None:
        return
    w.open(depth, "StaffInfo")
    d = depth + 1
    w.leaf(d, "Department", staff.department)
    w.leaf(d, "Staff", staff.staff)
    w.leaf(d, "Mobile", staff.mobile)
    w.leaf(d, "Email", staff.email)
    w.extensions(d, staff.extensions)
    w.close(depth, "StaffInfo")


def _document_header(w: _Writer, depth: int, packet: DocumentPacket) -> None:
    h = packet.header
    d = depth + 1
    w.open(depth, "MessageHeader")
    _organization(w, d, "From", h.from_)
    for recipient in h.to:
        _organization(w, d, "To", recipient)
    w.leaf(d, "DocumentId", h.document_id)
    if h.code is not None:
        w.open(d, "Code")
        w.leaf(d + 1, "CodeNumber", h.code.code_number)
        w.leaf(d + 1, "CodeNotation", h.code.code_notation)
        w.extensions(d + 1, h.code.extensions)
        w.close(d, "Code")
    if h.promulgation_info is not None:
        w.open(d, "PromulgationInfo")
        w.leaf(d + 1, "Place", h.promulgation_info.place)
        w.leaf(d + 1, "PromulgationDate", h.promulgation_info.promulgation_date)
        w.extensions(d + 1, h.promulgation_info.extensions)
        w.close(d, "PromulgationInfo")
    if h.document_type is not None:
        w.open(d, "DocumentType")
        w.leaf(d + 1, "Type", h.document_type.type)
        w.leaf(d + 1, "TypeDetail", h.document_type.type_detail)
        w.leaf(d + 1, "TypeName", h.document_type.type_name)
        w.extensions(d + 1, h.document_type.extensions)
        w.close(d, "DocumentType")
    w.leaf(d, "Subject", h.subject)
    w.leaf(d, "Content", h.content)
    if h.signer_info is not None:
        w.open(d, "SignerInfo")
        w.leaf(d + 1, "Competence", h.signer_info.competence)
        w.leaf(d + 1, "Position", h.signer_info.position)
        w.leaf(d + 1, "FullName", h.signer_info.full_name)
        w.extensions(d + 1, h.signer_info.extensions)
        w.close(d, "SignerInfo")
    w.leaf(d, "DueDate", h.due_date)
    if h.other_info is not None:
        info = h.other_info
        w.open(d, "OtherInfo")
        w.leaf(d + 1, "Priority", info.priority)
        w.leaf(d + 1, "SphereOfPromulgation", info.sphere_of_promulgation)
        w.leaf(d + 1, "TyperNotation", info.typer_notation)
        w.leaf(d + 1, "PromulgationAmount", info.promulgation_amount)
        w.leaf(d + 1, "PageAmount", info.page_amount)
        w.leaf(d + 1, "Direction", info.direction)
        if info.appendixes is not None:
            w.open(d + 1, "Appendixes")
            for appendix in info.appendixes:
                w.leaf(d + 2, "Appendix", appendix)
            w.close(d + 1, "Appendixes")
        w.extensions(d + 1, info.extensions)
        w.close(d, "OtherInfo")
    for response in h.response_for:
        _response_for(w, d, response)
    w.leaf(d, "SteeringType", h.steering_type)
    if h.to_places is not None:
        w.open(d, "ToPlaces")
        for place in h.to_places:
            w.leaf(d + 1, "Place", place)
        w.close(d, "ToPlaces")
    w.extensions(d, h.extensions)
    w.close(depth, "MessageHeader")


def _status_header(w: _Writer, depth: int, packet: StatusPacket) -> None:
    h = packet.header
    d = depth + 1
    w.open(depth, "MessageHeader")
    _organization(w, d, "From", h.from_)
    _response_for(w, d, h.response_for)
    _staff(w, d, h.staff_info)
    w.leaf(d, "StatusCode", h.status_code)
    w.leaf(d, "Description", h.description)
    w.leaf(d, "Timestamp", h.timestamp)
    w.extensions(d, h.extensions)
    w.close(depth, "MessageHeader")


def _business(w: _Writer, depth: int, business: Business) -> None:
    d = depth + 1
    w.open(depth, "Bussiness")
    w.leaf(d, "DocumentId", business.document_id)
    w.leaf(d, "BussinessDocType", business.business_doc_type)
    w.leaf(d, "BussinessDocReason", business.business_doc_reason)
    w.leaf(d, "Paper", business.paper)
    info = business.document_info
    if info is not None:
        w.open(d, "BussinessDocumentInfo")
        w.leaf(d + 1, "DocumentInfo", info.document_info)
        w.leaf(d + 1, "DocumentReceiver", info.document_receiver)
        if info.receivers is not None:
            w.open(d + 1, "ReceiverList")
            for receiver in info.receivers:
                w.open(d + 2, "Receiver")
                w.leaf(d + 3, "OrganId", receiver.organ_id)
                w.leaf(d + 3, "ReceiverType", receiver.receiver_type)
                w.extensions(d + 3, receiver.extensions)
                w.close(d + 2, "Receiver")
            w.close(d + 1, "ReceiverList")
        w.extensions(d + 1, info.extensions)
        w.close(d, "BussinessDocumentInfo")
    if business.replacements is not None:
        w.open(d, "ReplacementInfoList")
        for replacement in business.replacements:
            w.open(d + 1, "ReplacementInfo")
            w.leaf(d + 2, "DocumentId", replacement.document_id)
            if replacement.organ_ids is not None:
                w.open(d + 2, "OrganIdList")
                for organ_id in replacement.organ_ids:
                    w.leaf(d + 3, "OrganId", organ_id)
                w.close(d + 2, "OrganIdList")
            w.extensions(d + 2, replacement.extensions)
            w.close(d + 1, "ReplacementInfo")
        w.close(d, "ReplacementInfoList")
    _staff(w, d, business.staff_info)
    w.extensions(d, business.extensions)
    w.close(depth, "Bussiness")


def _trace(w: _Writer, depth: int, trace: TraceHeaderList | None) -> None:
    if trace is None:
        return
    w.open(depth, "TraceHeaderList", trace.attributes)
    for hop in trace.trace_headers:
        w.open(depth + 1, "TraceHeader")
        w.leaf(depth + 2, "OrganId", hop.organ_id)
        w.leaf(depth + 2, "Timestamp", hop.timestamp)
        w.extensions(depth + 2, hop.extensions)
        w.close(depth + 1, "TraceHeader")
    if trace.business is not None:
        _business(w, depth + 1, trace.business)
    w.extensions(depth + 1, trace.extensions)
    w.close(depth, "TraceHeaderList")


def _manifest(w: _Writer, depth: int, manifest: Manifest) -> None:
    version = {"version": manifest.version} if manifest.version is not None else None
    if not manifest.references and not manifest.extensions:
        w.line(depth, f"<edXML:edXMLManifest{_attributes(version, 'edXMLManifest')}/>")
        return
    w.open(depth, "edXMLManifest", version)
    for ref in manifest.references:
        w.open(depth + 1, "Reference", ref.attributes)
        w.leaf(depth + 2, "ContentId", ref.content_id)
        w.leaf(depth + 2, "ContentType", ref.content_type)
        w.leaf(depth + 2, "Description", ref.description)
        w.leaf(depth + 2, "AttachmentName", ref.attachment_name)
        w.extensions(depth + 2, ref.extensions)
        w.close(depth + 1, "Reference")
    w.extensions(depth + 1, manifest.extensions)
    w.close(depth, "edXMLManifest")


def _content_chunks(content: Content) -> Iterator[bytes]:
    if isinstance(content, bytes):
        for start in range(0, len(content), _ENCODE_CHUNK):
            yield content[start : start + _ENCODE_CHUNK]
        return
    handle = open(content, "rb") if isinstance(content, Path) else content  # noqa: SIM115
    try:
        while chunk := handle.read(_ENCODE_CHUNK):
            yield chunk
    finally:
        if isinstance(content, Path):
            handle.close()


def _attachments(w: _Writer, packet: DocumentPacket, contents: Sequence[Content]) -> None:
    if not packet.attachments:
        return
    if len(contents) != len(packet.attachments):
        raise BuildError(
            f"the packet lists {len(packet.attachments)} attachments but "
            f"{len(contents)} contents were given",
            code="build.attachment-count",
            element="AttachmentEncoded",
        )
    w.line(1, "<AttachmentEncoded>")
    for index, (attachment, content) in enumerate(zip(packet.attachments, contents, strict=True)):
        w.line(2, "<Attachment>")
        w.leaf(3, "ContentId", attachment.content_id, prefix="")
        w.leaf(3, "AttachmentName", attachment.attachment_name, prefix="")
        w.leaf(3, "Description", attachment.description, prefix="")
        w.leaf(3, "ContentType", attachment.content_type, prefix="")
        w.lines.append(f'{_INDENT * 3}<edXML:ContentTransferEncoded xmlns:edXML="{EDXML_NS}">')
        w.flush()
        check = Base64Decoder()
        for chunk in _content_chunks(content):
            encoded = base64.b64encode(chunk)
            check.feed(encoded.decode("ascii"))
            w.out.write(encoded)
        check.close()
        if check.size != attachment.size or check.sha256 != attachment.sha256:
            raise BuildError(
                f"attachment {index + 1} ({attachment.attachment_name}): the content given has "
                f"{check.size} bytes and SHA-256 {check.sha256[:12]}…, the model says "
                f"{attachment.size} bytes and {attachment.sha256[:12]}…",
                code="build.attachment-mismatch",
                element="Attachment",
            )
        w.lines.append("</edXML:ContentTransferEncoded>\n")
        w.line(2, "</Attachment>")
    w.line(1, "</AttachmentEncoded>")


def write(packet: Packet, out: BinaryIO, contents: Sequence[Content] = ()) -> None:
    """Write ``packet`` to ``out``; ``contents`` are the attachments' bytes, in model order."""
    if packet.signature is not None:
        raise BuildError(
            "the model describes a signature, which building cannot reproduce: build it "
            "without one (model_copy(update={'signature': None})) and sign the result",
            code="build.signed-model",
            element="Signature",
        )
    w = _Writer(out)
    w.lines.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    w.line(0, f'<edXML xmlns="{EDXML_NS}">')
    w.line(1, f'<edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">')
    w.line(2, "<edXML:edXMLHeader>")
    if isinstance(packet, DocumentPacket):
        _document_header(w, 3, packet)
    else:
        _status_header(w, 3, packet)
    _trace(w, 3, packet.trace)
    w.extensions(3, packet.extensions)
    w.line(2, "</edXML:edXMLHeader>")
    if isinstance(packet, DocumentPacket):
        w.line(2, "<edXML:edXMLBody>")
        _manifest(w, 3, packet.manifest)
        w.line(2, "</edXML:edXMLBody>")
    w.line(1, "</edXML:edXMLEnvelope>")
    if isinstance(packet, DocumentPacket):
        _attachments(w, packet, contents)
    w.line(0, "</edXML>")
    w.flush()


def build(packet: Packet, contents: Sequence[Content] = ()) -> bytes:
    """The packet as bytes; ``contents`` are the attachments' bytes, in model order."""
    out = io.BytesIO()
    write(packet, out, contents)
    return out.getvalue()
