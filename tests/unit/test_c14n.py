"""The streaming canonicaliser: C14N 1.0 rules one by one, then equality with lxml's C14N."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from edxml.c14n import (
    XML_NS,
    CanonicalizationError,
    Context,
    Event,
    Recorder,
    canonicalize,
    canonicalize_events,
)
from edxml.signature import reference_digest
from edxml.xmlstream import QName, stream


def lxml_c14n(doc: bytes, *, exclusive: bool = False, prefixes: Sequence[str] = ()) -> bytes:
    tree = etree.fromstring(doc).getroottree()
    return etree.tostring(
        tree,
        method="c14n",
        exclusive=exclusive,
        with_comments=False,
        inclusive_ns_prefixes=list(prefixes) or None,
    )


class SubtreeRecorder:
    """Records the events of element number ``ordinal`` and the namespaces it inherits."""

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal
        self.count = 0
        self.scopes: list[dict[str, str]] = [{}]
        self.xml: list[dict[str, str]] = [{}]
        self.inside = 0
        self.recorder = Recorder()
        self.context = Context()

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        if self.count == self.ordinal:
            self.context = Context(dict(self.scopes[-1]), dict(self.xml[-1]))
            self.inside = 1
        elif self.inside:
            self.inside += 1
        self.count += 1
        if self.inside:
            self.recorder.start(name, attrs, nsdecls)
        self.scopes.append({**self.scopes[-1], **dict(nsdecls)})
        self.xml.append({**self.xml[-1], **{a.local: v for a, v in attrs if a.uri == XML_NS}})

    def end(self, name: QName) -> None:
        if self.inside:
            self.recorder.end(name)
            self.inside -= 1
        self.scopes.pop()
        self.xml.pop()

    def data(self, text: str) -> None:
        if self.inside:
            self.recorder.data(text)

    def pi(self, target: str, data: str) -> None:
        if self.inside:
            self.recorder.pi(target, data)


def subtree(doc: bytes, ordinal: int) -> tuple[list[Event], Context]:
    sink = SubtreeRecorder(ordinal)
    stream(doc, [sink])
    return sink.recorder.events, sink.context


# -- the rules ---------------------------------------------------------------------------


def test_text_escapes_ampersand_less_than_greater_than_and_carriage_return() -> None:
    doc = b"<r>a &amp; b &lt; c &gt; d&#13;e \" ' \t</r>"
    assert canonicalize(doc) == b"<r>a &amp; b &lt; c &gt; d&#xD;e \" ' \t</r>"


def test_attribute_escapes_quote_tab_newline_and_carriage_return() -> None:
    doc = b'<r a="&amp;&lt;&gt;&quot;\'&#9;&#10;&#13;"/>'
    assert canonicalize(doc) == b'<r a="&amp;&lt;>&quot;\'&#x9;&#xA;&#xD;"></r>'


def test_attribute_whitespace_is_normalised_by_the_parser_before_canonicalisation() -> None:
    assert canonicalize(b'<r a="x\ny\tz"/>') == b'<r a="x y z"></r>'


def test_empty_element_becomes_start_end_pair() -> None:
    assert canonicalize(b"<r><e/><f  /></r>") == b"<r><e></e><f></f></r>"


def test_xml_declaration_comments_and_whitespace_outside_root_are_dropped() -> None:
    doc = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- c -->\n<r><!-- in --></r>\n\n'
    assert canonicalize(doc) == b"<r></r>"


def test_processing_instructions_are_kept_on_their_own_lines_outside_root() -> None:
    doc = b"<?before one?>\n<r><?inside  two ?><?empty?></r>\n<?after?>"
    expected = b"<?before one?>\n<r><?inside two ?><?empty?></r>\n<?after?>"
    assert canonicalize(doc) == expected


def test_cdata_becomes_escaped_text() -> None:
    assert canonicalize(b"<r><![CDATA[<a> & ]]></r>") == b"<r>&lt;a&gt; &amp; </r>"


def test_namespace_declarations_come_sorted_before_sorted_attributes() -> None:
    doc = b'<r z="1" xmlns:b="urn:b" b:y="2" xmlns="urn:d" a="3" xmlns:a="urn:a" a:y="4"/>'
    expected = b'<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" a="3" z="1" a:y="4" b:y="2"></r>'
    assert canonicalize(doc) == expected


def test_inclusive_drops_a_redeclaration_with_the_same_uri() -> None:
    doc = b'<r xmlns:a="urn:a"><a:x xmlns:a="urn:a"/><y xmlns:a="urn:other"/></r>'
    expected = b'<r xmlns:a="urn:a"><a:x></a:x><y xmlns:a="urn:other"></y></r>'
    assert canonicalize(doc) == expected


def test_inclusive_keeps_unused_namespace_declarations() -> None:
    assert canonicalize(b'<r xmlns:u="urn:u"><x/></r>') == b'<r xmlns:u="urn:u"><x></x></r>'


def test_default_namespace_undeclaration_is_rendered_only_under_a_default() -> None:
    assert canonicalize(b'<r xmlns=""><x xmlns=""/></r>') == b"<r><x></x></r>"
    doc = b'<r xmlns="urn:d"><x xmlns=""><y xmlns=""/></x></r>'
    assert canonicalize(doc) == b'<r xmlns="urn:d"><x xmlns=""><y></y></x></r>'


def test_exclusive_renders_only_visibly_used_prefixes() -> None:
    doc = b'<r xmlns="urn:d" xmlns:a="urn:a" xmlns:u="urn:u"><x a:k="1"><a:y/></x></r>'
    expected = b'<r xmlns="urn:d"><x xmlns:a="urn:a" a:k="1"><a:y></a:y></x></r>'
    assert canonicalize(doc, exclusive=True) == expected


def test_exclusive_renders_listed_prefixes_like_inclusive() -> None:
    doc = b'<r xmlns:u="urn:u" xmlns:v="urn:v"><x/></r>'
    expected = b'<r xmlns:u="urn:u"><x></x></r>'
    assert canonicalize(doc, exclusive=True, inclusive_prefixes=["u"]) == expected
    assert expected == lxml_c14n(doc, exclusive=True, prefixes=["u"])


def test_exclusive_renders_the_default_namespace_when_listed_as_hash_default() -> None:
    doc = b'<a:r xmlns="urn:d" xmlns:a="urn:a"><x/></a:r>'
    expected = b'<a:r xmlns="urn:d" xmlns:a="urn:a"><x></x></a:r>'
    assert canonicalize(doc, exclusive=True, inclusive_prefixes=["#default"]) == expected


def test_digest_with_hash_default_listed_uses_the_streaming_canonicaliser() -> None:
    doc = b'<a:r xmlns="urn:d" xmlns:a="urn:a"><x/><s/></a:r>'
    with pytest.raises(CanonicalizationError):
        reference_digest(doc, 2, exclusive=True, inclusive_prefixes=["#default"], method="lxml")
    auto = reference_digest(doc, 2, exclusive=True, inclusive_prefixes=["#default"])
    streamed = reference_digest(
        doc, 2, exclusive=True, inclusive_prefixes=["#default"], method="stream"
    )
    assert auto == streamed


def test_namespace_uri_is_escaped_like_an_attribute_value() -> None:
    doc = b'<r xmlns:q="http://example.com/?a=1&amp;b=&quot;2&quot;"/>'
    assert canonicalize(doc) == b'<r xmlns:q="http://example.com/?a=1&amp;b=&quot;2&quot;"></r>'


def test_digest_of_namespace_uri_needing_escapes_uses_the_streaming_canonicaliser() -> None:
    doc = b'<r xmlns:q="http://example.com/?a=1&amp;b"><s/></r>'
    with pytest.raises(CanonicalizationError):
        reference_digest(doc, 1, method="lxml")
    assert reference_digest(doc, 1) == reference_digest(doc, 1, method="stream")


def test_exclusive_default_namespace_undeclaration_follows_output_ancestors() -> None:
    doc = b'<r xmlns="urn:d"><p:x xmlns:p="urn:p"><y xmlns=""/></p:x></r>'
    expected = b'<r xmlns="urn:d"><p:x xmlns:p="urn:p"><y xmlns=""></y></p:x></r>'
    assert canonicalize(doc, exclusive=True) == expected


def test_omitted_element_leaves_its_following_text() -> None:
    doc = b"<r>a<sig><x>gone</x></sig>b<c/></r>"
    assert canonicalize(doc, omit=[1]) == b"<r>ab<c></c></r>"


def test_relative_namespace_uri_has_no_canonical_form() -> None:
    with pytest.raises(CanonicalizationError, match="relative namespace URI"):
        canonicalize(b'<r xmlns:a="relative/path"><a:x/></r>')


def test_subset_apex_renders_inherited_namespaces_inclusively() -> None:
    doc = (
        b'<edXML xmlns="urn:e"><edXML:env xmlns:edXML="urn:e"><h>'
        b'<Signature><SignedInfo><M A="1"/></SignedInfo></Signature></h></edXML:env></edXML>'
    )
    events, context = subtree(doc, 4)
    expected = b'<SignedInfo xmlns="urn:e" xmlns:edXML="urn:e"><M A="1"></M></SignedInfo>'
    assert canonicalize_events(events, context=context) == expected


def test_subset_apex_renders_only_used_namespaces_exclusively() -> None:
    doc = b'<r xmlns="urn:e" xmlns:u="urn:u"><ds:S xmlns:ds="urn:ds"><ds:I/></ds:S></r>'
    events, context = subtree(doc, 2)
    expected = b'<ds:I xmlns:ds="urn:ds"></ds:I>'
    assert canonicalize_events(events, exclusive=True, context=context) == expected


def test_subset_apex_inherits_xml_attributes_in_inclusive_mode_only() -> None:
    doc = b'<r xml:lang="vi"><s xml:space="preserve"><i xml:lang="en"/><j/></s></r>'
    events, context = subtree(doc, 3)
    inclusive = canonicalize_events(events, context=context)
    assert inclusive == b'<j xml:lang="vi" xml:space="preserve"></j>'
    own, own_context = subtree(doc, 2)
    assert canonicalize_events(own, context=own_context) == (
        b'<i xml:lang="en" xml:space="preserve"></i>'
    )
    assert canonicalize_events(events, exclusive=True, context=context) == b"<j></j>"


class WithoutPi:
    def __init__(self) -> None:
        self.starts = 0

    def start(
        self,
        name: QName,
        attrs: Sequence[tuple[QName, str]],
        nsdecls: Sequence[tuple[str, str]],
        line: int,
    ) -> None:
        self.starts += 1

    def end(self, name: QName) -> None:
        return

    def data(self, text: str) -> None:
        return


def test_stream_sends_processing_instructions_only_to_sinks_that_want_them() -> None:
    plain, recorder = WithoutPi(), Recorder()
    stream(b"<?a b?><r><?c?></r>", [plain, recorder])
    assert plain.starts == 1
    assert [e for e in recorder.events if e[0] == "pi"] == [("pi", "a", "b"), ("pi", "c", "")]


def test_vietnamese_text_is_written_as_utf8() -> None:
    doc = "<r a='Hà Nội'>Công văn số 7816/VPCP-TTĐT</r>".encode()
    assert canonicalize(doc) == '<r a="Hà Nội">Công văn số 7816/VPCP-TTĐT</r>'.encode()


# -- generated documents compared with lxml ------------------------------------------------

URIS = ["urn:a", "urn:b", "http://www.mic.gov.vn/TBT/QCVN_102_2016", "http://example.com/x?q=1"]
PREFIXES = ["a", "b", "edXML", "ds", "p"]
LOCALS = ["r", "x", "y", "Signature", "đơn", "Văn_bản", "z.1"]
TEXT = st.text(
    alphabet=st.sampled_from([*"aZ09 &<>\"'\t\n\r]]>=;#ươềĐđÀ/", "\u00a0", "\U0001f600"]),
    max_size=12,
)


def escape_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def escape_attr(text: str, as_refs: bool) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    text = text.replace("\r", "&#13;")
    return text.replace("\t", "&#9;").replace("\n", "&#10;") if as_refs else text


@dataclass
class Elem:
    name: str
    decls: list[tuple[str, str]]
    attrs: list[tuple[str, str, bool]]
    children: list[Elem | str] = field(default_factory=list)

    def xml(self) -> str:
        decls = "".join(
            f' xmlns{":" + p if p else ""}="{escape_attr(u, True)}"' for p, u in self.decls
        )
        attrs = "".join(f' {n}="{escape_attr(v, refs)}"' for n, v, refs in self.attrs)
        inner = "".join(c if isinstance(c, str) else c.xml() for c in self.children)
        if not inner:
            return f"<{self.name}{decls}{attrs}/>"
        return f"<{self.name}{decls}{attrs}>{inner}</{self.name}>"


@st.composite
def elements(draw: st.DrawFn, scope: dict[str, str], depth: int, xml_attributes: bool) -> Elem:
    decls: list[tuple[str, str]] = []
    for prefix in draw(st.lists(st.sampled_from(["", *PREFIXES]), max_size=3, unique=True)):
        uri = draw(st.sampled_from(URIS + ([""] if prefix == "" else [])))
        decls.append((prefix, uri))
    inner = {**scope, **dict(decls)}
    prefixed = sorted(p for p, u in inner.items() if p and u)
    prefix = draw(st.sampled_from(["", *prefixed]))
    name = f"{prefix}:{draw(st.sampled_from(LOCALS))}" if prefix else draw(st.sampled_from(LOCALS))
    attrs: list[tuple[str, str, bool]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(0, 3))):
        local = draw(st.sampled_from(["id", "a", "b", "version", "Algorithm"]))
        attr_prefix = draw(st.sampled_from(["", *prefixed, *(["xml"] if xml_attributes else [])]))
        if attr_prefix == "xml":
            uri, local = XML_NS, draw(st.sampled_from(["lang", "space"]))
        else:
            uri = inner[attr_prefix] if attr_prefix else ""
        if (uri, local) in seen:
            continue
        seen.add((uri, local))
        qualified = f"{attr_prefix}:{local}" if attr_prefix else local
        attrs.append((qualified, draw(TEXT), draw(st.booleans())))
    elem = Elem(name, decls, attrs)
    if depth > 0:
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["elem", "elem", "text", "pi", "comment"]))
            if kind == "elem":
                elem.children.append(draw(elements(inner, depth - 1, xml_attributes)))
            elif kind == "text":
                elem.children.append(escape_text(draw(TEXT)))
            elif kind == "pi":
                elem.children.append(f"<?pi{draw(st.sampled_from(['', ' data', ' a?b']))}?>")
            else:
                elem.children.append("<!-- note -->")
    return elem


@st.composite
def documents(draw: st.DrawFn, xml_attributes: bool = True) -> bytes:
    root = draw(elements({}, 3, xml_attributes))
    before = draw(st.sampled_from(["", "<?xml version='1.0' encoding='UTF-8'?>\n"]))
    prolog = draw(st.sampled_from(["", "<?pre x?>\n", "<!-- c -->\n<?pre?>"]))
    epilog = draw(st.sampled_from(["", "\n", "\n<?post y?>\n<!-- c -->"]))
    return (before + prolog + root.xml() + epilog).encode("utf-8")


def count_elements(doc: bytes) -> int:
    return sum(1 for _ in etree.fromstring(doc).iter("*"))


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(documents())
def test_inclusive_c14n_equals_lxml_on_generated_documents(doc: bytes) -> None:
    assert canonicalize(doc) == lxml_c14n(doc)


@PROPERTY
@given(documents(), st.lists(st.sampled_from(PREFIXES), max_size=3))
def test_exclusive_c14n_equals_lxml_on_generated_documents(doc: bytes, prefixes: list[str]) -> None:
    assert canonicalize(doc, exclusive=True, inclusive_prefixes=prefixes) == lxml_c14n(
        doc, exclusive=True, prefixes=prefixes
    )


def standalone_c14n(element: etree._Element, exclusive: bool) -> bytes:
    """lxml's C14N of a subtree, re-serialised first with its in-scope declarations.

    lxml's own element C14N wrongly undeclares (xmlns="") an inherited default namespace
    on descendants three levels below the apex, so it cannot be the reference here.
    """
    text = etree.tostring(element, encoding="unicode", with_tail=False)
    standalone = etree.fromstring(text.encode()).getroottree()
    return etree.tostring(standalone, method="c14n", exclusive=exclusive, with_comments=False)


def test_lxml_element_c14n_mishandles_inherited_default_namespaces() -> None:
    doc = b'<r xmlns="urn:e"><h><S><SI><R><T/></R></SI></S></h></r>'
    signed_info = etree.fromstring(doc)[0][0][0]
    assert b'<T xmlns="">' in etree.tostring(signed_info, method="c14n")
    events, context = subtree(doc, 3)
    expected = b'<SI xmlns="urn:e"><R><T></T></R></SI>'
    assert canonicalize_events(events, context=context) == expected
    assert standalone_c14n(signed_info, exclusive=False) == expected


@PROPERTY
@given(documents(xml_attributes=False), st.booleans(), st.data())
def test_subset_apex_c14n_equals_lxml_c14n_of_the_subtree(
    doc: bytes, exclusive: bool, data: st.DataObject
) -> None:
    total = count_elements(doc)
    if total < 2:
        return
    ordinal = data.draw(st.integers(1, total - 1))
    events, context = subtree(doc, ordinal)
    element = next(e for i, e in enumerate(etree.fromstring(doc).iter("*")) if i == ordinal)
    expected = standalone_c14n(element, exclusive)
    assert canonicalize_events(events, exclusive=exclusive, context=context) == expected


@PROPERTY
@given(documents(), st.booleans(), st.data())
def test_lxml_fast_path_and_streaming_digest_agree_without_an_omitted_element(
    doc: bytes, exclusive: bool, data: st.DataObject
) -> None:
    total = count_elements(doc)
    if total < 2:
        return
    omit = data.draw(st.integers(1, total - 1))
    fast = reference_digest(doc, omit, exclusive=exclusive, method="lxml")
    streamed = reference_digest(doc, omit, exclusive=exclusive, method="stream")
    assert fast == streamed
