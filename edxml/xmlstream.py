"""Safe, streaming XML reading on expat: no DTD, no entities, every size, count and token
bounded (the limits: ``edxml.limits``; the token bounds: ``edxml.tokens``).

Every reader of packet bytes in this package goes through :func:`stream`. It feeds the
input to expat in chunks and hands namespace-aware events to *sinks*, so a 100 MB packet
is never held as one tree. Element and attribute names arrive as :class:`QName` triples
(namespace URI, local name, prefix as written), which is what a canonicaliser needs.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, NoReturn, Protocol, cast
from xml.parsers import expat

from edxml.errors import MalformedXmlError, UnsafeXmlError
from edxml.limits import DEFAULT_LIMITS as DEFAULT_LIMITS
from edxml.limits import Limits as Limits
from edxml.tokens import Stop, TokenScanner

SMALL_PACKET_MAX = 4 * 1024 * 1024
"""Packets up to this size may be parsed whole by lxml (fast path) instead of streamed."""

CHUNK_SIZE = 1 << 16
"""Bytes fed to expat at a time; also expat's text buffer, so base64 arrives in big pieces."""


class QName(NamedTuple):
    """A name as written: namespace URI ('' when none), local part, prefix ('' when none)."""

    uri: str
    local: str
    prefix: str

    @property
    def clark(self) -> str:
        """The ``{uri}local`` form lxml and ElementTree use."""
        return f"{{{self.uri}}}{self.local}" if self.uri else self.local

    @property
    def qualified(self) -> str:
        """The ``prefix:local`` form as written in the packet."""
        return f"{self.prefix}:{self.local}" if self.prefix else self.local


class Sink(Protocol):
    """Receives the events of one pass over a packet.

    A sink may also define ``pi(target: str, data: str)`` to receive processing
    instructions, inside and outside the root; sinks without it never see them.
    """

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        """An element starts; ``nsdecls`` are the (prefix, uri) pairs it declares."""

    def end(self, name: QName) -> None:
        """The element last started and not yet ended, ends."""

    def data(self, text: str) -> None:
        """Character data of the current element (may arrive in several pieces)."""


@dataclass
class StreamReport:
    """What a pass noticed that is not an error: counts and tolerated irregularities."""

    bytes_read: int = 0
    elements: int = 0
    attributes: int = 0
    warnings: list[str] = field(default_factory=list)


Source = bytes | bytearray | memoryview | str | Path | BinaryIO
"""Packet input: bytes in memory, a path to a file, or an open binary file."""


class MemoryReader(io.RawIOBase):
    """A seekable binary reader over a buffer, without copying it (``io.BytesIO`` copies
    anything but ``bytes``; a large packet posted to the hub arrives as a ``bytearray``)."""

    def __init__(self, buffer: bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(buffer).cast("B")
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        out = memoryview(target).cast("B")
        count = min(len(out), len(self._view) - self._at)
        out[:count] = self._view[self._at : self._at + count]
        self._at += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: len(self._view)}[whence]
        self._at = max(0, base + offset)
        return self._at

    def tell(self) -> int:
        return self._at


def open_source(source: Source) -> tuple[BinaryIO, bool]:
    """Open ``source`` for binary reading; the flag says whether the caller must close it."""
    if isinstance(source, bytes):
        return io.BytesIO(source), True
    if isinstance(source, bytearray | memoryview):
        return cast(BinaryIO, io.BufferedReader(MemoryReader(source))), True
    if isinstance(source, str | Path):
        return open(source, "rb"), True
    return source, False


class Rereadable:
    """A source that can be read more than once; inputs up to ``small_max`` held as bytes.

    Files and seekable streams are re-read from where they started; anything else is
    spooled to a temporary file (up to the size limit) on first use.
    """

    def __init__(self, source: Source, limits: Limits, *, small_max: int) -> None:
        self.small_max = small_max
        self.data: bytes | None = None
        self._path: str | Path | None = None
        self._handle: BinaryIO | None = None
        self._start = 0
        self._spool: BinaryIO | None = None
        if isinstance(source, bytes):
            self.data = source
        elif isinstance(source, bytearray | memoryview):
            if len(source) <= small_max:
                self.data = bytes(source)
            else:
                self._handle = cast(BinaryIO, io.BufferedReader(MemoryReader(source)))
        elif isinstance(source, str | Path):
            if os.stat(source).st_size <= small_max:
                with open(source, "rb") as handle:
                    self.data = handle.read()
            else:
                self._path = source
        elif source.seekable():
            self._start = source.tell()
            size = source.seek(0, io.SEEK_END) - self._start
            source.seek(self._start)
            if size <= small_max:
                self.data = source.read()
            else:
                self._handle = source
        else:
            head = source.read(small_max + 1)
            if len(head) <= small_max:
                self.data = head
            else:
                spool = tempfile.SpooledTemporaryFile(max_size=small_max)  # noqa: SIM115
                spool.write(head)
                remaining = limits.max_bytes + 1 - len(head)
                while remaining > 0 and (chunk := source.read(min(1 << 20, remaining))):
                    spool.write(chunk)
                    remaining -= len(chunk)
                spool.seek(0)
                self._spool = self._handle = spool  # type: ignore[assignment]

    @property
    def small(self) -> bool:
        """Whether the whole input is held in memory as bytes."""
        return self.data is not None and len(self.data) <= self.small_max

    def open(self) -> Source:
        """The input from its start: bytes, a path or a rewound stream."""
        if self.data is not None:
            return self.data
        if self._path is not None:
            return self._path
        assert self._handle is not None
        self._handle.seek(self._start)
        return self._handle

    def __enter__(self) -> Rereadable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the spool file, if one was made."""
        if self._spool is not None:
            self._spool.close()


_QNAME_CACHE_MAX = 4096

_SEPARATOR = "\x01"
"""Joins namespace URI, local name and prefix in expat's names: a character no XML 1.0
document can hold, so a URI with a space in it reaches the sinks, which judge it (expat
refuses a URI holding the separator with a bare "syntax error")."""


class _Pass:
    """One expat pass with limits; dispatches to the sinks."""

    def __init__(self, sinks: Sequence[Sink], limits: Limits, report: StreamReport) -> None:
        self.sinks = sinks
        self.limits = limits
        self.report = report
        self.depth = 0
        self.stack: list[str] = []
        self.children: list[int] = [0]
        """Child elements seen so far of each open element (the first entry: the document)."""
        self.text_len = 0
        self.text_streamed = False
        self.pending_ns: list[tuple[str, str]] = []
        self.names: dict[str, QName] = {}
        parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
        parser.namespace_prefixes = True
        parser.ordered_attributes = True
        parser.buffer_text = True
        parser.buffer_size = CHUNK_SIZE
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._forbid_doctype
        parser.EntityDeclHandler = self._forbid_entity
        parser.UnparsedEntityDeclHandler = self._forbid_entity
        parser.ExternalEntityRefHandler = self._forbid_external
        parser.NotationDeclHandler = self._forbid_entity
        parser.SkippedEntityHandler = self._forbid_skipped
        parser.StartNamespaceDeclHandler = self._start_ns
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        self.parser = parser
        self._ends: list[Callable[[QName], None]] = [s.end for s in sinks]
        self._datas: list[Callable[[str], None]] = [s.data for s in sinks]
        self._pis: list[Callable[[str, str], None]] = [
            pi for pi in (getattr(s, "pi", None) for s in sinks) if callable(pi)
        ]
        if self._pis:
            parser.ProcessingInstructionHandler = self._pi

    # -- hostile constructs -------------------------------------------------------------

    def _where(self) -> tuple[str | None, int]:
        return (self.stack[-1] if self.stack else None), self.parser.CurrentLineNumber

    def _forbid_doctype(self, *_: object) -> None:
        _element, line = self._where()
        raise UnsafeXmlError(
            "a DOCTYPE declaration is not allowed in an edXML packet",
            code="xml.dtd-forbidden",
            element="!DOCTYPE",
            line=line,
        )

    def _forbid_entity(self, *args: object) -> None:
        name = str(args[0]) if args else "?"
        raise UnsafeXmlError(
            f"entity or notation declaration {name!r} is not allowed",
            code="xml.entity-forbidden",
            element="!ENTITY",
            line=self.parser.CurrentLineNumber,
        )

    def _forbid_external(self, *args: object) -> int:
        raise UnsafeXmlError(
            "external entities are not allowed",
            code="xml.entity-forbidden",
            element=self._where()[0],
            line=self.parser.CurrentLineNumber,
        )

    def _forbid_skipped(self, name: str, _is_param: bool) -> None:
        raise UnsafeXmlError(
            f"entity reference &{name}; is not allowed",
            code="xml.entity-forbidden",
            element=self._where()[0],
            line=self.parser.CurrentLineNumber,
        )

    # -- events -------------------------------------------------------------------------

    def qname(self, raw: str) -> QName:
        """Turn expat's uri, local name, prefix triplet into a cached QName."""
        found = self.names.get(raw)
        if found is not None:
            return found
        parts = raw.split(_SEPARATOR)
        if len(parts) == 3:
            name = QName(parts[0], parts[1], parts[2])
        elif len(parts) == 2:
            name = QName(parts[0], parts[1], "")
        else:
            name = QName("", parts[0], "")
        if len(self.names) < _QNAME_CACHE_MAX:
            self.names[raw] = name
        return name

    def _start_ns(self, prefix: str | None, uri: str | None) -> None:
        self.pending_ns.append((prefix or "", uri or ""))

    def _start(self, raw: str, attrs: list[str]) -> None:
        limits = self.limits
        self.depth += 1
        report = self.report
        report.elements += 1
        line = self.parser.CurrentLineNumber
        name = self.qname(raw)
        if self.depth > limits.max_depth:
            raise UnsafeXmlError(
                f"elements are nested deeper than {limits.max_depth} levels",
                code="xml.too-deep",
                element=name.local,
                line=line,
            )
        if report.elements > limits.max_elements:
            raise UnsafeXmlError(
                f"the packet has more than {limits.max_elements} elements",
                code="xml.too-many-elements",
                element=name.local,
                line=line,
            )
        if len(attrs) > 2 * limits.max_attributes:
            raise UnsafeXmlError(
                f"element has more than {limits.max_attributes} attributes",
                code="xml.too-many-attributes",
                element=name.local,
                line=line,
            )
        report.attributes += len(attrs) // 2 + len(self.pending_ns)
        if report.attributes > limits.max_total_attributes:
            raise UnsafeXmlError(
                f"the packet has more than {limits.max_total_attributes} attributes "
                "(namespace declarations included)",
                code="xml.too-many-attributes",
                element=name.local,
                line=line,
            )
        self.children[-1] += 1
        if self.children[-1] > limits.max_children:
            raise UnsafeXmlError(
                f"element {self.stack[-1]!r} has more than {limits.max_children} child elements",
                code="xml.too-many-children",
                element=name.local,
                line=line,
            )
        self.children.append(0)
        pairs = [(self.qname(attrs[i]), attrs[i + 1]) for i in range(0, len(attrs), 2)]
        nsdecls = self.pending_ns
        self.pending_ns = []
        self.stack.append(name.local)
        self.text_len = 0
        self.text_streamed = name.local in limits.streamed_text
        for sink in self.sinks:
            sink.start(name, pairs, nsdecls, line)

    def _end(self, raw: str) -> None:
        name = self.qname(raw)
        self.depth -= 1
        self.stack.pop()
        self.children.pop()
        self.text_len = 0
        self.text_streamed = bool(self.stack) and self.stack[-1] in self.limits.streamed_text
        for end in self._ends:
            end(name)

    def _data(self, text: str) -> None:
        if not self.text_streamed:
            self.text_len += len(text)
            if self.text_len > self.limits.max_text:
                element, line = self._where()
                raise UnsafeXmlError(
                    f"text longer than {self.limits.max_text} characters",
                    code="xml.text-too-long",
                    element=element,
                    line=line,
                )
        for data in self._datas:
            data(text)

    def _pi(self, target: str, data: str) -> None:
        for pi in self._pis:
            pi(target, data)

    # -- driving ------------------------------------------------------------------------

    def refuse(self, stop: Stop, chunk: bytes, chunk_start: int) -> NoReturn:
        """Raise the error of a token over its limit, located where the token starts.

        expat is first fed the chunk up to that token, so an error earlier in the packet is
        the one raised; afterwards expat's position is the token's start (the documented
        position between parse events), which gives the line.
        """
        before = stop.offset - chunk_start
        if before > 0:
            self.feed(chunk[:before], final=False)
        error = stop.error
        error.line = self.parser.CurrentLineNumber
        if error.element is None:
            error.element = self.stack[-1] if self.stack else None
        raise error

    def feed(self, chunk: bytes, final: bool) -> None:
        try:
            self.parser.Parse(chunk, final)
        except (ValueError, LookupError) as exc:
            if self.report.elements:
                raise
            raise MalformedXmlError(
                f"the packet's encoding cannot be read: {exc} (edXML packets are UTF-8)",
                code="xml.unsupported-encoding",
                element=None,
                line=1,
            ) from exc
        except expat.ExpatError as exc:
            element, _ = self._where()
            message = expat.ErrorString(exc.code) or str(exc)
            raise MalformedXmlError(
                f"not well-formed XML: {message} (column {exc.offset + 1})",
                code="xml.malformed",
                element=element,
                line=exc.lineno,
            ) from exc


def strip_leading(head: bytes, limits: Limits, report: StreamReport) -> bytes:
    """Drop stray bytes before the XML declaration or root, within the tolerated amount.

    UTF-16 input (a byte order mark, or a zero byte before the first '<') is left whole: its
    zero bytes are part of its characters, not stray bytes.
    """
    if head[:2] in (b"\xff\xfe", b"\xfe\xff", b"\x00<"):
        return head
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    lt = body.find(b"<")
    if lt < 0 and body.strip() and b"\x00" not in body[:4]:
        raise MalformedXmlError(
            f"the input is not XML: it starts with {body[:16]!r} and holds no '<'",
            code="xml.malformed",
            element=None,
            line=1,
        )
    if lt <= 0:
        return head
    junk = body[:lt]
    if lt > limits.max_leading_bytes:
        if not junk.strip():
            report.warnings.append(f"skipped {lt} bytes of whitespace before the XML")
            return body[lt:]
        raise MalformedXmlError(
            f"{lt} bytes of non-XML data before the first '<'",
            code="xml.malformed",
            element=None,
            line=1,
        )
    report.warnings.append(f"skipped {lt} stray bytes before the XML: {junk[:16]!r}")
    return body[lt:]


def stream(
    source: Source,
    sinks: Iterable[Sink],
    limits: Limits = DEFAULT_LIMITS,
) -> StreamReport:
    """Read ``source`` once, safely, sending every event to each sink in order.

    Raises :class:`UnsafeXmlError` for hostile constructs or exceeded limits and
    :class:`MalformedXmlError` for input that is not well-formed XML.
    """
    report = StreamReport()
    xml_pass = _Pass(list(sinks), limits, report)
    scanner = TokenScanner(limits)
    scanned = 0
    handle, owned = open_source(source)
    try:
        first = True
        while True:
            chunk = handle.read(CHUNK_SIZE)
            if first:
                first = False
                if not chunk:
                    raise MalformedXmlError(
                        "the packet is empty", code="xml.malformed", element=None, line=1
                    )
                report.bytes_read += len(chunk)
                chunk = strip_leading(chunk, limits, report)
            else:
                report.bytes_read += len(chunk)
            if report.bytes_read > limits.max_bytes:
                raise UnsafeXmlError(
                    f"the packet is larger than {limits.max_bytes} bytes",
                    code="xml.too-large",
                    element=xml_pass.stack[-1] if xml_pass.stack else None,
                    line=xml_pass.parser.CurrentLineNumber,
                )
            if chunk:
                stop = scanner.scan(chunk)
                if stop is not None:
                    xml_pass.refuse(stop, chunk, scanned)
                scanned += len(chunk)
            xml_pass.feed(chunk, final=not chunk)
            if not chunk:
                break
    finally:
        if owned:
            handle.close()
    return report
