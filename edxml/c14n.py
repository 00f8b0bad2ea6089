"""Streaming Canonical XML 1.0, inclusive and exclusive, without comments, as an xmlstream sink.

XML signatures digest the canonical form of a packet. This canonicaliser writes that form
straight into a byte sink (a hash's ``update``) while the packet streams past, so a 100 MB
packet is never held as a tree, and it can leave out element subtrees (the enveloped
signature) and start from an apex with inherited namespaces (``SignedInfo``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from edxml.errors import EdxmlError
from edxml.xmlstream import DEFAULT_LIMITS, Limits, QName, Source, stream

C14N_10: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_COMMENTS: Final = C14N_10 + "#WithComments"
C14N_11: Final = "http://www.w3.org/2006/12/xml-c14n11"
C14N_11_COMMENTS: Final = C14N_11 + "#WithComments"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS: Final = EXC_C14N + "WithComments"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"

_FLUSH_PARTS = 512
_BIG_TEXT = 1 << 14
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


class CanonicalizationError(EdxmlError):
    """Raised when a document has no canonical form (a relative namespace URI)."""

    code = "c14n.failed"


@dataclass(frozen=True)
class Context:
    """What the apex of a document subset inherits from the ancestors left out of it."""

    namespaces: Mapping[str, str] = field(default_factory=dict)
    """Prefix to URI in scope at the apex's parent; ``""`` is the default namespace."""
    xml_attributes: Mapping[str, str] = field(default_factory=dict)
    """Local name to value of the ``xml:*`` attributes inherited (inclusive C14N only)."""


def escape_text(text: str) -> str:
    """Text node escaping of C14N: ``&``, ``<``, ``>`` and carriage return."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#xD;")
    return text


_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)


def escape_attribute(value: str) -> str:
    """Attribute value escaping of C14N: ``&``, ``<``, ``"``, tab, line feed, carriage return."""
    return value.translate(_ATTR_ESCAPES)


def _ns_attr(prefix: str, uri: str) -> str:
    value = escape_attribute(uri)
    return f' xmlns:{prefix}="{value}"' if prefix else f' xmlns="{value}"'


class Canonicalizer:
    """An xmlstream sink writing the canonical form of the events it receives.

    ``omit`` holds the document-order indexes (0 for the first element seen) of elements
    whose whole subtree is left out, as the enveloped-signature transform requires.
    ``context`` makes the first element the apex of a document subset: with inclusive
    C14N it renders every namespace in scope and inherits ``xml:*`` attributes; with
    exclusive C14N it renders the namespaces it visibly uses. Call :meth:`close` at the end.
    """

    def __init__(
        self,
        write: Callable[[bytes], object],
        *,
        exclusive: bool = False,
        inclusive_prefixes: Iterable[str] = (),
        omit: Iterable[int] = (),
        context: Context | None = None,
    ) -> None:
        self._write = write
        self._exclusive = exclusive
        self._inclusive_prefixes = tuple(
            sorted({"" if p == "#default" else p for p in inclusive_prefixes})
        )
        self._omit = frozenset(omit)
        self._xml_attributes = dict(context.xml_attributes) if context and not exclusive else {}
        self._scopes: list[dict[str, str]] = [dict(context.namespaces) if context else {}]
        self._rendered: list[dict[str, str]] = [{}]
        self._names: dict[QName, str] = {}
        self._checked_uris: set[str] = set()
        self._parts: list[str] = []
        self._ordinal = 0
        self._skip = 0
        self._depth = 0
        self._after_root = False

    # -- sink protocol -----------------------------------------------------------------

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int = 0,
    ) -> None:
        """Render a start tag, unless the element is omitted or inside an omitted one."""
        ordinal = self._ordinal
        self._ordinal = ordinal + 1
        if self._skip:
            self._skip += 1
            return
        if ordinal in self._omit:
            self._skip = 1
            return
        scope = self._scopes[-1]
        if nsdecls:
            self._check_uris(nsdecls)
            new_scope = dict(scope)
            new_scope.update(nsdecls)
        else:
            new_scope = scope
        if self._exclusive:
            rendered = self._exclusive_namespaces(name, attrs, new_scope)
        elif self._depth == 0:
            rendered = sorted((p, u) for p, u in new_scope.items() if u and p != "xml")
        elif nsdecls:
            rendered = sorted((p, u) for p, u in nsdecls if p != "xml" and u != scope.get(p, ""))
        else:
            rendered = []
        if self._depth == 0 and self._xml_attributes:
            attrs = self._with_inherited(attrs)
        qualified = self._names.get(name)
        if qualified is None:
            qualified = self._names[name] = self._qualified(name)
        parts = ["<", qualified]
        for prefix, uri in rendered:
            parts.append(_ns_attr(prefix, uri))
        if attrs:
            for attr, value in sorted(attrs) if len(attrs) > 1 else attrs:
                parts.append(f' {self._qualified(attr)}="{value.translate(_ATTR_ESCAPES)}"')
        parts.append(">")
        self._parts.append("".join(parts))
        self._scopes.append(new_scope)
        self._depth += 1
        if len(self._parts) >= _FLUSH_PARTS:
            self.flush()

    def end(self, name: QName) -> None:
        """Render an end tag (empty elements get one too)."""
        if self._skip:
            self._skip -= 1
            return
        self._scopes.pop()
        if self._exclusive:
            self._rendered.pop()
        self._depth -= 1
        if self._depth == 0:
            self._after_root = True
        self._parts.append(f"</{self._names.get(name) or self._qualified(name)}>")

    def data(self, text: str) -> None:
        """Render character data; text outside the document element is dropped."""
        if self._skip or not self._depth:
            return
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            text = escape_text(text)
        if len(text) >= _BIG_TEXT:
            self.flush()
            self._write(text.encode("utf-8"))
        else:
            self._parts.append(text)

    def pi(self, target: str, data: str) -> None:
        """Render a processing instruction; outside the document element, on its own line."""
        if self._skip:
            return
        text = f"<?{target} {data}?>" if data else f"<?{target}?>"
        if not self._depth:
            text = "\n" + text if self._after_root else text + "\n"
        self._parts.append(text)

    def flush(self) -> None:
        """Write what is buffered."""
        if self._parts:
            self._write("".join(self._parts).encode("utf-8"))
            self._parts.clear()

    def close(self) -> None:
        """Write what is left; call once after the last event."""
        self.flush()

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _qualified(name: QName) -> str:
        return f"{name.prefix}:{name.local}" if name.prefix else name.local

    def _check_uris(self, nsdecls: Sequence[tuple[str, str]]) -> None:
        for _, uri in nsdecls:
            if uri and uri not in self._checked_uris:
                if not _SCHEME.match(uri):
                    raise CanonicalizationError(
                        f"relative namespace URI {uri!r} has no canonical form",
                        code="c14n.relative-namespace",
                    )
                self._checked_uris.add(uri)

    def _exclusive_namespaces(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        scope: Mapping[str, str],
    ) -> list[tuple[str, str]]:
        rendered = self._rendered[-1]
        used = {name.prefix}
        for attr, _ in attrs:
            if attr.prefix:
                used.add(attr.prefix)
        used.discard("xml")
        out: list[tuple[str, str]] = []
        for prefix in used:
            uri = scope.get(prefix, "")
            if rendered.get(prefix, "") != uri:
                out.append((prefix, uri))
        for prefix in self._inclusive_prefixes:
            if prefix in used or prefix == "xml":
                continue
            listed = scope.get(prefix)
            if listed is not None and rendered.get(prefix, "") != listed:
                out.append((prefix, listed))
        if out:
            out.sort()
            new_rendered = dict(rendered)
            new_rendered.update(out)
            self._rendered.append(new_rendered)
        else:
            self._rendered.append(rendered)
        return out

    def _with_inherited(self, attrs: Sequence[tuple[QName, str]]) -> list[tuple[QName, str]]:
        own = {attr.local for attr, _ in attrs if attr.uri == XML_NS}
        merged = list(attrs)
        for local, value in self._xml_attributes.items():
            if local not in own:
                merged.append((QName(XML_NS, local, "xml"), value))
        return merged


# -- recorded events ---------------------------------------------------------------------

StartEvent = tuple[Literal["start"], QName, Sequence[tuple[QName, str]], Sequence[tuple[str, str]]]
EndEvent = tuple[Literal["end"], QName]
DataEvent = tuple[Literal["data"], str]
PiEvent = tuple[Literal["pi"], str, str]
Event = StartEvent | EndEvent | DataEvent | PiEvent


class Recorder:
    """An xmlstream sink that keeps the events it receives, to be replayed later."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.text_length = 0

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int = 0,
    ) -> None:
        """Keep a start event."""
        self.events.append(("start", name, attrs, nsdecls))

    def end(self, name: QName) -> None:
        """Keep an end event."""
        self.events.append(("end", name))

    def data(self, text: str) -> None:
        """Keep character data."""
        self.text_length += len(text)
        self.events.append(("data", text))

    def pi(self, target: str, data: str) -> None:
        """Keep a processing instruction."""
        self.events.append(("pi", target, data))


def replay(events: Iterable[Event], sink: Canonicalizer | Recorder) -> None:
    """Send recorded events to ``sink`` in order."""
    for event in events:
        if event[0] == "start":
            sink.start(event[1], event[2], event[3])
        elif event[0] == "end":
            sink.end(event[1])
        elif event[0] == "data":
            sink.data(event[1])
        else:
            sink.pi(event[1], event[2])


def canonicalize(
    source: Source,
    *,
    exclusive: bool = False,
    inclusive_prefixes: Iterable[str] = (),
    omit: Iterable[int] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """The canonical form of a whole document, in memory (for small documents and tests)."""
    chunks: list[bytes] = []
    canon = Canonicalizer(
        chunks.append, exclusive=exclusive, inclusive_prefixes=inclusive_prefixes, omit=omit
    )
    stream(source, [canon], limits)
    canon.close()
    return b"".join(chunks)


def canonicalize_events(
    events: Iterable[Event],
    *,
    exclusive: bool = False,
    inclusive_prefixes: Iterable[str] = (),
    context: Context | None = None,
) -> bytes:
    """The canonical form of recorded events forming one subtree (e.g. ``SignedInfo``)."""
    chunks: list[bytes] = []
    canon = Canonicalizer(
        chunks.append,
        exclusive=exclusive,
        inclusive_prefixes=inclusive_prefixes,
        context=context or Context(),
    )
    replay(events, canon)
    canon.close()
    return b"".join(chunks)
