"""Every markup token a sender writes is bounded before expat sees it: one over its limit is
refused with a code naming its kind, the element it is in and its line, whichever read path
the packet takes, and however far past the limit it goes."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import pytest

from edxml.compose import FileToAttach
from edxml.errors import MalformedXmlError, PacketError, UnsafeXmlError
from edxml.limits import DEFAULT_LIMITS, Limits
from edxml.reader import parse
from edxml.tokens import TokenScanner
from edxml.xmlstream import CHUNK_SIZE
from tests.unit.packets import document, document_bytes, edit

BODY = "<edXML:edXMLBody>"
MANIFEST = '<edXML:edXMLManifest version="1.0">'
BODY_LINE = 48
"""The line of ``BODY`` (and the ``MANIFEST`` one line below it) in the test document."""

Build = Callable[[int], bytes]


def _before_body(markup: str) -> bytes:
    return edit(document_bytes(), BODY, markup + BODY)


def _attribute_value(size: int) -> bytes:
    return edit(document_bytes(), MANIFEST, MANIFEST[:-1] + f' note="{"v" * size}">')


def _attribute_name(size: int) -> bytes:
    return edit(document_bytes(), MANIFEST, MANIFEST[:-1] + f' {"n" * size}="1">')


def _element_name(size: int) -> bytes:
    return _before_body(f"<{'e' * size}/>")


def _whitespace_in_start_tag(size: int) -> bytes:
    return edit(document_bytes(), BODY, BODY[:-1] + " " * size + ">")


def _whitespace_in_end_tag(size: int) -> bytes:
    return _before_body(f"<x></x{' ' * size}>")


def _comment(size: int) -> bytes:
    return _before_body(f"<!--{'c' * size}-->")


def _processing_instruction(size: int) -> bytes:
    return _before_body(f"<?note {'p' * (size - 5)}?>")


def _pi_target(size: int) -> bytes:
    return _before_body(f"<?{'t' * size} x?>")


def _character_reference(size: int) -> bytes:
    """A reference whose name (between '&' and ';') is ``size`` bytes."""
    return edit(document_bytes(), "Về việc", "&#" + "0" * (size - 3) + "65;")


def _xml_declaration(size: int) -> bytes:
    """An XML declaration of ``size`` bytes between '<?' and '?>'."""
    declaration = 'xml version="1.0" encoding="UTF-8"'
    return edit(document_bytes(), declaration, declaration + " " * (size - len(declaration)))


def _tag(size: int) -> bytes:
    """The manifest's start tag made ``size`` bytes long by attributes of at most 40,000
    bytes each (within the value limit)."""
    room = size - len(MANIFEST)
    count = -(-room // 40_000)
    values = room - count * len(' a00=""')
    attributes = "".join(
        f' a{i:02d}="{"v" * (values // count + (values % count if i == 0 else 0))}"'
        for i in range(count)
    )
    return edit(document_bytes(), MANIFEST, MANIFEST[:-1] + attributes + ">")


# (token, how to build a packet with one of n bytes, its limit, code, element, line)
CASES: dict[str, tuple[Build, int, str, str, int]] = {
    "attribute value": (
        _attribute_value,
        DEFAULT_LIMITS.max_attribute_value,
        "xml.attribute-too-long",
        "edXMLManifest",
        BODY_LINE + 1,
    ),
    "attribute name": (
        _attribute_name,
        DEFAULT_LIMITS.max_name,
        "xml.name-too-long",
        "edXMLManifest",
        BODY_LINE + 1,
    ),
    "element name": (
        _element_name,
        DEFAULT_LIMITS.max_name,
        "xml.name-too-long",
        "edXMLEnvelope",
        BODY_LINE,
    ),
    "whitespace in a start tag": (
        _whitespace_in_start_tag,
        DEFAULT_LIMITS.max_tag_whitespace,
        "xml.whitespace-too-long",
        "edXMLBody",
        BODY_LINE,
    ),
    "whitespace in an end tag": (
        _whitespace_in_end_tag,
        DEFAULT_LIMITS.max_tag_whitespace,
        "xml.whitespace-too-long",
        "x",
        BODY_LINE,
    ),
    "comment": (
        _comment,
        DEFAULT_LIMITS.max_comment,
        "xml.comment-too-long",
        "edXMLEnvelope",
        BODY_LINE,
    ),
    "processing instruction": (
        _processing_instruction,
        DEFAULT_LIMITS.max_pi,
        "xml.pi-too-long",
        "edXMLEnvelope",
        BODY_LINE,
    ),
    "processing instruction target": (
        _pi_target,
        DEFAULT_LIMITS.max_name,
        "xml.name-too-long",
        "edXMLEnvelope",
        BODY_LINE,
    ),
    "character reference": (
        _character_reference,
        DEFAULT_LIMITS.max_name,
        "xml.name-too-long",
        "Subject",
        31,
    ),
    "XML declaration": (
        _xml_declaration,
        DEFAULT_LIMITS.max_pi,
        "xml.pi-too-long",
        "",
        1,
    ),
    "tag": (_tag, DEFAULT_LIMITS.max_tag, "xml.tag-too-long", "edXMLManifest", BODY_LINE + 1),
}

READ_PATHS: dict[str, Callable[[bytes], object]] = {
    "whole": lambda data: data,
    "streamed": io.BytesIO,
}


@pytest.mark.parametrize("path", list(READ_PATHS))
@pytest.mark.parametrize("token", list(CASES))
def test_a_token_just_over_its_limit_is_refused_naming_kind_element_and_line(
    token: str, path: str
) -> None:
    build, limit, code, element, line = CASES[token]
    with pytest.raises(UnsafeXmlError) as caught:
        parse(READ_PATHS[path](build(limit + 1)))  # type: ignore[arg-type]
    assert caught.value.code == code
    assert (caught.value.element or "") == element
    assert caught.value.line == line


@pytest.mark.parametrize("token", list(CASES))
def test_a_token_of_many_megabytes_is_refused_as_one_just_over(token: str) -> None:
    build, _, code, element, line = CASES[token]
    with pytest.raises(UnsafeXmlError) as caught:
        parse(io.BytesIO(build(6 * 1024 * 1024)))
    assert (caught.value.code, caught.value.element or "", caught.value.line) == (
        code,
        element,
        line,
    )


@pytest.mark.parametrize("path", list(READ_PATHS))
@pytest.mark.parametrize("token", [name for name in CASES if name != "tag"])
def test_a_token_at_its_limit_is_read(token: str, path: str) -> None:
    build, limit, *_ = CASES[token]
    limits = Limits(max_tag=limit + 1024)
    assert parse(READ_PATHS[path](build(limit)), limits=limits) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_a_tag_at_its_limit_is_read(path: str) -> None:
    data = _tag(DEFAULT_LIMITS.max_tag)
    assert parse(READ_PATHS[path](data)) is not None  # type: ignore[arg-type]


def test_a_token_cut_by_many_chunks_is_refused_on_its_own_line() -> None:
    text = "<edXML:Note>" + "chữ " * 60_000 + "</edXML:Note>\n\n"
    data = edit(document_bytes(), BODY, text + f'<x a="{"v" * 200_000}"/>' + BODY)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(io.BytesIO(data), limits=Limits(max_text=4 * 1024 * 1024))
    assert caught.value.code == "xml.attribute-too-long"
    assert caught.value.element == "x"
    assert caught.value.line == BODY_LINE + 2


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_comments_pis_and_cdata_beyond_their_count_are_refused(path: str) -> None:
    data = _before_body("<!--c--><?p q?><x><![CDATA[d]]></x>" * 4)
    with pytest.raises(UnsafeXmlError) as caught:
        # 12 of them, and the XML declaration
        parse(READ_PATHS[path](data), limits=Limits(max_other_nodes=12))  # type: ignore[arg-type]
    assert caught.value.code == "xml.too-many-nodes"
    assert caught.value.line == BODY_LINE


def test_comments_pis_and_cdata_up_to_their_count_are_read() -> None:
    data = _before_body("<!--c--><?p q?><x><![CDATA[d]]></x>" * 4)
    assert parse(data, limits=Limits(max_other_nodes=13)) is not None


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_attributes_beyond_the_packet_total_are_refused(path: str) -> None:
    data = _before_body('<x a="1" b="2" xmlns:q="urn:q"/>' * 10)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(READ_PATHS[path](data), limits=Limits(max_total_attributes=30))  # type: ignore[arg-type]
    assert caught.value.code == "xml.too-many-attributes"
    assert caught.value.element == "x"


def test_attributes_up_to_the_packet_total_are_read() -> None:
    data = _before_body('<x a="1" b="2" xmlns:q="urn:q"/>' * 10)
    assert parse(io.BytesIO(data), limits=Limits(max_total_attributes=40)) is not None


def test_a_large_attachment_is_read_whatever_the_token_limits() -> None:
    content = bytes(range(256)) * (24 * 1024)
    _, data = document((FileToAttach(content, name="lon.pdf"),))
    assert len(data) > 8 * 1024 * 1024
    packet = parse(io.BytesIO(data))
    assert packet.attachments[0].size == len(content)  # type: ignore[union-attr]


def test_base64_in_a_cdata_section_spanning_chunks_is_read() -> None:
    encoded = base64.b64encode(b"%PDF-1.7 " * 40_000).decode()
    data = document_bytes().decode()
    start = data.index(">", data.index("<edXML:ContentTransferEncoded")) + 1
    end = data.index("</edXML:ContentTransferEncoded>")
    text = data[:start] + "<![CDATA[" + encoded + "]]>" + data[end:]
    packet = parse(io.BytesIO(text.encode()))
    assert packet.attachments[0].size == 9 * 40_000  # type: ignore[union-attr]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_packets_are_read_and_their_tokens_bounded(codec: str) -> None:
    text = document_bytes().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert parse(io.BytesIO(text.encode(codec))) is not None
    long = text.replace(MANIFEST, MANIFEST[:-1] + f' note="{"ấ" * 70_000}">')
    with pytest.raises(UnsafeXmlError) as caught:
        parse(io.BytesIO(long.encode(codec)))
    assert (caught.value.code, caught.value.line) == ("xml.attribute-too-long", BODY_LINE + 1)


MALFORMED = {
    "a '<' inside a tag": "<<x/>",
    "an ampersand that starts no reference": "a & b",
    "attributes without whitespace between them": '<x a="1"b="2"/>',
}


@pytest.mark.parametrize("markup", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_markup_is_reported_by_expat_in_its_own_words(markup: str) -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(io.BytesIO(_before_body(markup)))
    assert caught.value.code == "xml.malformed"
    assert "not well-formed (invalid token)" in caught.value.message
    assert caught.value.line == BODY_LINE


def test_a_markup_declaration_inside_the_root_is_malformed() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(io.BytesIO(_before_body("<!ELEMENT x ANY>")))
    assert caught.value.code == "xml.malformed"
    assert caught.value.line == BODY_LINE


def test_a_doctype_with_an_endless_name_is_refused_as_a_doctype() -> None:
    data = b"<!DOCTYPE " + b"x" * (3 * CHUNK_SIZE) + b">" + document_bytes()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(io.BytesIO(data))
    assert caught.value.code == "xml.dtd-forbidden"


SMALL = Limits(max_comment=300, max_name=40, max_attribute_value=60, max_tag=200)


def _scan_in_chunks(data: bytes, size: int, limits: Limits = SMALL) -> list[object]:
    scanner = TokenScanner(limits)
    stops = []
    for start in range(0, len(data), size):
        stop = scanner.scan(data[start : start + size])
        if stop is not None:
            stops.append((stop.offset, stop.error.code))
            break
    return stops


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096, CHUNK_SIZE])
@pytest.mark.parametrize(
    ("markup", "code"),
    [
        ("<!--" + "c" * 301 + "-->", "xml.comment-too-long"),
        ('<x a="' + "v" * 61 + '"/>', "xml.attribute-too-long"),
        ("<" + "e" * 41 + "/>", "xml.name-too-long"),
        ("&" + "r" * 41 + ";", "xml.name-too-long"),
        ("<x" + ' a="1"' * 40 + "/>", "xml.tag-too-long"),
    ],
)
def test_the_scanner_finds_the_same_token_whatever_the_chunk_size(
    size: int, markup: str, code: str
) -> None:
    data = _before_body(markup)
    at = data.index(markup.encode())
    assert _scan_in_chunks(data, size) == [(at, code)]


@pytest.mark.parametrize("size", [1, 5, 64])
def test_the_scanner_passes_an_ordinary_packet_whatever_the_chunk_size(size: int) -> None:
    data = _before_body('<!--c--><?p q?><x a="&amp;&#65;"><![CDATA[<]]>]]&gt;</x>')
    assert _scan_in_chunks(data, size, DEFAULT_LIMITS) == []


def test_every_token_error_is_a_packet_error() -> None:
    for build, limit, *_ in CASES.values():
        with pytest.raises(PacketError):
            parse(build(limit + 1))
