"""Bounds on the markup tokens of a packet, checked on its raw bytes before expat sees them.

expat re-scans a token it holds only part of each time it is fed more bytes, so one token of n
bytes fed in 64 KiB pieces costs O(n²) (a 40 MB attribute value took 30 s). :class:`TokenScanner`
reads each chunk once, in linear time, and finds the first tag, attribute value, name,
comment, processing instruction, reference or declaration longer than the :class:`Limits`
allow. The streaming pass then refuses the packet before expat is fed the over-long token, so
expat never holds more than one bounded token and its re-scans cost a constant factor.

Most of a packet is matched by one regular expression in C (text, references and ordinary
tags in one ``match`` call); Python looks only at what it stops on: comments, processing
instructions, CDATA sections, tags too big for that expression, and the end of a chunk.

Limits count bytes. UTF-16 input is scanned as one byte per 16-bit unit (its markup is ASCII),
so there they count units.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from edxml.errors import MalformedXmlError, PacketError, UnsafeXmlError
from edxml.limits import Limits

_WS: Final = rb"[ \t\r\n]"
_NAME_CHAR: Final = rb"[^ \t\r\n\"'=<>/]"
_FIRST_NAME_CHAR: Final = rb"[^ \t\r\n\"'=<>/!?]"

_TAG_PREFIX = re.compile(
    rb"<[^<>\"']*+(?:(?:\"[^\"<]*+\"|'[^'<]*+')[^<>\"']*+)*+(?:\"[^\"<]*+|'[^'<]*+)?"
)
"""A start or end tag up to (not including) its closing ``>``, quoted values skipped over; it
stops early at a ``<``, which no tag may hold."""

_REFERENCE_NAME = re.compile(rb"[^ \t\r\n;<&]*+")
_PI_TARGET = re.compile(rb"[^ \t\r\n?]*+")

_PART = re.compile(
    rb"(?P<ws>[ \t\r\n]++)|(?P<value>\"[^\"]*+\"?|'[^']*+'?)|(?P<name>[^ \t\r\n\"'=<>/]++)|."
)
"""One piece of a tag, to name the one that is too long."""

_FAST_NAME_MAX: Final = 256
_FAST_SPACE_MAX: Final = 128
_FAST_VALUE_MAX: Final = 1024


@dataclass(frozen=True)
class Stop:
    """Where reading must stop, and the error to raise there (its line left to the streaming
    pass): a token over its limit stops at its start; malformed markup, which expat refuses
    anyway, stops just past the bytes at fault, so that expat reports it in its own words."""

    offset: int
    error: PacketError


@dataclass(frozen=True)
class _Patterns:
    run: re.Pattern[bytes]
    tag: re.Pattern[bytes]


def _tag_pattern(name: int, space: int, value: int, attributes: int | None) -> bytes:
    """A start or end tag whose names, whitespace and values fit the bounds given."""
    name_re = _FIRST_NAME_CHAR + _NAME_CHAR + b"{0,%d}+" % (name - 1)
    some_space = _WS + b"{1,%d}+" % space
    any_space = _WS + b"{0,%d}+" % space
    quoted = b"(?:\"[^\"<]{0,%d}+\"|'[^'<]{0,%d}+')" % (value, value)
    attribute = b"(?:" + some_space + _NAME_CHAR + b"{1,%d}+" % name
    attribute += any_space + b"=" + any_space + quoted + b")"
    repeat = b"*+" if attributes is None else b"{0,%d}+" % attributes
    start = b"<" + name_re + attribute + repeat + any_space + b"/?>"
    end = b"</" + name_re + any_space + b">"
    return b"(?:" + start + b"|" + end + b")"


@functools.lru_cache(maxsize=8)
def _patterns(limits: Limits) -> _Patterns:
    """The expressions for ``limits``, compiled once per set of limits.

    The fast tag expression has tighter bounds than the limits (short names, whitespace and
    values, and no more attributes than fit in ``max_tag``), so whatever it matches is within
    every limit; other tags are measured one by one.
    """
    name = max(limits.max_name, 1)
    space = max(limits.max_tag_whitespace, 1)
    fast_name = min(name, _FAST_NAME_MAX)
    fast_space = min(space, _FAST_SPACE_MAX)
    fast_value = min(limits.max_attribute_value, _FAST_VALUE_MAX)
    per_attribute = 3 * fast_space + fast_name + fast_value + 3
    fixed = fast_name + 2 * fast_space + 3
    attributes = min(limits.max_attributes, max(0, limits.max_tag - fixed) // per_attribute)
    fast_tag = _tag_pattern(fast_name, fast_space, fast_value, attributes)
    reference = b"&[^ \t\r\n;<&]{1,%d}+;" % name
    run = b"(?:[^<&]++|" + reference + b"|" + fast_tag + b")*+"
    tag = _tag_pattern(name, space, max(limits.max_attribute_value, 0), None)
    return _Patterns(re.compile(run), re.compile(tag))


def _unsafe(code: str, message: str, element: str | None = None) -> UnsafeXmlError:
    return UnsafeXmlError(message, code=code, element=element)


_PROJECTION_ERRORS: Final = "edxml.utf16-projection"


def _as_name_characters(error: UnicodeError) -> tuple[str, int]:
    """Latin-1 encoding error handler: each UTF-16 unit of the characters it cannot encode
    becomes an ``a``, a character that is markup nowhere."""
    assert isinstance(error, UnicodeEncodeError)
    run = error.object[error.start : error.end]
    units = len(run.encode("utf-16-le", "surrogatepass")) // 2
    return "a" * units, error.end


@functools.cache
def _projection_errors() -> str:
    """The name of the error handler above, registered on first use."""
    codecs.register_error(_PROJECTION_ERRORS, _as_name_characters)
    return _PROJECTION_ERRORS


def _utf16_projector(head: bytes) -> Callable[[bytes], bytes] | None:
    """For UTF-16 input (byte order mark, or '<' next to a zero byte), a function turning
    each chunk into one byte per 16-bit unit: ASCII as itself, other characters as ``a``."""
    if head[:2] in (b"\xff\xfe", b"<\x00"):
        codec = "utf-16-le"
    elif head[:2] in (b"\xfe\xff", b"\x00<"):
        codec = "utf-16-be"
    else:
        return None
    decoder = codecs.getincrementaldecoder(codec)("surrogatepass")
    errors = _projection_errors()

    def project(chunk: bytes) -> bytes:
        return decoder.decode(chunk).encode("latin-1", errors)

    return project


class TokenScanner:
    """Checks the tokens of one input, fed in consecutive chunks, against ``limits``.

    :meth:`scan` returns the first :class:`Stop`, or None when the chunk holds none; a token
    cut by the end of a chunk is kept (it is bounded) and checked with the next one.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._patterns = _patterns(limits)
        self._pending = b""
        self._base = 0
        self._in_cdata = False
        self._others = 0
        self._started = False
        self._project: Callable[[bytes], bytes] | None = None
        self._unit = 1

    def scan(self, chunk: bytes) -> Stop | None:
        """Check the next chunk of the input (offsets count from the first chunk's start)."""
        if not self._started:
            self._started = True
            self._project = _utf16_projector(chunk)
            self._unit = 2 if self._project is not None else 1
        if self._project is not None:
            chunk = self._project(chunk)
        buf = self._pending + chunk if self._pending else chunk
        base = self._base
        keep, stop = self._scan(buf)
        self._pending = buf[keep:]
        self._base = base + keep
        if stop is not None:
            return Stop((base + stop.offset) * self._unit, stop.error)
        return None

    def _scan(self, buf: bytes) -> tuple[int, Stop | None]:
        """(where the unfinished token starts, or the end; the first violation, if any)."""
        run = self._patterns.run.match
        pos = 0
        end = len(buf)
        while True:
            if self._in_cdata:
                close = buf.find(b"]]>", pos)
                if close < 0:
                    return max(pos, end - 2), None
                self._in_cdata = False
                pos = close + 3
            match = run(buf, pos)
            pos = match.end() if match is not None else pos
            if pos >= end:
                return end, None
            outcome = self._reference(buf, pos) if buf[pos] == 0x26 else self._markup(buf, pos)
            if outcome is None:
                return pos, None
            if isinstance(outcome, Stop):
                return pos, outcome
            pos = outcome

    # -- one token each: the position after it, None when cut by the end, or a Stop --------

    def _reference(self, buf: bytes, pos: int) -> int | Stop | None:
        most = self.limits.max_name
        name = _REFERENCE_NAME.match(buf, pos + 1, min(len(buf), pos + most + 2))
        stop = name.end() if name is not None else pos + 1
        if stop - pos - 1 > most:
            return Stop(pos, _unsafe("xml.name-too-long", f"a reference longer than {most} bytes"))
        if stop >= len(buf):
            return None
        return Stop(stop + 1, _malformed("a reference (&…;) that is not one"))

    def _markup(self, buf: bytes, pos: int) -> int | Stop | None:
        rest = buf[pos : pos + 9]
        if rest.startswith(b"<!--"):
            return self._delimited(buf, pos, 4, b"-->", "comment")
        if rest.startswith(b"<?"):
            return self._delimited(buf, pos, 2, b"?>", "processing instruction")
        if rest.startswith(b"<![CDATA["):
            counted = self._count_other(pos)
            if counted is not None:
                return counted
            self._in_cdata = True
            return pos + 9
        if rest.startswith(b"<!"):
            if len(rest) < 9 and any(
                whole.startswith(rest) for whole in (b"<!--", b"<![CDATA[", b"<!DOCTYPE")
            ):
                return None
            return Stop(pos, _declaration(rest))
        if len(rest) < 2:
            return None
        return self._tag(buf, pos)

    def _count_other(self, pos: int) -> Stop | None:
        self._others += 1
        most = self.limits.max_other_nodes
        if self._others > most:
            return Stop(
                pos,
                _unsafe(
                    "xml.too-many-nodes",
                    f"the packet has more than {most} comments, processing instructions "
                    "and CDATA sections",
                ),
            )
        return None

    def _delimited(
        self, buf: bytes, pos: int, opener: int, closer: bytes, kind: str
    ) -> int | Stop | None:
        """A comment or processing instruction: bounded, and counted."""
        is_comment = kind == "comment"
        most = self.limits.max_comment if is_comment else self.limits.max_pi
        body = pos + opener
        window = min(len(buf), body + most + len(closer))
        if not is_comment:
            names = self.limits.max_name
            target = _PI_TARGET.match(buf, body, min(window, body + names + 1))
            if target is not None and target.end() - body > names:
                message = f"a processing instruction target longer than {names} bytes"
                return Stop(pos, _unsafe("xml.name-too-long", message))
        close = buf.find(closer, body, window)
        if close < 0:
            if window < body + most + len(closer):
                return None
            code = "xml.comment-too-long" if is_comment else "xml.pi-too-long"
            return Stop(pos, _unsafe(code, f"a {kind} longer than {most} bytes"))
        counted = self._count_other(pos)
        return counted if counted is not None else close + len(closer)

    def _tag(self, buf: bytes, pos: int) -> int | Stop | None:
        most = self.limits.max_tag
        window = min(len(buf), pos + most)
        whole = self._patterns.tag.match(buf, pos, window)
        if whole is not None:
            return whole.end()
        found = _TAG_PREFIX.match(buf, pos, window)
        at = found.end() if found is not None else pos + 1
        if at >= window:
            if window < pos + most:
                return None
            error, element = self._too_long_part(buf, pos, window)
            return Stop(pos, error or _tag_too_long(most, element))
        if buf[at] != 0x3E:
            return Stop(at + 1, _malformed("a '<' inside a tag"))
        stop = at + 1
        error, _ = self._too_long_part(buf, pos, stop)
        return Stop(pos, error) if error is not None else Stop(stop, _malformed("a tag"))

    def _too_long_part(
        self, buf: bytes, pos: int, stop: int
    ) -> tuple[PacketError | None, str | None]:
        """The error naming the first part of the tag at ``pos`` over its limit (None if no
        part is), and the tag's element name (None if unknown)."""
        limits = self.limits
        start = pos + (2 if buf.startswith(b"</", pos) else 1)
        element: str | None = None
        for part in _PART.finditer(buf, start, stop):
            kind = part.lastgroup
            size = part.end() - part.start()
            if kind == "value":
                closed = size > 1 and buf[part.end() - 1] == buf[part.start()]
                size -= 2 if closed else 1
            problem = _part_problem(kind, size, limits, first=element is None)
            if problem is not None:
                code, what, most = problem
                return _unsafe(code, f"{what} longer than {most} bytes", element), element
            if kind == "name" and element is None:
                element = part.group().decode("utf-8", "replace").rpartition(":")[2]
        return None, element


def _part_problem(
    kind: str | None, size: int, limits: Limits, *, first: bool
) -> tuple[str, str, int] | None:
    """(code, what, limit) when a part of a tag of ``size`` bytes is over its limit."""
    if kind == "ws" and size > limits.max_tag_whitespace:
        return "xml.whitespace-too-long", "whitespace inside a tag", limits.max_tag_whitespace
    if kind == "name" and size > limits.max_name:
        what = "an element name" if first else "an attribute name"
        return "xml.name-too-long", what, limits.max_name
    if kind == "value" and size > limits.max_attribute_value:
        return "xml.attribute-too-long", "an attribute value", limits.max_attribute_value
    return None


def _tag_too_long(most: int, element: str | None = None) -> UnsafeXmlError:
    return _unsafe("xml.tag-too-long", f"a tag longer than {most} bytes", element)


def _malformed(what: str) -> MalformedXmlError:
    return MalformedXmlError(f"not well-formed XML: {what}", code="xml.malformed")


def _declaration(head: bytes) -> PacketError:
    if head.startswith(b"<!DOCTYPE"):
        return UnsafeXmlError(
            "a DOCTYPE declaration is not allowed in an edXML packet",
            code="xml.dtd-forbidden",
            element="!DOCTYPE",
        )
    return _malformed("a markup declaration (<!…) is not allowed here")
