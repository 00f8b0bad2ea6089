"""Reading packets: one safe streaming pass into a small tree, then into typed models.

The pass builds an lxml tree of everything except attachment content, whose base64 text is
decoded, counted and hashed as it streams by (and written to files on request). The tree
is small whatever the packet's size; the schema validator and the model mapping work on it.
Rules that routing depends on are checked strictly and all violations are reported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple, TypeVar

from lxml import etree

from edxml.attachments import AttachmentOpener, Base64Decoder
from edxml.errors import (
    AttachmentError,
    InvalidPacketError,
    Issue,
    MalformedXmlError,
    UnsafeXmlError,
    cap_issues,
)
from edxml.extensions import serialise_extension
from edxml.models import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentPacket,
    DocumentType,
    Extension,
    Manifest,
    ManifestReference,
    Model,
    Organization,
    OtherInfo,
    Packet,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignatureInfo,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    StatusPacket,
    TraceHeader,
    TraceHeaderList,
)
from edxml.namespaces import DSIG_NS, EDXML_NS, is_valid_namespace
from edxml.tokens import TokenScanner
from edxml.xmlstream import (
    DEFAULT_LIMITS,
    SMALL_PACKET_MAX,
    Limits,
    QName,
    Sink,
    Source,
    StreamReport,
    stream,
    strip_leading,
)

M = TypeVar("M", bound=Model)


_LINE_MAX = 65_534
"""The largest line lxml can set on an element it did not parse and read back (65,535
stands for "look elsewhere" in libxml2)."""


@dataclass
class _AttachmentState:
    decoder: Base64Decoder
    out: BinaryIO | None


class _TreeSink:
    """Builds the lxml tree of a packet, streaming attachment content into decoders."""

    def __init__(self, opener: AttachmentOpener | None, limits: Limits) -> None:
        self.limits = limits
        self.root: etree._Element | None = None
        self.stack: list[etree._Element] = []
        self.parts: list[str] = []
        self.last_closed: etree._Element | None = None
        self.opener = opener
        self.decoded: dict[etree._Element, Base64Decoder] = {}
        self.current: _AttachmentState | None = None
        self.attachment_index = 0

    def _flush(self) -> None:
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()
        if self.last_closed is not None:
            self.last_closed.tail = text
        elif self.stack:
            self.stack[-1].text = text

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        self._flush()
        _check_namespaces(nsdecls, name.local, line)
        try:
            element = self._element(name, attrs, nsdecls)
        except ValueError as exc:
            raise MalformedXmlError(
                f"the element cannot be held in a tree: {exc}",
                code="xml.malformed",
                element=name.local,
                line=line,
            ) from exc
        # libxml2 keeps an element's line in 16 bits: past that (a long line-wrapped
        # attachment before it) the element's line is left unknown rather than failing.
        if line <= _LINE_MAX:
            element.sourceline = line  # type: ignore[assignment]
        self.stack.append(element)
        self.last_closed = None
        if name.local == "ContentTransferEncoded":
            self._open_attachment(element, line)

    def _element(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
    ) -> etree._Element:
        """The new element, under the current one (lxml's ValueError for names or values
        libxml2 does not take, which the stream has not already refused)."""
        nsmap = {(prefix or None): uri for prefix, uri in nsdecls} if nsdecls else None
        attrib = {attr.clark: value for attr, value in attrs} if attrs else None
        if self.stack:
            parent = self.stack[-1]
            element = etree.SubElement(parent, name.clark, attrib, nsmap)  # type: ignore[arg-type]
            wanted = name.prefix or None
            if name.uri and element.prefix != wanted:
                parent.remove(element)
                nsmap = {**(nsmap or {}), wanted: name.uri}
                element = etree.SubElement(parent, name.clark, attrib, nsmap)  # type: ignore[arg-type]
        else:
            element = etree.Element(name.clark, attrib, nsmap)  # type: ignore[arg-type]
            self.root = element
        return element

    def _open_attachment(self, element: etree._Element, line: int) -> None:
        if self.current is not None:
            raise _nested_attachment(line)
        _check_attachment_count(self.attachment_index, self.limits, line)
        out = None
        if self.opener is not None:
            out = self.opener(self.attachment_index, _attachment_name(element))
        self.attachment_index += 1
        self.current = _AttachmentState(Base64Decoder(out, line=line), out)

    def end(self, name: QName) -> None:
        if self.current is not None and name.local == "ContentTransferEncoded":
            state = self.current
            self.current = None
            try:
                state.decoder.close()
            finally:
                if state.out is not None:
                    state.out.close()
            self.decoded[self.stack[-1]] = state.decoder
            self.parts.clear()
        else:
            self._flush()
        self.last_closed = self.stack.pop()

    def data(self, text: str) -> None:
        if self.current is not None:
            self.current.decoder.feed(text)
        else:
            self.parts.append(text)

    def abort(self) -> None:
        """Close an attachment file left open by an error."""
        if self.current is not None and self.current.out is not None:
            self.current.out.close()


def _check_namespaces(nsdecls: Sequence[tuple[str, str]], element: str, line: int) -> None:
    """Refuse a namespace URI that a tree cannot hold, naming the element declaring it."""
    for prefix, uri in nsdecls:
        if not is_valid_namespace(uri):
            shown = uri if len(uri) <= 80 else uri[:77] + "..."
            declared = f"xmlns:{prefix}" if prefix else "xmlns"
            raise MalformedXmlError(
                f"{declared}={shown!r} is not a valid namespace URI",
                code="xml.bad-namespace-uri",
                element=element,
                line=line,
            )


@dataclass
class ReadResult:
    """A read packet: the model, the tree it came from, and what the pass reported."""

    packet: Packet
    tree: etree._Element
    report: StreamReport
    issues: list[Issue] = field(default_factory=list)


def read_tree(
    source: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    opener: AttachmentOpener | None = None,
    sinks: Sequence[Sink] = (),
) -> tuple[etree._Element, dict[etree._Element, Base64Decoder], StreamReport]:
    """One safe pass over ``source``: the tree (attachment text left out) and the decoders.

    ``sinks`` ride on the same pass (a signature check, for instance). Small packets are
    parsed by lxml in one call when every sink can take a tree (a ``tree(root)`` method);
    anything unusual about them falls back to the streaming pass, so errors read the same.
    """
    data = _small_bytes(source, limits)
    if data is not None and all(hasattr(sink, "tree") for sink in sinks):
        fast = _read_small(data, limits, opener, sinks)
        if fast is not None:
            return fast
        source = data
    sink = _TreeSink(opener, limits)
    try:
        report = stream(source, [sink, *sinks], limits)
    except BaseException:
        sink.abort()
        raise
    assert sink.root is not None
    return sink.root, sink.decoded, report


def _small_bytes(source: Source, limits: Limits) -> bytes | None:
    """The whole input as bytes when it is small enough for the fast path."""
    ceiling = min(SMALL_PACKET_MAX, limits.max_bytes)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source) if len(source) <= ceiling else None
    if isinstance(source, str | Path):
        try:
            if os.stat(source).st_size > ceiling:
                return None
        except OSError:
            return None
        with open(source, "rb") as handle:
            return handle.read()
    return None


_ASCII_NAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:"
"""The characters of ASCII names. libxml2 takes names by the rules of XML 1.0's fifth
edition, expat by the fourth's, narrower outside ASCII (U+FEFF, for one): a packet with any
other name takes the stream, so that expat judges it as it judges every packet."""

_FAST_ENCODINGS = frozenset({"UTF-8", "UTF8", "US-ASCII", "ASCII", "ISO-8859-1", "LATIN1"})
"""Declared encodings the fast path reads exactly as expat does; others take the stream."""


class _FastPathTools(NamedTuple):
    parser: etree.XMLParser
    has_pi: etree.XPath
    non_ascii_name: etree.XPath
    element_count: etree.XPath
    attribute_count: etree.XPath
    attachment_content: etree.XPath
    nested_content: etree.XPath
    limit_checks: dict[Limits, tuple[etree.XPath, etree.XPath, etree.XPath, etree.XPath]]


_per_thread = threading.local()
"""lxml parsers and compiled XPaths must not be used by two threads at once (doing so has
crashed the hub's API process under concurrent posts), so each thread gets its own."""


def _tools() -> _FastPathTools:
    tools: _FastPathTools | None = getattr(_per_thread, "tools", None)
    if tools is None:
        tools = _FastPathTools(
            parser=etree.XMLParser(
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                collect_ids=False,
            ),
            has_pi=etree.XPath("boolean(//processing-instruction())"),
            non_ascii_name=etree.XPath(
                f"boolean(//*[translate(name(), '{_ASCII_NAME}', '')]"
                f" | //@*[translate(name(), '{_ASCII_NAME}', '')]"
                f" | //namespace::*[translate(name(), '{_ASCII_NAME}', '')])"
            ),
            element_count=etree.XPath("count(//*)"),
            attribute_count=etree.XPath("count(//@*)"),
            attachment_content=etree.XPath("//*[local-name()='ContentTransferEncoded']"),
            nested_content=etree.XPath(
                "boolean(//*[local-name()='ContentTransferEncoded']"
                "//*[local-name()='ContentTransferEncoded'])"
            ),
            limit_checks={},
        )
        _per_thread.tools = tools
    return tools


def _limit_checks(limits: Limits) -> tuple[etree.XPath, etree.XPath, etree.XPath, etree.XPath]:
    """XPaths true when a tree is too deep, has an element with too many attributes or
    children, or a text (attachment content excepted) longer than ``limits`` allow, as the
    stream checks."""
    cache = _tools().limit_checks
    if limits not in cache:
        streamed = " or ".join(f"local-name()='{name}'" for name in sorted(limits.streamed_text))
        too_deep = etree.XPath("boolean(" + "/*" * (limits.max_depth + 1) + ")")
        crowded = etree.XPath(f"boolean(//*[count(@*) > {limits.max_attributes}])")
        fanned = etree.XPath(f"boolean(//*[count(*) > {limits.max_children}])")
        long_text = etree.XPath(
            f"boolean(//text()[string-length() > {limits.max_text}]"
            f"[not(parent::*[{streamed or 'false()'}])])"
        )
        if len(cache) >= 8:
            cache.clear()
        cache[limits] = (too_deep, crowded, fanned, long_text)
    return cache[limits]


def _breaks_limits(root: etree._Element, body: bytes, limits: Limits) -> bool:
    """Whether a parsed tree may break a limit the stream would have refused it for (the
    namespace declarations are over-counted as every 'xmlns' in the bytes)."""
    too_deep, crowded, fanned, long_text = _limit_checks(limits)
    if too_deep(root.getroottree()):
        return True
    elements = _tools().element_count(root)
    assert isinstance(elements, float)
    if elements > limits.max_children and fanned(root):
        return True
    attributes = _tools().attribute_count(root)
    assert isinstance(attributes, float)
    if attributes > limits.max_attributes and crowded(root):
        return True
    if attributes + body.count(b"xmlns") > limits.max_total_attributes:
        return True
    return len(body) > limits.max_text and bool(long_text(root))


def _read_small(
    data: bytes, limits: Limits, opener: AttachmentOpener | None, sinks: Sequence[Sink]
) -> tuple[etree._Element, dict[etree._Element, Base64Decoder], StreamReport] | None:
    """The fast path: lxml parses the whole packet; None means 'use the streaming pass'."""
    report = StreamReport(bytes_read=len(data))
    try:
        body = strip_leading(data, limits, report)
    except MalformedXmlError:
        return None
    if b"<!D" in body or b"\x00" in body[:4]:
        return None
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return None
    try:
        root = etree.fromstring(body, _tools().parser)
    except etree.XMLSyntaxError:
        return None
    encoding = (root.getroottree().docinfo.encoding or "UTF-8").upper()
    if encoding not in _FAST_ENCODINGS:
        return None
    elements = int(_tools().element_count(root))  # type: ignore[arg-type]
    if (
        elements > limits.max_elements
        or _tools().has_pi(root.getroottree())
        or _tools().non_ascii_name(root.getroottree())
        or _breaks_limits(root, body, limits)
        or TokenScanner(limits).scan(body) is not None
    ):
        return None
    contents = _tools().attachment_content(root)
    assert isinstance(contents, list)
    if len(contents) > limits.max_attachments or _tools().nested_content(root):
        return None
    report.elements = elements
    for sink in sinks:
        sink.tree(root)  # type: ignore[attr-defined]
    decoded: dict[etree._Element, Base64Decoder] = {}
    for index, element in enumerate(contents):
        assert isinstance(element, etree._Element)
        out = None
        if opener is not None:
            out = opener(index, _attachment_name(element))
        decoder = Base64Decoder(out, line=_line(element))
        try:
            # All the text inside, as the stream decodes it, even split by child elements
            # (which a sender has no business putting there).
            decoder.feed("".join(str(text) for text in element.itertext()))
            decoder.close()
        finally:
            if out is not None:
                out.close()
        element.text = None
        for inner in element.iterdescendants():
            inner.text = inner.tail = None
        decoded[element] = decoder
    return root, decoded, report


def _nested_attachment(line: int | None) -> AttachmentError:
    return AttachmentError(
        "attachment content (ContentTransferEncoded) holds another attachment's content",
        code="attachment.nested",
        element="ContentTransferEncoded",
        line=line,
    )


def _check_attachment_count(index: int, limits: Limits, line: int | None) -> None:
    """Refuse the attachment at ``index`` (counted from 0) when it is one too many."""
    if index >= limits.max_attachments:
        raise UnsafeXmlError(
            f"the packet has more than {limits.max_attachments} attachments",
            code="attachment.too-many",
            element="ContentTransferEncoded",
            line=line,
        )


def _attachment_name(content: etree._Element) -> str | None:
    """The ``AttachmentName`` beside an attachment's ``ContentTransferEncoded``."""
    parent = content.getparent()
    if parent is None:
        return None
    for sibling in parent:
        if isinstance(sibling.tag, str) and _local(sibling) == "AttachmentName":
            return _text(sibling)
    return None


@dataclass
class Reading:
    """Everything one pass learnt, whether or not the packet broke a rule."""

    packet: Packet | None
    tree: etree._Element
    report: StreamReport
    issues: list[Issue]


def examine(
    source: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    opener: AttachmentOpener | None = None,
    sinks: Sequence[Sink] = (),
) -> Reading:
    """Read a packet, collecting every broken routing rule instead of raising the first.

    Unsafe or malformed XML still raises (there is no tree to report on).
    """
    root, decoded, report = read_tree(source, limits=limits, opener=opener, sinks=sinks)
    mapper = _Mapper(decoded, limits)
    packet = mapper.packet(root, tuple(report.warnings))
    issues = cap_issues(mapper.issues, limits.max_issues, more=mapper.more)
    return Reading(packet if not issues else None, root, report, issues)


def read(
    source: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    opener: AttachmentOpener | None = None,
) -> ReadResult:
    """Read a packet; raise :class:`InvalidPacketError` listing every broken routing rule."""
    reading = examine(source, limits=limits, opener=opener)
    if reading.issues or reading.packet is None:
        raise InvalidPacketError.from_issues(reading.issues)
    return ReadResult(reading.packet, reading.tree, reading.report)


def parse(
    source: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    opener: AttachmentOpener | None = None,
) -> Packet:
    """Read a document or status packet from bytes, a path or a binary file."""
    return read(source, limits=limits, opener=opener).packet


# -- mapping the tree to models ---------------------------------------------------------


def _local(element: etree._Element) -> str:
    tag = element.tag
    assert isinstance(tag, str)
    return tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag


_EDXML_CLARK = f"{{{EDXML_NS}}}"


def _is_edxml(element: etree._Element) -> bool:
    tag = element.tag
    assert isinstance(tag, str)
    return tag.startswith(_EDXML_CLARK) or tag[:1] != "{"


def _line(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def _text(element: etree._Element) -> str | None:
    text = (element.text or "").strip()
    return text or None


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _descendant(element: etree._Element, *path: str) -> etree._Element | None:
    """The first element down ``path`` of local names, if there is one."""
    for step in path:
        found = next((c for c in _children(element) if _local(c) == step), None)
        if found is None:
            return None
        element = found
    return element


def _algorithm(element: etree._Element, *path: str) -> str | None:
    found = _descendant(element, *path)
    return found.get("Algorithm") if found is not None else None


def _is_status_header(message: etree._Element) -> bool:
    """A status has StatusCode; lacking it, a ResponseFor without To or DocumentId."""
    names = {_local(child) for child in _children(message) if _is_edxml(child)}
    if "StatusCode" in names:
        return True
    return "ResponseFor" in names and not names & {"To", "DocumentId"}


def packet_kind(tree: etree._Element) -> Literal["edoc", "status"]:
    """``status`` or ``edoc``, judged from the MessageHeader of a packet tree."""
    for element in tree.iter():
        if isinstance(element.tag, str) and _local(element) == "MessageHeader":
            return "status" if _is_status_header(element) else "edoc"
    return "edoc"


_ORGANIZATION = {
    "OrganId": "organ_id",
    "OrganizationInCharge": "organization_in_charge",
    "OrganName": "organ_name",
    "OrganAdd": "organ_add",
    "Email": "email",
    "Telephone": "telephone",
    "Fax": "fax",
    "Website": "website",
}
_CODE = {"CodeNumber": "code_number", "CodeNotation": "code_notation"}
_PROMULGATION = {"Place": "place", "PromulgationDate": "promulgation_date"}
_DOCUMENT_TYPE = {"Type": "type", "TypeDetail": "type_detail", "TypeName": "type_name"}
_SIGNER = {"Competence": "competence", "Position": "position", "FullName": "full_name"}
_OTHER_INFO = {
    "Priority": "priority",
    "SphereOfPromulgation": "sphere_of_promulgation",
    "TyperNotation": "typer_notation",
    "PromulgationAmount": "promulgation_amount",
    "PageAmount": "page_amount",
    "Direction": "direction",
}
_RESPONSE_FOR = {
    "OrganId": "organ_id",
    "Code": "code",
    "PromulgationDate": "promulgation_date",
    "DocumentId": "document_id",
}
_STAFF = {"Department": "department", "Staff": "staff", "Mobile": "mobile", "Email": "email"}
_TRACE_HEADER = {"OrganId": "organ_id", "Timestamp": "timestamp"}
_RECEIVER = {"OrganId": "organ_id", "ReceiverType": "receiver_type"}
_REFERENCE = {
    "ContentId": "content_id",
    "ContentType": "content_type",
    "Description": "description",
    "AttachmentName": "attachment_name",
}
_ATTACHMENT = {
    "ContentId": "content_id",
    "AttachmentName": "attachment_name",
    "Description": "description",
    "ContentType": "content_type",
}


class _Mapper:
    """Maps a packet tree to models, collecting the violations of strict rules."""

    def __init__(self, decoded: dict[etree._Element, Base64Decoder], limits: Limits) -> None:
        self.decoded = decoded
        self.limits = limits
        self.issues: list[Issue] = []
        self.more = 0

    def fail(self, code: str, message: str, element: str, line: int | None) -> None:
        """Record a broken rule; past ``max_issues`` of them, only count it."""
        if len(self.issues) < self.limits.max_issues:
            self.issues.append(Issue(code, message, element, line))
        else:
            self.more += 1

    def extension(self, element: etree._Element) -> Extension:
        return Extension(tag=element.tag, xml=serialise_extension(element))

    def simple(
        self,
        element: etree._Element,
        model: type[M],
        names: dict[str, str],
        nested: dict[str, Callable[[etree._Element], tuple[str, Any]]] | None = None,
    ) -> M:
        """The model of an element whose children map by local name (see :meth:`values`)."""
        return model(**self.values(element, names, nested))

    def values(
        self,
        element: etree._Element,
        names: dict[str, str],
        nested: dict[str, Callable[[etree._Element], tuple[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """Child texts by field name; unknown or repeated children become extensions."""
        values: dict[str, Any] = {}
        extensions: list[Extension] = []
        nested = nested or {}
        for child in _children(element):
            local = _local(child)
            if _is_edxml(child) and local in names and names[local] not in values:
                values[names[local]] = _text(child)
            elif _is_edxml(child) and local in nested:
                key, value = nested[local](child)
                if key in values:
                    extensions.append(self.extension(child))
                else:
                    values[key] = value
            else:
                extensions.append(self.extension(child))
        if extensions:
            values["extensions"] = tuple(extensions)
        return values

    def texts(self, element: etree._Element, local: str) -> tuple[str, ...]:
        return tuple(
            text
            for child in _children(element)
            if _local(child) == local and (text := _text(child)) is not None
        )

    # -- packet -------------------------------------------------------------------------

    def packet(self, root: etree._Element, warnings: tuple[str, ...]) -> Packet | None:
        if _local(root) != "edXML":
            raise MalformedXmlError(
                f"the root element is {_local(root)!r}, not 'edXML': not an edXML packet",
                code="packet.not-edxml",
                element=_local(root),
                line=_line(root),
            )
        envelope = self.child(root, "edXMLEnvelope", required=True)
        header = (
            self.child(envelope, "edXMLHeader", required=True) if envelope is not None else None
        )
        message = self.child(header, "MessageHeader", required=True) if header is not None else None
        if header is None or message is None:
            return None
        trace_el = self.child(header, "TraceHeaderList")
        trace = self.trace_list(trace_el) if trace_el is not None else None
        signature = self.signature(header)
        header_extensions = tuple(
            self.extension(child)
            for child in _children(header)
            if not (_is_edxml(child) and _local(child) in ("MessageHeader", "TraceHeaderList"))
            and _local(child) != "Signature"
        )
        is_status = _is_status_header(message)
        common: dict[str, Any] = {
            "trace": trace,
            "signature": signature,
            "extensions": header_extensions,
            "warnings": warnings,
        }
        if is_status:
            status_header = self.status_header(message)
            if status_header is None:
                return None
            return StatusPacket(header=status_header, **common)
        document_header = self.document_header(message)
        body = self.child(envelope, "edXMLBody") if envelope is not None else None
        manifest = self.manifest(body)
        attachments = self.attachments(root)
        if document_header is None:
            return None
        return DocumentPacket(
            header=document_header, manifest=manifest, attachments=attachments, **common
        )

    def child(
        self, parent: etree._Element, local: str, *, required: bool = False
    ) -> etree._Element | None:
        for child in _children(parent):
            if _local(child) == local and _is_edxml(child):
                return child
        if required:
            self.fail(
                "packet.missing-element",
                f"{_local(parent)} has no {local} element",
                local,
                _line(parent),
            )
        return None

    # -- headers ------------------------------------------------------------------------

    def organization(self, element: etree._Element, path: str) -> Organization | None:
        values = self.values(element, _ORGANIZATION)
        if not values.get("organ_id"):
            self.fail(
                "packet.missing-element",
                f"{path} has no OrganId (the agency code is required)",
                f"{path}/OrganId",
                _line(element),
            )
            return None
        return Organization(**values)

    def single(
        self, message: etree._Element, local: str
    ) -> tuple[etree._Element | None, list[etree._Element]]:
        found = [c for c in _children(message) if _local(c) == local and _is_edxml(c)]
        return (found[0] if found else None), found

    def sender(self, message: etree._Element) -> Organization | None:
        first, found = self.single(message, "From")
        if first is None:
            self.fail(
                "packet.missing-element",
                "MessageHeader has no From element (the sender is required)",
                "From",
                _line(message),
            )
            return None
        if len(found) > 1:
            self.fail(
                "packet.duplicate-element",
                "MessageHeader has more than one From element",
                "From",
                _line(found[1]),
            )
        return self.organization(first, "From")

    def document_header(self, message: etree._Element) -> DocumentHeader | None:
        sender = self.sender(message)
        recipients: list[Organization] = []
        seen: dict[str, int | None] = {}
        to_elements = [c for c in _children(message) if _local(c) == "To" and _is_edxml(c)]
        if not to_elements:
            self.fail(
                "packet.missing-element",
                "MessageHeader has no To element (at least one recipient is required)",
                "To",
                _line(message),
            )
        most = self.limits.max_recipients
        if len(to_elements) > most:
            self.fail(
                "packet.too-many-recipients",
                f"MessageHeader names {len(to_elements)} recipients (To); at most {most} are "
                "accepted in one packet",
                "To",
                _line(to_elements[most]),
            )
            to_elements = to_elements[:most]
        repeated = False
        for to_element in to_elements:
            org = self.organization(to_element, "To")
            if org is None:
                continue
            if org.organ_id in seen:
                if not repeated:
                    repeated = True
                    self.fail(
                        "packet.duplicate-recipient",
                        f"recipient {org.organ_id} is listed more than once "
                        f"(first at line {seen[org.organ_id]})",
                        "To/OrganId",
                        _line(to_element),
                    )
                continue
            seen[org.organ_id] = _line(to_element)
            recipients.append(org)
        doc_id_el, doc_ids = self.single(message, "DocumentId")
        document_id = _text(doc_id_el) if doc_id_el is not None else None
        if doc_id_el is None or not document_id:
            self.fail(
                "packet.missing-element",
                "MessageHeader has no DocumentId (the document identifier is required)"
                if doc_id_el is None
                else "DocumentId is empty",
                "DocumentId",
                _line(doc_id_el) if doc_id_el is not None else _line(message),
            )
        elif len(doc_ids) > 1:
            self.fail(
                "packet.duplicate-element",
                "MessageHeader has more than one DocumentId",
                "DocumentId",
                _line(doc_ids[1]),
            )
        values: dict[str, Any] = {}
        replies: list[ResponseFor] = []
        extensions: list[Extension] = []
        handled = {"From", "To", "DocumentId"}
        for child in _children(message):
            local = _local(child)
            if _is_edxml(child) and local in handled:
                continue
            mapped = self.document_field(child, local) if _is_edxml(child) else None
            if mapped is None:
                extensions.append(self.extension(child))
                continue
            key, value = mapped
            if key == "response_for":
                replies.append(value)
            elif key in values:
                extensions.append(self.extension(child))
            else:
                values[key] = value
        if replies:
            values["response_for"] = tuple(replies)
        if sender is None or not recipients or not document_id:
            return None
        return DocumentHeader(
            from_=sender,
            to=tuple(recipients),
            document_id=document_id,
            extensions=tuple(extensions),
            **values,
        )

    def document_field(self, child: etree._Element, local: str) -> tuple[str, Any] | None:
        if local == "Code":
            return "code", self.simple(child, Code, _CODE)
        if local == "PromulgationInfo":
            return "promulgation_info", self.simple(child, PromulgationInfo, _PROMULGATION)
        if local == "DocumentType":
            return "document_type", self.simple(child, DocumentType, _DOCUMENT_TYPE)
        if local == "Subject":
            return "subject", _text(child)
        if local == "Content":
            return "content", _text(child)
        if local == "SignerInfo":
            return "signer_info", self.simple(child, SignerInfo, _SIGNER)
        if local == "DueDate":
            return "due_date", _text(child)
        if local == "ToPlaces":
            return "to_places", self.texts(child, "Place")
        if local == "OtherInfo":
            return "other_info", self.simple(
                child,
                OtherInfo,
                _OTHER_INFO,
                {"Appendixes": lambda el: ("appendixes", self.texts(el, "Appendix"))},
            )
        if local == "ResponseFor":
            return "response_for", self.simple(child, ResponseFor, _RESPONSE_FOR)
        if local == "SteeringType":
            return "steering_type", _text(child)
        return None

    def status_header(self, message: etree._Element) -> StatusHeader | None:
        sender = self.sender(message)
        response_el, responses = self.single(message, "ResponseFor")
        response: ResponseFor | None = None
        if response_el is None:
            self.fail(
                "packet.missing-element",
                "a status packet needs ResponseFor (which document, for whom)",
                "ResponseFor",
                _line(message),
            )
        else:
            response = self.simple(response_el, ResponseFor, _RESPONSE_FOR)
            for part, value in (
                ("OrganId", response.organ_id),
                ("DocumentId", response.document_id),
            ):
                if not value:
                    self.fail(
                        "packet.missing-element",
                        f"ResponseFor has no {part} (required in a status packet)",
                        f"ResponseFor/{part}",
                        _line(response_el),
                    )
        code_el, _ = self.single(message, "StatusCode")
        status_code = _text(code_el) if code_el is not None else None
        if code_el is None:
            self.fail(
                "packet.missing-element",
                "a status packet needs StatusCode (two digits, 01…16)",
                "StatusCode",
                _line(message),
            )
        if code_el is not None and (
            status_code is None or len(status_code) != 2 or not status_code.isdigit()
        ):
            self.fail(
                "packet.bad-status-code",
                f"StatusCode must be two digits (01…16), not {status_code or 'empty'!r}",
                "StatusCode",
                _line(code_el),
            )
        values: dict[str, Any] = {}
        extensions: list[Extension] = []
        for child in _children(message):
            local = _local(child)
            if not _is_edxml(child):
                extensions.append(self.extension(child))
            elif local in ("From", "StatusCode") or child is response_el:
                continue
            elif local == "StaffInfo" and "staff_info" not in values:
                values["staff_info"] = self.simple(child, StaffInfo, _STAFF)
            elif local == "Description" and "description" not in values:
                values["description"] = _text(child)
            elif local == "Timestamp" and "timestamp" not in values:
                values["timestamp"] = _text(child)
            else:
                extensions.append(self.extension(child))
        del responses
        if sender is None or response is None or self.issues or status_code is None:
            return None
        return StatusHeader(
            from_=sender,
            response_for=response,
            status_code=status_code,
            extensions=tuple(extensions),
            **values,
        )

    # -- trace list, business block -----------------------------------------------------

    def trace_list(self, element: etree._Element) -> TraceHeaderList:
        headers: list[TraceHeader] = []
        business: Business | None = None
        extensions: list[Extension] = []
        for child in _children(element):
            local = _local(child)
            if _is_edxml(child) and local == "TraceHeader":
                headers.append(self.simple(child, TraceHeader, _TRACE_HEADER))
            elif _is_edxml(child) and local == "Bussiness" and business is None:
                business = self.business(child)
            else:
                extensions.append(self.extension(child))
        return TraceHeaderList(
            trace_headers=tuple(headers),
            business=business,
            attributes=dict(element.attrib),
            extensions=tuple(extensions),
        )

    def business(self, element: etree._Element) -> Business:
        return self.simple(
            element,
            Business,
            {
                "DocumentId": "document_id",
                "BussinessDocType": "business_doc_type",
                "BussinessDocReason": "business_doc_reason",
                "Paper": "paper",
            },
            {
                "StaffInfo": lambda el: ("staff_info", self.simple(el, StaffInfo, _STAFF)),
                "BussinessDocumentInfo": lambda el: ("document_info", self.document_info(el)),
                "ReplacementInfoList": lambda el: ("replacements", self.replacements(el)),
            },
        )

    def document_info(self, element: etree._Element) -> BusinessDocumentInfo:
        return self.simple(
            element,
            BusinessDocumentInfo,
            {"DocumentInfo": "document_info", "DocumentReceiver": "document_receiver"},
            {
                "ReceiverList": lambda el: (
                    "receivers",
                    tuple(
                        self.simple(c, Receiver, _RECEIVER)
                        for c in _children(el)
                        if _local(c) == "Receiver"
                    ),
                )
            },
        )

    def replacements(self, element: etree._Element) -> tuple[ReplacementInfo, ...]:
        return tuple(
            self.simple(
                child,
                ReplacementInfo,
                {"DocumentId": "document_id"},
                {"OrganIdList": lambda el: ("organ_ids", self.texts(el, "OrganId"))},
            )
            for child in _children(element)
            if _local(child) == "ReplacementInfo"
        )

    # -- signature, body, attachments ---------------------------------------------------

    def signature(self, header: etree._Element) -> SignatureInfo | None:
        for child in _children(header):
            if _local(child) != "Signature":
                continue
            layout = "standard" if etree.QName(child).namespace == DSIG_NS else "legacy"
            subject = _descendant(child, "KeyInfo", "X509Data", "X509SubjectName")
            cert = _descendant(child, "KeyInfo", "X509Data", "X509Certificate")
            return SignatureInfo(
                layout=layout,
                signature_method=_algorithm(child, "SignedInfo", "SignatureMethod"),
                digest_method=_algorithm(child, "SignedInfo", "Reference", "DigestMethod"),
                canonicalization_method=_algorithm(child, "SignedInfo", "CanonicalizationMethod"),
                subject_name=_text(subject) if subject is not None else None,
                has_certificate=cert is not None and bool(_text(cert)),
            )
        return None

    def manifest(self, body: etree._Element | None) -> Manifest:
        if body is None:
            return Manifest(version=None)
        element = self.child(body, "edXMLManifest")
        if element is None:
            return Manifest(version=None)
        references: list[ManifestReference] = []
        extensions: list[Extension] = []
        for child in _children(element):
            if _is_edxml(child) and _local(child) == "Reference":
                draft = self.simple(child, ManifestReference, _REFERENCE)
                references.append(draft.model_copy(update={"attributes": dict(child.attrib)}))
            else:
                extensions.append(self.extension(child))
        return Manifest(
            version=element.get("version"),
            references=tuple(references),
            extensions=tuple(extensions),
        )

    def attachments(self, root: etree._Element) -> tuple[Attachment, ...]:
        encoded = next(
            (c for c in _children(root) if _local(c) == "AttachmentEncoded"),
            None,
        )
        if encoded is None:
            return ()
        found: list[Attachment] = []
        for item in _children(encoded):
            if _local(item) != "Attachment":
                continue
            values: dict[str, Any] = {}
            decoder: Base64Decoder | None = None
            for child in _children(item):
                local = _local(child)
                if local == "ContentTransferEncoded":
                    decoder = self.decoded.get(child)
                elif local in _ATTACHMENT and _ATTACHMENT[local] not in values:
                    values[_ATTACHMENT[local]] = _text(child)
            if decoder is None:
                decoder = Base64Decoder()
            found.append(
                Attachment(
                    size=decoder.size,
                    sha256=decoder.sha256,
                    zipped=decoder.zipped,
                    line=_line(item),
                    **values,
                )
            )
        return tuple(found)
