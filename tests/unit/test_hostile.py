"""Hostile packets are refused with a clear error code before they cost anything."""

from __future__ import annotations

import io

import pytest

from edxml.errors import MalformedXmlError, UnsafeXmlError
from edxml.reader import parse
from edxml.xmlstream import Limits
from tests.unit.packets import document_bytes, edit

ROOT = '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'


def test_external_entity_is_refused_as_dtd() -> None:
    data = (
        '<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f"{ROOT}&xxe;</edXML>"
    ).encode()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(data)
    assert caught.value.code == "xml.dtd-forbidden"


def test_billion_laughs_is_refused_without_expansion() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = f'<?xml version="1.0"?><!DOCTYPE edXML [{entities}]>{ROOT}&lol9;</edXML>'.encode()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(data)
    assert caught.value.code == "xml.dtd-forbidden"


def test_external_dtd_reference_is_refused() -> None:
    data = f'<!DOCTYPE edXML SYSTEM "http://example.invalid/x.dtd">{ROOT}</edXML>'.encode()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(data)
    assert caught.value.code == "xml.dtd-forbidden"


def test_undeclared_entity_reference_is_malformed() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(f"{ROOT}&secret;</edXML>".encode())
    assert caught.value.code == "xml.malformed"


def test_deep_nesting_is_refused() -> None:
    depth = 100_000
    data = (ROOT + "<a>" * depth + "</a>" * depth + "</edXML>").encode()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(data)
    assert caught.value.code == "xml.too-deep"
    assert caught.value.element == "a"


def test_gigantic_text_in_a_header_field_is_refused() -> None:
    huge = "A" * (64 * 1024 * 1024)
    data = edit(document_bytes(), "Về việc triển khai", huge)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(io.BytesIO(data))
    assert caught.value.code == "xml.text-too-long"
    assert caught.value.element == "Subject"


def test_packet_over_the_size_limit_is_refused() -> None:
    with pytest.raises(UnsafeXmlError) as caught:
        parse(document_bytes(), limits=Limits(max_bytes=1000))
    assert caught.value.code == "xml.too-large"


def test_too_many_elements_are_refused() -> None:
    data = (ROOT + "<a/>" * 1000 + "</edXML>").encode()
    with pytest.raises(UnsafeXmlError) as caught:
        parse(data, limits=Limits(max_elements=500))
    assert caught.value.code == "xml.too-many-elements"


def test_too_many_attributes_are_refused() -> None:
    attributes = " ".join(f'a{i}="x"' for i in range(100))
    with pytest.raises(UnsafeXmlError) as caught:
        parse(f"<edXML {attributes}/>".encode())
    assert caught.value.code == "xml.too-many-attributes"


def test_long_junk_before_the_xml_is_refused() -> None:
    with pytest.raises(MalformedXmlError):
        parse(b"x" * 500 + document_bytes())
