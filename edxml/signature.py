"""Verify and make enveloped XML signatures of edXML packets, standard and legacy layouts.

Verification streams the original bytes through a canonicaliser into a hash (lxml's C14N
for packets up to 4 MB, same digest) and never re-serialises. It evaluates one signature:
the first ``Signature`` in document order (normally the one in ``edXMLHeader``), whose one
``Reference`` must be ``URI=""``. Signing splices the signature into the original bytes
after ``TraceHeaderList`` (``MessageHeader`` in a status packet): standard layout by
signxml, legacy layout here; RSA-SHA256 by default, RSA-SHA1 only for the legacy layout.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import hmac
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Final, Literal, TypeVar, get_args
from xml.parsers import expat

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree
from pydantic import BaseModel, ConfigDict

from edxml.c14n import (
    C14N_10,
    C14N_10_COMMENTS,
    C14N_11,
    C14N_11_COMMENTS,
    EXC_C14N,
    EXC_C14N_COMMENTS,
    XML_NS,
    CanonicalizationError,
    Canonicalizer,
    Context,
    Event,
    Recorder,
    canonicalize_events,
    escape_attribute,
    replay,
)
from edxml.errors import EdxmlError, SigningError
from edxml.namespaces import DSIG_NS, EDXML_NS
from edxml.xmlstream import DEFAULT_LIMITS, Limits, QName, Rereadable, Sink, Source, stream

FAST_PATH_MAX = 4 * 1024 * 1024
"""Packets up to this size are digested with lxml's C14N (same result, less Python work)."""

_BUFFER_MAX = 8 * 1024 * 1024
_MAX_CHAIN = 8

ENVELOPED: Final = DSIG_NS + "enveloped-signature"
_MORE: Final = "http://www.w3.org/2001/04/xmldsig-more#"
_XMLENC: Final = "http://www.w3.org/2001/04/xmlenc#"

SIGNATURE_METHODS: Final[Mapping[str, tuple[str, str]]] = {
    DSIG_NS + "rsa-sha1": ("rsa", "sha1"),
    _MORE + "rsa-sha224": ("rsa", "sha224"),
    _MORE + "rsa-sha256": ("rsa", "sha256"),
    _MORE + "rsa-sha384": ("rsa", "sha384"),
    _MORE + "rsa-sha512": ("rsa", "sha512"),
    _MORE + "ecdsa-sha1": ("ecdsa", "sha1"),
    _MORE + "ecdsa-sha224": ("ecdsa", "sha224"),
    _MORE + "ecdsa-sha256": ("ecdsa", "sha256"),
    _MORE + "ecdsa-sha384": ("ecdsa", "sha384"),
    _MORE + "ecdsa-sha512": ("ecdsa", "sha512"),
}
"""Signature method URI to (key kind, hash name)."""

DIGEST_METHODS: Final[Mapping[str, str]] = {
    DSIG_NS + "sha1": "sha1",
    _MORE + "sha224": "sha224",
    _XMLENC + "sha256": "sha256",
    _MORE + "sha384": "sha384",
    _XMLENC + "sha512": "sha512",
}
"""Digest method URI to hashlib name."""

_DIGEST_URIS: Final = {name: uri for uri, name in DIGEST_METHODS.items()}
_HASHES: Final[Mapping[str, type[hashes.HashAlgorithm]]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_C14N_METHODS: Final = {C14N_10, C14N_11, EXC_C14N}
_REFERENCE_C14N: Final = {
    C14N_10,
    C14N_10_COMMENTS,
    C14N_11,
    C14N_11_COMMENTS,
    EXC_C14N,
    EXC_C14N_COMMENTS,
}
_SIGNATURE_NS: Final = frozenset({DSIG_NS, EDXML_NS, ""})
_NEEDS_ESCAPE: Final = re.compile(r'[&<"\t\n\r]')
_LEGACY_ALIASES: Final = {"http://www.w3.org/TR/xml-exc-c14n#": EXC_C14N}
"""Misspelt algorithm URIs found in legacy-layout packets (the public samples), and meaning."""

Algorithm = Literal[
    "rsa-sha1",
    "rsa-sha256",
    "rsa-sha384",
    "rsa-sha512",
    "ecdsa-sha256",
    "ecdsa-sha384",
    "ecdsa-sha512",
]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Status = Literal["valid", "invalid", "absent", "unverifiable"]


class SignatureOutcome(BaseModel):
    """What verifying a packet's signature found; never an exception for a bad signature."""

    model_config = ConfigDict(frozen=True)

    status: Status
    """valid; invalid (digest or signature value mismatch); absent; unverifiable."""
    reason: str | None = None
    """Why the status is not "valid", for people."""
    trusted: bool | None = None
    """None without trust anchors; True when the certificate chains to one, dates valid."""
    trust_reason: str | None = None
    """Why ``trusted`` is False."""
    layout: Literal["standard", "legacy"] | None = None
    """standard: XML-DSig namespace; legacy: unprefixed elements in the edXML namespace."""
    signature_algorithm: str | None = None
    digest_algorithm: str | None = None
    c14n_algorithm: str | None = None
    """The ``CanonicalizationMethod`` of ``SignedInfo``."""
    transforms: tuple[str, ...] = ()
    """The ``Reference``'s transforms, in order."""
    digest_matches: bool | None = None
    """Whether the reference digest matched, when it could be computed."""
    signer: str | None = None
    """Certificate subject (RFC 4514), or the ``X509SubjectName`` text when unusable."""
    certificate_sha256: str | None = None
    """Hex SHA-256 fingerprint of the signing certificate."""
    signature_count: int = 0
    """How many ``Signature`` elements the packet holds (only the first is evaluated)."""

    @property
    def valid(self) -> bool:
        """True when the signature is intact (trust is reported separately)."""
        return self.status == "valid"


# -- reading the Signature element ------------------------------------------------------


@dataclass
class _Node:
    name: QName
    attrs: dict[str, str]
    first: int
    last: int = 0
    children: list[_Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def child(self, local: str, uri: str) -> _Node | None:
        for node in self.children:
            if node.name.local == local and node.name.uri == uri:
                return node
        return None

    def all(self, local: str, uri: str) -> list[_Node]:
        return [n for n in self.children if n.name.local == local and n.name.uri == uri]

    @property
    def value(self) -> str:
        return "".join(self.text).strip()


def _tree(events: Sequence[Event]) -> _Node:
    stack: list[_Node] = []
    root: _Node | None = None
    for index, event in enumerate(events):
        if event[0] == "start":
            node = _Node(event[1], {a.local: v for a, v in event[2] if not a.uri}, index)
            if stack:
                stack[-1].children.append(node)
            else:
                root = node
            stack.append(node)
        elif event[0] == "end":
            stack.pop().last = index
        elif event[0] == "data" and stack:
            stack[-1].text.append(event[1])
    assert root is not None
    return root


@dataclass
class _Found:
    """The evaluated Signature: its document-order index, events and inherited context."""

    ordinal: int
    events: list[Event]
    namespaces: dict[str, str]
    xml_attributes: dict[str, str]
    is_root: bool


def _is_signature(name: QName) -> bool:
    return name.local == "Signature" and name.uri in _SIGNATURE_NS


_SIGNATURE_TAGS: Final = frozenset(
    f"{{{uri}}}Signature" if uri else "Signature" for uri in _SIGNATURE_NS
)


def _events_of(element: etree._Element) -> list[Event] | None:
    """The events of a subtree as expat would report them; None if a prefix is ambiguous.

    lxml keeps element prefixes but not attribute prefixes: an attribute whose namespace
    more than one prefix maps to cannot be told apart, so the caller re-reads the bytes.
    """
    events: list[Event] = []
    parent = element.getparent()
    outer: dict[str | None, str] = dict(parent.nsmap) if parent is not None else {}

    def walk(el: etree._Element, inherited: dict[str | None, str]) -> bool:
        nsmap = dict(el.nsmap)
        decls = [(p or "", u) for p, u in nsmap.items() if inherited.get(p) != u]
        if None in inherited and None not in nsmap:
            decls.append(("", ""))
        attrs: list[tuple[QName, str]] = []
        for raw_key, raw_value in el.attrib.items():
            key, value = str(raw_key), str(raw_value)
            if key.startswith("{"):
                uri, _, local = key[1:].partition("}")
                if uri == XML_NS:
                    attrs.append((QName(uri, local, "xml"), value))
                    continue
                prefixes = [p for p, u in nsmap.items() if u == uri and p is not None]
                if len(prefixes) != 1:
                    return False
                attrs.append((QName(uri, local, prefixes[0]), value))
            else:
                attrs.append((QName("", key, ""), value))
        qname = etree.QName(el)
        name = QName(qname.namespace or "", qname.localname, el.prefix or "")
        events.append(("start", name, attrs, decls))
        if el.text:
            events.append(("data", el.text))
        for child in el:
            if isinstance(child.tag, str):
                if not walk(child, nsmap):
                    return False
            elif isinstance(child, etree._ProcessingInstruction):
                events.append(("pi", str(child.target), child.text or ""))
            if child.tail:
                events.append(("data", child.tail))
        events.append(("end", name))
        return True

    return events if walk(element, outer) else None


def _inherited_xml_attributes(element: etree._Element) -> dict[str, str]:
    """``xml:*`` attributes in force at ``element``, the nearest ancestor's winning."""
    found: dict[str, str] = {}
    for el in (element, *element.iterancestors()):
        for raw_key, value in el.attrib.items():
            key = str(raw_key)
            if key.startswith(f"{{{XML_NS}}}"):
                found.setdefault(key.partition("}")[2], str(value))
    return found


def _canonical_without(
    element: etree._Element, exclusive: bool, prefixes: Sequence[str]
) -> bytes | None:
    """lxml's canonical form of the document without ``element``, which is put back after."""
    parent = element.getparent()
    assert parent is not None
    index = parent.index(element)
    previous = element.getprevious()
    saved = previous.tail if previous is not None else parent.text
    _detach(element)
    try:
        return etree.tostring(
            parent.getroottree(),
            method="c14n",
            exclusive=exclusive,
            with_comments=False,
            inclusive_ns_prefixes=list(prefixes) or None,
        )
    except (etree.LxmlError, ValueError):
        return None
    finally:
        if previous is not None:
            previous.tail = saved
        else:
            parent.text = saved
        parent.insert(index, element)


class _Locator:
    """Sink finding the first Signature element and recording its subtree and context.

    Namespace scopes and ``xml:*`` attributes are stacked only where they change, tagged
    with the depth that pushed them, so ordinary elements cost a few comparisons.
    """

    def __init__(self, on_found: Callable[[_Found], None] | None = None) -> None:
        self.on_found = on_found
        self.found: _Found | None = None
        self.count = 0
        self.elements = 0
        self.top_level_pis = 0
        self.lxml_safe = True
        """False when a namespace URI needs escaping: libxml2's C14N writes them raw."""
        self._depth = 0
        self._scopes: list[tuple[int, dict[str, str]]] = [(0, {})]
        self._xml: list[tuple[int, dict[str, str]]] = [(0, {})]
        self._capture: Recorder | None = None
        self._capture_depth = 0
        self._pending: _Found | None = None
        self.from_tree = False
        self.needs_events = False
        self.spec: _Spec | None = None
        self.canonical: bytes | None = None

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        ordinal = self.elements
        self.elements = ordinal + 1
        if name.local == "Signature" and name.uri in _SIGNATURE_NS:
            self.count += 1
            if self.found is None and self._capture is None:
                self._begin(ordinal, name, attrs, nsdecls)
                return
        capture = self._capture
        if capture is not None:
            capture.start(name, attrs, nsdecls)
            self._capture_depth += 1
            return
        depth = self._depth = self._depth + 1
        if nsdecls:
            self._scopes.append((depth, {**self._scopes[-1][1], **dict(nsdecls)}))
            if any(_NEEDS_ESCAPE.search(uri) for _, uri in nsdecls):
                self.lxml_safe = False
        if attrs:
            inherited = self._xml[-1][1]
            for attr, value in attrs:
                if attr.uri == XML_NS:
                    inherited = {**inherited, attr.local: value}
            if inherited is not self._xml[-1][1]:
                self._xml.append((depth, inherited))

    def tree(self, root: etree._Element) -> None:
        """Locate from a tree lxml parsed (small packets), before anyone changes that tree.

        Builds the same :class:`_Found` the events would give and canonicalises the packet
        at once, since the reader strips attachment text from the tree afterwards.
        """
        self.from_tree = True
        first: tuple[int, etree._Element] | None = None
        for index, node in enumerate(root.iter("*")):
            self.elements = index + 1
            if node.tag in _SIGNATURE_TAGS:
                self.count += 1
                if first is None:
                    first = index, node
        if first is None:
            return
        uris = {uri for node in root.iter("*") for uri in node.nsmap.values()}
        self.lxml_safe = not any(_NEEDS_ESCAPE.search(uri) for uri in uris)
        ordinal, element = first
        events = _events_of(element)
        if events is None:
            self.needs_events = True
            return
        parent = element.getparent()
        self.found = _Found(
            ordinal=ordinal,
            events=events,
            namespaces={p or "": u for p, u in element.nsmap.items()},
            xml_attributes=_inherited_xml_attributes(element),
            is_root=parent is None,
        )
        try:
            self.spec = spec = _parse(self.found)
        except _UnverifiableError:
            return
        if self.lxml_safe and parent is not None and "#default" not in spec.prefixes:
            self.canonical = _canonical_without(element, spec.exclusive, spec.prefixes)

    def _begin(
        self,
        ordinal: int,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
    ) -> None:
        capture = self._capture = Recorder()
        self._capture_depth = 1
        capture.start(name, attrs, nsdecls)
        xml = dict(self._xml[-1][1])
        xml.update((a.local, v) for a, v in attrs if a.uri == XML_NS)
        self._pending = _Found(
            ordinal=ordinal,
            events=capture.events,
            namespaces={**self._scopes[-1][1], **dict(nsdecls)},
            xml_attributes=xml,
            is_root=self._depth == 0,
        )

    def end(self, name: QName) -> None:
        capture = self._capture
        if capture is None:
            depth = self._depth
            if self._scopes[-1][0] == depth:
                self._scopes.pop()
            if self._xml[-1][0] == depth:
                self._xml.pop()
            self._depth = depth - 1
            return
        capture.end(name)
        self._capture_depth -= 1
        if not self._capture_depth:
            self._capture = None
            self.found, self._pending = self._pending, None
            if self.on_found is not None and self.found is not None:
                self.on_found(self.found)

    def data(self, text: str) -> None:
        if self._capture is not None:
            self._capture.data(text)

    def pi(self, target: str, data: str) -> None:
        if self._capture is not None:
            self._capture.pi(target, data)
        elif not self._depth:
            self.top_level_pis += 1


@dataclass
class _Spec:
    """A signature that can be checked: algorithms, values, certificates, SignedInfo."""

    layout: Literal["standard", "legacy"]
    c14n_algorithm: str
    signature_algorithm: str
    digest_algorithm: str
    transforms: tuple[str, ...]
    exclusive: bool
    prefixes: tuple[str, ...]
    digest_value: bytes
    signature_value: bytes
    certificates: list[str]
    subject_name: str | None
    signed_info: Sequence[Event]
    signed_info_context: Context
    signed_info_prefixes: tuple[str, ...]
    signed_info_exclusive: bool


class _UnverifiableError(Exception):
    def __init__(self, reason: str, facts: dict[str, object]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.facts = facts


def _prefix_list(method: _Node) -> tuple[str, ...]:
    for child in method.children:
        if child.name.local == "InclusiveNamespaces":
            return tuple(child.attrs.get("PrefixList", "").split())
    return ()


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def _parse(found: _Found) -> _Spec:
    """Read the Signature subtree, or raise _UnverifiableError saying what is missing."""
    root = _tree(found.events)
    ns = root.name.uri
    layout: Literal["standard", "legacy"] = "standard" if ns == DSIG_NS else "legacy"
    facts: dict[str, object] = {"layout": layout}

    def fail(reason: str) -> _UnverifiableError:
        return _UnverifiableError(reason, facts)

    key_info = root.child("KeyInfo", ns)
    x509_data = key_info.all("X509Data", ns) if key_info else []
    certificates = [c.value for d in x509_data for c in d.all("X509Certificate", ns)]
    subjects = [c.value for d in x509_data for c in d.all("X509SubjectName", ns)]
    subject_name = subjects[0] if subjects else None
    if subject_name:
        facts["signer"] = subject_name
    signed_info = root.child("SignedInfo", ns)
    if signed_info is None:
        raise fail("the Signature has no SignedInfo")
    c14n_method = signed_info.child("CanonicalizationMethod", ns)
    sig_method = signed_info.child("SignatureMethod", ns)
    c14n_alg = c14n_method.attrs.get("Algorithm", "") if c14n_method else ""
    sig_alg = sig_method.attrs.get("Algorithm", "") if sig_method else ""
    facts.update(c14n_algorithm=c14n_alg or None, signature_algorithm=sig_alg or None)
    references = signed_info.all("Reference", ns)
    reference = references[0] if references else None
    digest_method = reference.child("DigestMethod", ns) if reference else None
    digest_alg = digest_method.attrs.get("Algorithm", "") if digest_method else ""
    transform_nodes: list[_Node] = []
    if reference is not None:
        transforms_node = reference.child("Transforms", ns)
        transform_nodes = transforms_node.all("Transform", ns) if transforms_node else []
    transforms = tuple(t.attrs.get("Algorithm", "") for t in transform_nodes)
    written = transforms
    facts.update(digest_algorithm=digest_alg or None, transforms=written)

    if layout == "legacy":
        c14n_alg = _LEGACY_ALIASES.get(c14n_alg, c14n_alg)
        transforms = tuple(_LEGACY_ALIASES.get(t, t) for t in transforms)
    if found.is_root:
        raise fail("the Signature is the document element: nothing is signed")
    if c14n_alg not in _C14N_METHODS:
        raise fail(f"unsupported SignedInfo canonicalization method {c14n_alg!r}")
    if sig_alg not in SIGNATURE_METHODS:
        raise fail(f"unsupported signature method {sig_alg!r}")
    if len(references) != 1 or reference is None:
        raise fail(f"expected exactly one Reference, found {len(references)}")
    uri = reference.attrs.get("URI")
    if uri != "":
        raise fail(f'unsupported Reference URI {uri!r}: only URI="" (the whole packet) is accepted')
    if digest_alg not in DIGEST_METHODS:
        raise fail(f"unsupported digest method {digest_alg!r}")
    if not transforms or transforms[0] != ENVELOPED:
        raise fail("the Reference does not start with the enveloped-signature transform")
    if len(transforms) > 2 or (len(transforms) == 2 and transforms[1] not in _REFERENCE_C14N):
        raise fail(f"unsupported Reference transforms {list(transforms)}")
    ref_c14n = transforms[1] if len(transforms) == 2 else C14N_10
    exclusive = ref_c14n.startswith(EXC_C14N)
    prefixes = _prefix_list(transform_nodes[1]) if exclusive else ()
    digest_node = reference.child("DigestValue", ns)
    value_node = root.child("SignatureValue", ns)
    try:
        digest_value = _b64(digest_node.value if digest_node else "")
        signature_value = _b64(value_node.value if value_node else "")
    except (binascii.Error, ValueError) as exc:
        raise fail(f"DigestValue or SignatureValue is not base64: {exc}") from exc
    if not digest_value or not signature_value:
        raise fail("DigestValue or SignatureValue is missing")

    xml_attributes: dict[str, str] = {}
    if c14n_alg == C14N_10:
        xml_attributes = dict(found.xml_attributes)
    elif c14n_alg == C14N_11:
        if "base" in found.xml_attributes:
            raise fail("xml:base above SignedInfo with C14N 1.1 is not supported")
        xml_attributes = {k: v for k, v in found.xml_attributes.items() if k in {"lang", "space"}}
    return _Spec(
        layout=layout,
        c14n_algorithm=str(facts["c14n_algorithm"]),
        signature_algorithm=sig_alg,
        digest_algorithm=digest_alg,
        transforms=written,
        exclusive=exclusive,
        prefixes=prefixes,
        digest_value=digest_value,
        signature_value=signature_value,
        certificates=certificates,
        subject_name=subject_name,
        signed_info=found.events[signed_info.first : signed_info.last + 1],
        signed_info_context=Context(found.namespaces, xml_attributes),
        signed_info_prefixes=_prefix_list(c14n_method) if c14n_method else (),
        signed_info_exclusive=c14n_alg == EXC_C14N,
    )


def _signed_info_bytes(spec: _Spec) -> bytes:
    return canonicalize_events(
        spec.signed_info,
        exclusive=spec.signed_info_exclusive,
        inclusive_prefixes=spec.signed_info_prefixes,
        context=spec.signed_info_context,
    )


# -- digesting the packet ---------------------------------------------------------------


class _Deferred:
    """Sink buffering events until the canonicaliser is known, then forwarding them."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = Recorder()
        self.target: Canonicalizer | None = None
        self.overflow = False
        self.error: CanonicalizationError | None = None

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        target = self.target
        if target is not None:
            try:
                target.start(name, attrs, nsdecls)
            except CanonicalizationError as exc:
                self.error, self.target = exc, None
        elif self.recorder is not None:
            self.recorder.start(name, attrs, nsdecls)

    def end(self, name: QName) -> None:
        if self.target is not None:
            self.target.end(name)
        elif self.recorder is not None:
            self.recorder.end(name)

    def data(self, text: str) -> None:
        if self.target is not None:
            self.target.data(text)
        elif self.recorder is not None:
            self.recorder.data(text)
            if self.recorder.text_length > _BUFFER_MAX:
                self.recorder, self.overflow = None, True

    def pi(self, target: str, data: str) -> None:
        if self.target is not None:
            self.target.pi(target, data)
        elif self.recorder is not None:
            self.recorder.pi(target, data)

    def attach(self, canon: Canonicalizer) -> None:
        if self.recorder is None:
            return
        events, self.recorder = self.recorder.events, None
        try:
            replay(events, canon)
        except CanonicalizationError as exc:
            self.error = exc
            return
        self.target = canon

    def discard(self) -> None:
        self.recorder = None


def _canonicalizer(spec: _Spec, ordinal: int, sink: Callable[[bytes], object]) -> Canonicalizer:
    return Canonicalizer(
        sink, exclusive=spec.exclusive, inclusive_prefixes=spec.prefixes, omit=(ordinal,)
    )


def _strip_leading(data: bytes) -> bytes:
    """Drop what xmlstream tolerates before the XML (a BOM is kept)."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    lt = data.find(b"<", len(bom))
    return bom + data[lt:] if lt > len(bom) else data


def _safe_parser(huge: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=huge,
        collect_ids=False,
        remove_comments=False,
        remove_pis=False,
    )


def _detach(element: etree._Element) -> None:
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _lxml_canonical(
    body: bytes, omit: int, exclusive: bool, prefixes: Sequence[str]
) -> bytes | None:
    """Canonical form without element ``omit`` by lxml, or None when lxml declines.

    lxml ignores ``#default`` in an InclusiveNamespaces PrefixList, so such lists decline.
    """
    if "#default" in prefixes:
        return None
    try:
        root = etree.fromstring(_strip_leading(body), _safe_parser(False))
        element = next(islice(root.iter("*"), omit, None))
        if element is root:
            return None
        _detach(element)
        return etree.tostring(
            root.getroottree(),
            method="c14n",
            exclusive=exclusive,
            with_comments=False,
            inclusive_ns_prefixes=list(prefixes) or None,
        )
    except (etree.LxmlError, StopIteration, ValueError):
        return None


def _stream_digest(
    source: Source,
    omit: int,
    exclusive: bool,
    prefixes: Sequence[str],
    hash_name: str,
    limits: Limits,
) -> bytes:
    digest = hashlib.new(hash_name)
    canon = Canonicalizer(
        digest.update, exclusive=exclusive, inclusive_prefixes=prefixes, omit=(omit,)
    )
    stream(source, [canon], limits)
    canon.close()
    return digest.digest()


def reference_digest(
    source: Source,
    omit: int,
    *,
    exclusive: bool = False,
    inclusive_prefixes: Sequence[str] = (),
    hash_name: str = "sha256",
    method: Literal["auto", "lxml", "stream"] = "auto",
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """Digest of the canonical document without element number ``omit`` (0 = the root).

    This is what an enveloped signature's ``URI=""`` reference digests. ``method`` picks
    lxml's C14N (packets up to :data:`FAST_PATH_MAX`; raises CanonicalizationError when
    lxml declines), the streaming canonicaliser, or lets "auto" choose like :func:`verify`.
    """
    packet = Rereadable(source, limits, small_max=FAST_PATH_MAX)
    try:
        if method == "stream" or (method == "auto" and not packet.small):
            return _stream_digest(
                packet.open(), omit, exclusive, inclusive_prefixes, hash_name, limits
            )
        body = packet.open()
        if not isinstance(body, bytes):
            raise CanonicalizationError("the lxml method is for packets held in memory")
        locator = _Locator()
        stream(body, [locator], limits)
        canonical = (
            _lxml_canonical(body, omit, exclusive, inclusive_prefixes)
            if locator.lxml_safe
            else None
        )
        if canonical is not None:
            return hashlib.new(hash_name, canonical).digest()
        if method == "lxml":
            raise CanonicalizationError("lxml cannot canonicalize this document")
        return _stream_digest(body, omit, exclusive, inclusive_prefixes, hash_name, limits)
    finally:
        packet.close()


# -- certificates and trust -------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@functools.lru_cache(maxsize=512)
def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


_CERTIFICATE_FAULTS = (
    ValueError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
"""What cryptography raises on a damaged certificate (as loaded, or as first read)."""


@functools.lru_cache(maxsize=512)
def _certificate(der: bytes) -> x509.Certificate:
    """A DER certificate whose every field the check reads can be read: cryptography parses
    some (names, key, dates, extensions) only when first asked, and raises then."""
    cert = x509.load_der_x509_certificate(der)
    _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc)
    _ = (cert.public_key(), cert.extensions, cert.serial_number)
    return cert


def _embedded(texts: Sequence[str]) -> tuple[list[x509.Certificate], str | None]:
    certs: list[x509.Certificate] = []
    problem = None
    for text in texts:
        try:
            der = _b64(text)
        except ValueError as exc:  # binascii.Error, or a character outside ASCII
            problem = f"not valid base64: {exc}"
            continue
        try:
            certs.append(_certificate(der))
        except _CERTIFICATE_FAULTS as exc:
            problem = f"not a DER certificate: {exc}"
    return certs, problem


def _leaf(certs: Sequence[x509.Certificate]) -> x509.Certificate:
    for cert in certs:
        if not any(o is not cert and o.issuer == cert.subject for o in certs):
            return cert
    return certs[0]


@functools.lru_cache(maxsize=1024)
def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _date_problem(cert: x509.Certificate, now: datetime) -> str | None:
    subject = _subject(cert)
    if now < cert.not_valid_before_utc:
        return f"certificate {subject!r} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
    if now > cert.not_valid_after_utc:
        return f"certificate {subject!r} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


@dataclass(frozen=True)
class _TrustSet:
    """What trust is judged against: anchors, and the revocation lists of their CAs."""

    anchors: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.anchors)


def _trust(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    trust: _TrustSet,
    now: datetime,
) -> tuple[bool, str | None]:
    anchor_prints = {_fingerprint(a) for a in trust.anchors}
    current = leaf
    for _ in range(_MAX_CHAIN):
        problem = _date_problem(current, now)
        if problem:
            return False, problem
        if _fingerprint(current) in anchor_prints:
            return True, None
        for anchor in trust.anchors:
            if _issued_by(current, anchor):
                problem = _date_problem(anchor, now)
                if problem:
                    return False, f"trust anchor: {problem}"
                revoked = _revocation_problem(current, anchor, trust.crls, now)
                return (False, revoked) if revoked else (True, None)
        issuer = next(
            (c for c in pool if c is not current and _is_ca(c) and _issued_by(current, c)),
            None,
        )
        if issuer is None:
            break
        revoked = _revocation_problem(current, issuer, trust.crls, now)
        if revoked:
            return False, revoked
        current = issuer
    return False, "the certificate does not chain to a configured trust anchor"


def _revocation_problem(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crls: Sequence[x509.CertificateRevocationList],
    now: datetime,
) -> str | None:
    """Why ``cert`` cannot be trusted by the revocation list ``issuer`` signed (None: it is
    not revoked, or no configured list is the issuer's: revocation then goes unchecked)."""
    for crl in crls:
        if crl.issuer != issuer.subject:
            continue
        try:
            signed = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        except (TypeError, ValueError, UnsupportedAlgorithm):
            signed = False
        if not signed:
            continue
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            return (
                f"revocation unknown: the revocation list of {_subject(issuer)!r} is out of "
                f"date (its next update was due {crl.next_update_utc:%Y-%m-%d %H:%M} UTC)"
            )
        revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if revoked is not None and revoked.revocation_date_utc <= now:
            return (
                f"certificate {_subject(cert)!r} was revoked on "
                f"{revoked.revocation_date_utc:%Y-%m-%d} (revocation list of "
                f"{_subject(issuer)!r})"
            )
        return None
    return None


def _check_value(
    spec: _Spec, cert: x509.Certificate, signed_info: bytes
) -> tuple[Status, str] | None:
    """None when SignatureValue verifies with the certificate's key; else status and why."""
    kind, hash_name = SIGNATURE_METHODS[spec.signature_algorithm]
    algorithm = _HASHES[hash_name]()
    key = cert.public_key()
    value = spec.signature_value
    try:
        if kind == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                return "unverifiable", "RSA signature method, but the certificate's key is not RSA"
            key.verify(value, signed_info, padding.PKCS1v15(), algorithm)
        else:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return "unverifiable", "ECDSA signature method, but the certificate's key is not EC"
            half = len(value) // 2
            if len(value) % 2:
                return "invalid", "signature value mismatch: odd-length ECDSA SignatureValue"
            der = encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            key.verify(der, signed_info, ec.ECDSA(algorithm))
    except InvalidSignature:
        return "invalid", "signature value mismatch: SignatureValue does not match SignedInfo"
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return "unverifiable", f"the certificate's key cannot check the signature: {exc}"
    return None


# -- verification -----------------------------------------------------------------------


def _trust_set(
    trust_anchors: Iterable[x509.Certificate | str | Path],
    crls: Iterable[x509.CertificateRevocationList | str | Path],
) -> _TrustSet:
    return _TrustSet(tuple(load_certificates(trust_anchors)), tuple(load_crls(crls)))


def verify(
    source: Source,
    *,
    trust_anchors: Iterable[x509.Certificate | str | Path] = (),
    crls: Iterable[x509.CertificateRevocationList | str | Path] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> SignatureOutcome:
    """Check the packet's enveloped signature against its own certificate, then trust
    (against ``trust_anchors``, with revocation by those of ``crls`` their CAs signed).

    Raises :class:`~edxml.errors.PacketError` subclasses only when the packet is not safe,
    well-formed XML; every signature problem is an outcome.
    """
    with Rereadable(source, limits, small_max=FAST_PATH_MAX) as packet:
        check = Verification(packet, trust_anchors=trust_anchors, crls=crls, limits=limits)
        stream(packet.open(), check.sinks, limits)
        return check.finish()


class Verification:
    """A signature check that rides on a pass someone else drives over the packet.

    Add :attr:`sinks` to that pass (``xmlstream.stream``), then call :meth:`finish`. Small
    packets are canonicalised by lxml afterwards; large ones are digested during the pass.
    """

    def __init__(
        self,
        packet: Rereadable,
        *,
        trust_anchors: Iterable[x509.Certificate | str | Path] = (),
        crls: Iterable[x509.CertificateRevocationList | str | Path] = (),
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._packet = packet
        self._anchors = _trust_set(trust_anchors, crls)
        self._limits = limits
        self._state = None if packet.small else _Digesting()
        self._locator = _Locator(None if self._state is None else self._state.on_found)
        self.sinks: list[Sink] = [self._locator]
        if self._state is not None:
            self.sinks.append(self._state.deferred)

    def finish(self) -> SignatureOutcome:
        """The outcome, once the pass over the packet has ended."""
        if self._state is None:
            return _finish_small(self._packet, self._locator, self._anchors, self._limits)
        return _finish_streaming(
            self._packet, self._locator, self._state, self._anchors, self._limits
        )


def _finish_small(
    packet: Rereadable, locator: _Locator, anchors: _TrustSet, limits: Limits
) -> SignatureOutcome:
    body = packet.open()
    assert isinstance(body, bytes)
    if locator.needs_events:
        locator = _Locator()
        stream(body, [locator], limits)
    found = locator.found
    if found is None:
        return SignatureOutcome(status="absent", signature_count=locator.count)
    try:
        spec = locator.spec or _parse(found)
    except _UnverifiableError as exc:
        return _unverifiable(exc, locator.count)
    hash_name = DIGEST_METHODS[spec.digest_algorithm]
    if locator.canonical is not None:
        canonical: bytes | None = locator.canonical
    elif locator.lxml_safe and not locator.from_tree:
        canonical = _lxml_canonical(body, found.ordinal, spec.exclusive, spec.prefixes)
    else:
        canonical = None
    if canonical is not None:
        digest = hashlib.new(hash_name, canonical).digest()
    else:
        try:
            digest = _stream_digest(
                body, found.ordinal, spec.exclusive, spec.prefixes, hash_name, limits
            )
        except CanonicalizationError as exc:
            return _conclude(spec, None, anchors, locator.count, exc.message)
    return _conclude(spec, digest, anchors, locator.count)


class _Digesting:
    """The streaming verifier's state: set up when the Signature has been read."""

    def __init__(self) -> None:
        self.deferred = _Deferred()
        self.spec: _Spec | None = None
        self.problem: _UnverifiableError | None = None
        self.hasher: hashlib._Hash | None = None
        self.canon: Canonicalizer | None = None

    def on_found(self, found: _Found) -> None:
        try:
            self.spec = spec = _parse(found)
        except _UnverifiableError as exc:
            self.problem = exc
            self.deferred.discard()
            return
        self.hasher = hashlib.new(DIGEST_METHODS[spec.digest_algorithm])
        self.canon = _canonicalizer(spec, found.ordinal, self.hasher.update)
        self.deferred.attach(self.canon)


def _finish_streaming(
    packet: Rereadable,
    locator: _Locator,
    state: _Digesting,
    anchors: _TrustSet,
    limits: Limits,
) -> SignatureOutcome:
    found = locator.found
    if found is None:
        return SignatureOutcome(status="absent", signature_count=locator.count)
    if state.problem is not None:
        return _unverifiable(state.problem, locator.count)
    spec, canon, hasher = state.spec, state.canon, state.hasher
    assert spec is not None
    assert canon is not None
    assert hasher is not None
    if state.deferred.error is not None:
        return _conclude(spec, None, anchors, locator.count, state.deferred.error.message)
    if state.deferred.overflow:
        try:
            digest = _stream_digest(
                packet.open(),
                found.ordinal,
                spec.exclusive,
                spec.prefixes,
                DIGEST_METHODS[spec.digest_algorithm],
                limits,
            )
        except CanonicalizationError as exc:
            return _conclude(spec, None, anchors, locator.count, exc.message)
    else:
        canon.close()
        digest = hasher.digest()
    return _conclude(spec, digest, anchors, locator.count)


def _unverifiable(problem: _UnverifiableError, count: int) -> SignatureOutcome:
    return SignatureOutcome.model_validate(
        {
            **problem.facts,
            "status": "unverifiable",
            "reason": problem.reason,
            "signature_count": count,
        }
    )


def _conclude(
    spec: _Spec,
    digest: bytes | None,
    anchors: _TrustSet,
    count: int,
    c14n_problem: str | None = None,
) -> SignatureOutcome:
    facts: dict[str, object] = {
        "layout": spec.layout,
        "signature_algorithm": spec.signature_algorithm,
        "digest_algorithm": spec.digest_algorithm,
        "c14n_algorithm": spec.c14n_algorithm,
        "transforms": spec.transforms,
        "signer": spec.subject_name,
        "signature_count": count,
    }
    digest_ok = None if digest is None else hmac.compare_digest(digest, spec.digest_value)
    facts["digest_matches"] = digest_ok

    def outcome(status: Status, reason: str | None = None, **more: object) -> SignatureOutcome:
        return SignatureOutcome.model_validate(
            {**facts, **more, "status": status, "reason": reason}
        )

    certs, cert_problem = _embedded(spec.certificates)
    if not certs:
        if cert_problem:
            why = f"the embedded certificate is truncated or malformed ({cert_problem})"
        else:
            why = "no X509Certificate in KeyInfo: no certificate to verify with"
        if digest_ok is False:
            why += "; the reference digest does not match either"
        if anchors:
            return outcome("unverifiable", why, trusted=False, trust_reason=why)
        return outcome("unverifiable", why)
    leaf = _leaf(certs)
    facts.update(signer=_subject(leaf), certificate_sha256=_fingerprint(leaf))
    trusted: bool | None = None
    trust_reason = None
    if anchors:
        now = datetime.now(UTC)
        trusted, trust_reason = _trust(leaf, certs, anchors, now)
    facts.update(trusted=trusted, trust_reason=trust_reason)
    if c14n_problem is not None:
        return outcome("unverifiable", f"cannot canonicalize the packet: {c14n_problem}")
    if not digest_ok:
        return outcome("invalid", "reference digest mismatch: the signed content has been changed")
    try:
        signed_info = _signed_info_bytes(spec)
    except CanonicalizationError as exc:
        return outcome("unverifiable", f"cannot canonicalize SignedInfo: {exc.message}")
    problem = _check_value(spec, leaf, signed_info)
    if problem is None:
        return outcome("valid")
    return outcome(*problem)


# -- keys and certificates --------------------------------------------------------------


def _load_key(key: PrivateKey | bytes | str, password: bytes | None = None) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    data = key.encode() if isinstance(key, str) else key
    try:
        loaded = (
            serialization.load_pem_private_key(data, password)
            if b"-----BEGIN" in data
            else serialization.load_der_private_key(data, password)
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"cannot read the private key: {exc}") from exc
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(f"unsupported private key type {type(loaded).__name__}")
    return loaded


def _read_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _load_cert(cert: x509.Certificate | bytes | str) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    try:
        return _read_certificates(cert.encode() if isinstance(cert, str) else cert)[0]
    except ValueError as exc:
        raise SigningError(f"cannot read the certificate: {exc}") from exc


def load_key_and_cert(
    key_path: str | Path, cert_path: str | Path, password: bytes | None = None
) -> tuple[PrivateKey, x509.Certificate]:
    """Read a private key (PEM or DER) and its certificate (PEM or DER) from files."""
    try:
        key_data = Path(key_path).read_bytes()
        cert_data = Path(cert_path).read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read key or certificate file: {exc}") from exc
    return _load_key(key_data, password), _load_cert(cert_data)


def load_certificates(paths: Iterable[x509.Certificate | str | Path]) -> list[x509.Certificate]:
    """Read certificates (trust anchors): objects as given, files as PEM (several) or DER."""
    return _load_files(paths, x509.Certificate, _read_certificates, "certificate")


def load_crls(
    items: Iterable[x509.CertificateRevocationList | str | Path],
) -> list[x509.CertificateRevocationList]:
    """Read certificate revocation lists: objects as given, files as PEM (several) or DER.

    Raises:
        EdxmlError: a file cannot be read or holds no revocation list (``signature.crl``).
    """
    return _load_files(items, x509.CertificateRevocationList, _read_crls, "revocation list")


def _read_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    if b"-----BEGIN X509 CRL-----" not in data:
        return [x509.load_der_x509_crl(data)]
    blocks = re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", data, re.DOTALL)
    return [x509.load_pem_x509_crl(block) for block in blocks]


_Loaded = TypeVar("_Loaded")


def _load_files(
    items: Iterable[_Loaded | str | Path],
    kind: type[_Loaded],
    read: Callable[[bytes], list[_Loaded]],
    what: str,
) -> list[_Loaded]:
    """Objects of ``kind`` as given, the others read from files by ``read``.

    Raises:
        EdxmlError: a file cannot be read (``signature.certificate`` / ``signature.crl``).
    """
    code = "signature.crl" if kind is x509.CertificateRevocationList else "signature.certificate"
    loaded: list[_Loaded] = []
    for item in items:
        if isinstance(item, kind):
            loaded.append(item)
            continue
        try:
            loaded.extend(read(Path(str(item)).read_bytes()))
        except (OSError, ValueError) as exc:
            raise EdxmlError(f"cannot read {what} {str(item)!r}: {exc}", code=code) from exc
    return loaded


# -- signing ----------------------------------------------------------------------------

_TAG = re.compile(rb"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


@dataclass
class _Layout:
    """Where things are in a packet to be signed (document-order element indexes)."""

    signatures: list[int] = field(default_factory=list)
    header: int | None = None
    trace: int | None = None
    message: int | None = None
    header_scope: dict[str, str] = field(default_factory=dict)
    top_level_pis: int = 0


class _Scanner:
    """Sink noting the existing signatures and the header's children."""

    def __init__(self) -> None:
        self.layout = _Layout()
        self._count = 0
        self._path: list[int] = []
        self._scopes: list[dict[str, str]] = [{}]
        self._inside_signature = 0

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        ordinal = self._count
        self._count += 1
        layout = self.layout
        scope = {**self._scopes[-1], **dict(nsdecls)} if nsdecls else self._scopes[-1]
        self._scopes.append(scope)
        if self._inside_signature:
            self._inside_signature += 1
        elif _is_signature(name):
            layout.signatures.append(ordinal)
            self._inside_signature = 1
        elif name.uri == EDXML_NS:
            if name.local == "edXMLHeader" and layout.header is None:
                layout.header = ordinal
                layout.header_scope = scope
            elif self._path and self._path[-1] == layout.header:
                if name.local == "TraceHeaderList" and layout.trace is None:
                    layout.trace = ordinal
                elif name.local == "MessageHeader" and layout.message is None:
                    layout.message = ordinal
        self._path.append(ordinal)

    def end(self, name: QName) -> None:
        self._path.pop()
        self._scopes.pop()
        if self._inside_signature:
            self._inside_signature -= 1

    def data(self, text: str) -> None:
        return

    def pi(self, target: str, data: str) -> None:
        if not self._path:
            self.layout.top_level_pis += 1


class _OffsetsFoundError(Exception):
    """Stops the offsets pass once every wanted element has been seen."""


def _offsets(body: bytes, wanted: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Byte spans (start of the start tag, end of the end tag) of the wanted elements."""
    wanted = set(wanted)
    spans: dict[int, tuple[int, int]] = {}
    starts: list[tuple[int, int]] = []
    count = 0
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def start(_name: str, _attrs: object) -> None:
        nonlocal count
        starts.append((count, parser.CurrentByteIndex))
        count += 1

    def end(_name: str) -> None:
        ordinal, begin = starts.pop()
        if ordinal not in wanted:
            return
        tag = _TAG.match(body, begin)
        assert tag is not None
        if tag.group().endswith(b"/>"):
            finish = tag.end()
        else:
            finish = body.index(b">", parser.CurrentByteIndex) + 1
        spans[ordinal] = (begin, finish)
        if len(spans) == len(wanted):
            raise _OffsetsFoundError

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    view = memoryview(body)
    try:
        for offset in range(0, len(body), 1 << 16):
            parser.Parse(bytes(view[offset : offset + (1 << 16)]), False)
        parser.Parse(b"", True)
    except _OffsetsFoundError:
        pass
    return spans


def _indent_before(body: bytes, start: int) -> bytes:
    lt = body.rfind(b">", 0, start) + 1
    gap = body[lt:start]
    return gap if gap and not gap.strip() else b""


def _without(body: bytes, spans: Iterable[tuple[int, int]]) -> bytes:
    parts: list[bytes] = []
    position = 0
    for begin, finish in sorted(spans):
        cut = begin - len(_indent_before(body, begin))
        parts.append(body[position:cut])
        position = finish
    parts.append(body[position:])
    return b"".join(parts)


def _default_algorithm(key: PrivateKey) -> Algorithm:
    return "ecdsa-sha256" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-sha256"


def _method_uri(algorithm: str) -> str:
    kind, hash_name = algorithm.split("-")
    return (DSIG_NS if algorithm == "rsa-sha1" else _MORE) + f"{kind}-{hash_name}"


def sign(
    packet_bytes: bytes,
    key: PrivateKey | bytes | str,
    cert: x509.Certificate | bytes | str,
    *,
    legacy: bool = False,
    chain: Iterable[x509.Certificate | bytes | str] = (),
    algorithm: Algorithm | None = None,
    c14n: Literal["exclusive", "inclusive"] = "exclusive",
    replace: bool = False,
    password: bytes | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """Return the packet with an enveloped signature after ``TraceHeaderList``.

    ``algorithm`` defaults to rsa-sha256 (ecdsa-sha256 for an EC key), in both layouts;
    rsa-sha1 is accepted only with ``legacy=True``. The digest uses the same hash.
    ``c14n`` applies to SignedInfo and to the Reference. A packet that already carries a
    signature is refused unless ``replace=True``, which removes the old signature(s).
    The result is verified before it is returned.
    """
    private_key = _load_key(key, password)
    certificate = _load_cert(cert)
    extra = [_load_cert(c) for c in chain]
    algorithm = algorithm or _default_algorithm(private_key)
    if algorithm not in get_args(Algorithm):
        raise SigningError(f"unknown signature algorithm {algorithm!r}")
    kind = algorithm.split("-")[0]
    if (kind == "rsa") != isinstance(private_key, rsa.RSAPrivateKey):
        raise SigningError(f"{algorithm} needs a {kind.upper()} key")
    if algorithm == "rsa-sha1" and not legacy:
        raise SigningError("rsa-sha1 is only produced in the legacy layout")
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or (
        public.public_numbers() != private_key.public_key().public_numbers()
    ):
        raise SigningError("the certificate does not belong to the private key")

    body = _strip_leading(packet_bytes if isinstance(packet_bytes, bytes) else bytes(packet_bytes))
    if body[:2] in {b"\xff\xfe", b"\xfe\xff"} or b"\x00" in body[:4]:
        raise SigningError("only packets in an ASCII-compatible encoding (UTF-8) can be signed")
    scanner = _Scanner()
    stream(body, [scanner], limits)
    layout = scanner.layout
    if layout.signatures:
        if not replace:
            raise SigningError(
                "the packet already carries a signature; pass replace=True to replace it",
                code="signature.already-signed",
            )
        spans = _offsets(body, layout.signatures)
        body = _without(body, spans.values())
        scanner = _Scanner()
        stream(body, [scanner], limits)
        layout = scanner.layout
    if layout.header is None:
        raise SigningError("not an edXML packet: there is no edXMLHeader")
    anchor = layout.trace if layout.trace is not None else layout.message
    if anchor is None:
        raise SigningError("edXMLHeader has neither TraceHeaderList nor MessageHeader")
    begin, offset = _offsets(body, [anchor])[anchor]
    indent = _indent_before(body, begin)
    exclusive = c14n == "exclusive"
    if legacy:
        signed = _sign_legacy(
            body,
            offset,
            indent,
            layout,
            private_key,
            certificate,
            extra,
            algorithm,
            exclusive,
            limits,
        )
    else:
        if layout.top_level_pis:
            raise SigningError(
                "processing instructions outside the root cannot be signed in the standard "
                "layout (signxml leaves them out of the digest)"
            )
        signed = _sign_standard(
            body, anchor, offset, indent, private_key, certificate, extra, algorithm, exclusive
        )
    outcome = verify(signed, limits=limits)
    if outcome.status != "valid":
        raise SigningError(f"the signed packet does not verify: {outcome.reason}")
    return signed


def _sign_standard(
    body: bytes,
    anchor: int,
    offset: int,
    indent: bytes,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    algorithm: str,
    exclusive: bool,
) -> bytes:
    from signxml.exceptions import InvalidInput
    from signxml.signer import XMLSigner

    try:
        root = etree.fromstring(body, _safe_parser(True))
    except etree.LxmlError as exc:
        raise SigningError(f"lxml cannot read the packet: {exc}") from exc
    element = next(islice(root.iter("*"), anchor, None))
    placeholder = etree.Element(etree.QName(DSIG_NS, "Signature"), nsmap={"ds": DSIG_NS})
    placeholder.set("Id", "placeholder")
    element.addnext(placeholder)
    placeholder.tail = element.tail
    element.tail = indent.decode("ascii").replace("\r\n", "\n").replace("\r", "\n")
    digest = _DIGEST_URIS[algorithm.split("-")[1]]
    signer = XMLSigner(
        signature_algorithm=_method_uri(algorithm),
        digest_algorithm=digest,
        c14n_algorithm=EXC_C14N if exclusive else C14N_10,
    )
    signer._parser = _safe_parser(True)  # type: ignore[assignment]  # attachments are huge
    try:
        signed = signer.sign(root, key=key, cert=[cert, *chain])
    except (InvalidInput, ValueError, TypeError, etree.LxmlError) as exc:
        raise SigningError(f"signxml could not sign the packet: {exc}") from exc
    made = next(signed.iter(etree.QName(DSIG_NS, "Signature").text), None)
    if made is None:
        raise SigningError("signxml did not produce a Signature element")
    standalone = copy.deepcopy(made)
    etree.cleanup_namespaces(standalone)
    signature = etree.tostring(standalone, with_tail=False)
    return _splice(body, offset, indent + signature)


def _splice(body: bytes, offset: int, insert: bytes) -> bytes:
    view = memoryview(body)
    return b"".join((view[:offset], insert, view[offset:]))


def _escape(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _legacy_snippet(
    indent: str,
    newline: str,
    declare: bool,
    method: str,
    digest_method: str,
    c14n_uri: str,
    digest_value: str,
    signature_value: str,
    certs: Sequence[x509.Certificate],
) -> bytes:
    step = "  "
    i1, i2, i3, i4 = (newline + indent + step * n for n in (1, 2, 3, 4))
    xmlns = f' xmlns="{EDXML_NS}"' if declare else ""
    subject = _escape(certs[0].subject.rfc4514_string())
    cert_lines = "".join(
        f"{i3}<X509Certificate>"
        f"{base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}"
        f"</X509Certificate>"
        for c in certs
    )
    text = (
        f"<Signature{xmlns}>"
        f"{i1}<SignedInfo>"
        f'{i2}<CanonicalizationMethod Algorithm="{c14n_uri}"/>'
        f'{i2}<SignatureMethod Algorithm="{method}"/>'
        f'{i2}<Reference URI="">'
        f"{i3}<Transforms>"
        f'{i4}<Transform Algorithm="{ENVELOPED}"/>'
        f'{i4}<Transform Algorithm="{c14n_uri}"/>'
        f"{i3}</Transforms>"
        f'{i3}<DigestMethod Algorithm="{digest_method}"/>'
        f"{i3}<DigestValue>{digest_value}</DigestValue>"
        f"{i2}</Reference>"
        f"{i1}</SignedInfo>"
        f"{i1}<SignatureValue>{signature_value}</SignatureValue>"
        f"{i1}<KeyInfo>"
        f"{i2}<X509Data>"
        f"{i3}<X509SubjectName>{subject}</X509SubjectName>"
        f"{cert_lines}"
        f"{i2}</X509Data>"
        f"{i1}</KeyInfo>"
        f"{newline}{indent}</Signature>"
    )
    return text.encode("ascii")


class _Parts(io.RawIOBase):
    """A readable stream over several byte strings, without joining them."""

    def __init__(self, *parts: bytes | memoryview) -> None:
        super().__init__()
        self._parts = [memoryview(p) for p in parts if p]
        self._index = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if self._position < len(part):
                size = min(len(buffer), len(part) - self._position)
                buffer[:size] = part[self._position : self._position + size]
                self._position += size
                return size
            self._index += 1
            self._position = 0
        return 0


def _sign_legacy(
    body: bytes,
    offset: int,
    indent: bytes,
    layout: _Layout,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    algorithm: str,
    exclusive: bool,
    limits: Limits,
) -> bytes:
    newline = "\r\n" if indent.startswith(b"\r\n") else "\n"
    margin = indent.decode("ascii").lstrip("\r\n")
    hash_name = algorithm.split("-")[1]
    c14n_uri = EXC_C14N if exclusive else C14N_10

    def snippet(digest_value: str, signature_value: str) -> bytes:
        return _legacy_snippet(
            margin,
            newline,
            layout.header_scope.get("") != EDXML_NS,
            _method_uri(algorithm),
            _DIGEST_URIS[hash_name],
            c14n_uri,
            digest_value,
            signature_value,
            [cert, *chain],
        )

    draft = snippet("AA==", "AA==")
    view = memoryview(body)
    reader = io.BufferedReader(_Parts(view[:offset], indent, draft, view[offset:]))
    locator = _Locator()
    deferred = _Deferred()
    hasher = hashlib.new(hash_name)
    spec_holder: list[_Spec] = []

    def on_found(found: _Found) -> None:
        spec = _parse(found)
        spec_holder.append(spec)
        deferred.attach(_canonicalizer(spec, found.ordinal, hasher.update))

    locator.on_found = on_found
    try:
        stream(reader, [locator, deferred], limits)
    except (_UnverifiableError, CanonicalizationError) as exc:
        raise SigningError(f"cannot canonicalize the packet: {exc}") from exc
    if deferred.error is not None:
        raise SigningError(f"cannot canonicalize the packet: {deferred.error.message}")
    if deferred.overflow or not spec_holder or deferred.target is None:
        raise SigningError("the signature template was not found where it was inserted")
    deferred.target.close()
    digest_value = base64.b64encode(hasher.digest()).decode()

    final = snippet(digest_value, "AA==")
    wrapper = _wrap(final, spec_holder[0].signed_info_context)
    wrapped = _Locator()
    stream(wrapper, [wrapped], limits)
    assert wrapped.found is not None
    try:
        spec = _parse(wrapped.found)
        spec.signed_info_context = spec_holder[0].signed_info_context
        signed_info = _signed_info_bytes(spec)
    except (_UnverifiableError, CanonicalizationError) as exc:
        raise SigningError(f"cannot canonicalize SignedInfo: {exc}") from exc
    value = _sign_bytes(key, algorithm, signed_info)
    final = snippet(digest_value, base64.b64encode(value).decode())
    return _splice(body, offset, indent + final)


def _wrap(snippet: bytes, context: Context) -> bytes:
    decls = "".join(
        f' xmlns:{p}="{escape_attribute(u)}"' if p else f' xmlns="{escape_attribute(u)}"'
        for p, u in context.namespaces.items()
        if p != "xml"
    )
    return f"<wrapper{decls}>".encode() + snippet + b"</wrapper>"


def _sign_bytes(key: PrivateKey, algorithm: str, data: bytes) -> bytes:
    hash_algorithm = _HASHES[algorithm.split("-")[1]]()
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hash_algorithm)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_algorithm)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"cannot sign: {exc}") from exc
