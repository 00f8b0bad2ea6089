"""Lenient where real packets vary, strict where routing depends on it."""

from __future__ import annotations

import pytest

from edxml.errors import InvalidPacketError, MalformedXmlError
from edxml.models import DocumentPacket, StatusPacket
from edxml.namespaces import EDXML_NS
from edxml.reader import examine, parse
from tests.unit.packets import document_bytes, edit, status_bytes


def _document(data: bytes) -> DocumentPacket:
    packet = parse(data)
    assert isinstance(packet, DocumentPacket)
    return packet


def _issue_codes(data: bytes) -> list[tuple[str, str | None]]:
    return [(issue.code, issue.element) for issue in examine(data).issues]


# -- lenient --------------------------------------------------------------------------------


def test_any_prefix_for_the_edxml_namespace_is_read() -> None:
    data = document_bytes().decode().replace("edXML:", "ns0:").replace("xmlns:edXML", "xmlns:ns0")
    packet = _document(data.encode())
    assert packet.recipients == ("000.00.12.H26", "000.00.00.H26")


def test_default_namespace_without_prefix_is_read() -> None:
    data = document_bytes().decode().replace("edXML:", "").replace(f' xmlns:edXML="{EDXML_NS}"', "")
    assert _document(data.encode()).sender == "000.05.12.H26"


def test_children_of_message_header_may_come_in_any_order() -> None:
    data = document_bytes()
    subject = "<edXML:Subject>Về việc triển khai chữ ký số chuyên dùng</edXML:Subject>"
    moved = edit(
        edit(data, subject, ""), "<edXML:MessageHeader>", "<edXML:MessageHeader>" + subject
    )
    assert _document(moved).header.subject == "Về việc triển khai chữ ký số chuyên dùng"


def test_missing_optional_elements_are_none() -> None:
    data = edit(document_bytes(), "<edXML:Place>Hà Nội</edXML:Place>", "")
    packet = _document(data)
    assert packet.header.promulgation_info is not None
    assert packet.header.promulgation_info.place is None


def test_empty_response_for_is_accepted_in_a_document() -> None:
    data = edit(document_bytes(), "</edXML:OtherInfo>", "</edXML:OtherInfo><edXML:ResponseFor/>")
    packet = _document(data)
    assert len(packet.header.response_for) == 1
    assert packet.header.response_for[0].document_id is None


def test_extra_attributes_are_accepted_and_kept_on_references() -> None:
    data = edit(
        document_bytes(),
        "<edXML:Reference>",
        '<edXML:Reference xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:1" '
        'xlink:type="simple">',
    )
    data = edit(data, "<edXML:TraceHeaderList>", '<edXML:TraceHeaderList mustUnderstand="1">')
    packet = _document(data)
    assert packet.manifest.references[0].attributes["{http://www.w3.org/1999/xlink}href"] == "cid:1"
    assert packet.trace is not None
    assert packet.trace.attributes == {"mustUnderstand": "1"}


def test_unknown_extension_elements_are_kept_and_reachable() -> None:
    data = edit(
        document_bytes(),
        "</edXML:MessageHeader>",
        "<edXML:ApplicationType>iOffice</edXML:ApplicationType>"
        '<x:ResponseForTask xmlns:x="urn:example">T-12</x:ResponseForTask></edXML:MessageHeader>',
    )
    header = _document(data).header
    application = header.extension("ApplicationType")
    task = header.extension("ResponseForTask")
    assert application is not None
    assert application.text == "iOffice"
    assert task is not None
    assert task.tag == "{urn:example}ResponseForTask"


def test_packet_without_business_block_is_a_new_document() -> None:
    data = document_bytes().decode()
    start = data.index("<edXML:Bussiness>")
    end = data.index("</edXML:Bussiness>") + len("</edXML:Bussiness>")
    packet = _document((data[:start] + data[end:]).encode())
    assert packet.trace is not None
    assert packet.trace.business is None
    assert packet.business_type == 0


def test_unparseable_optional_values_are_kept_as_text() -> None:
    data = edit(
        document_bytes(),
        "<edXML:Priority>0</edXML:Priority>",
        "<edXML:Priority>khẩn</edXML:Priority>",
    )
    info = _document(data).header.other_info
    assert info is not None
    assert info.priority == "khẩn"
    assert info.priority_level is None


# -- strict ---------------------------------------------------------------------------------


def test_document_without_sender_code_is_refused_naming_the_element_and_line() -> None:
    data = edit(document_bytes(), "<edXML:OrganId>000.05.12.H26</edXML:OrganId>", "")
    with pytest.raises(InvalidPacketError) as caught:
        parse(data)
    assert caught.value.code == "packet.missing-element"
    assert caught.value.element == "From/OrganId"
    assert caught.value.line == 6


def test_document_without_recipient_is_refused() -> None:
    data = document_bytes().decode()
    for organ_id in ("000.00.12.H26", "000.00.00.H26"):
        start = data.index("<edXML:To>")
        end = data.index("</edXML:To>") + len("</edXML:To>")
        assert organ_id in data[start:end]
        data = data[:start] + data[end:]
    assert ("packet.missing-element", "To") in _issue_codes(data.encode())


def test_duplicate_recipient_is_refused_with_its_line() -> None:
    data = edit(
        document_bytes(),
        "<edXML:OrganId>000.00.00.H26</edXML:OrganId>",
        "<edXML:OrganId>000.00.12.H26</edXML:OrganId>",
    )
    with pytest.raises(InvalidPacketError) as caught:
        parse(data)
    assert caught.value.code == "packet.duplicate-recipient"
    assert "000.00.12.H26" in caught.value.message
    assert caught.value.line is not None
    assert caught.value.line > 8


def test_document_without_document_id_is_refused() -> None:
    data = document_bytes().decode()
    start = data.index("<edXML:DocumentId>")
    end = data.index("</edXML:DocumentId>") + len("</edXML:DocumentId>")
    codes = _issue_codes((data[:start] + data[end:]).encode())
    assert ("packet.missing-element", "DocumentId") in codes


def test_every_broken_rule_is_reported_not_only_the_first() -> None:
    data = edit(document_bytes(), "<edXML:OrganId>000.05.12.H26</edXML:OrganId>", "")
    data = edit(data, "<edXML:DocumentId>", "<edXML:Nothing>")
    data = edit(data, "</edXML:DocumentId>", "</edXML:Nothing>")
    codes = _issue_codes(data)
    assert ("packet.missing-element", "From/OrganId") in codes
    assert ("packet.missing-element", "DocumentId") in codes


def test_status_without_status_code_is_refused() -> None:
    data = status_bytes().decode()
    start = data.index("<edXML:StatusCode>")
    end = data.index("</edXML:StatusCode>") + len("</edXML:StatusCode>")
    assert ("packet.missing-element", "StatusCode") in _issue_codes(
        (data[:start] + data[end:]).encode()
    )


@pytest.mark.parametrize("code", ["3", "ABC", "003", ""])
def test_status_code_must_be_two_digits(code: str) -> None:
    data = edit(
        status_bytes(),
        "<edXML:StatusCode>03</edXML:StatusCode>",
        f"<edXML:StatusCode>{code}</edXML:StatusCode>",
    )
    assert ("packet.bad-status-code", "StatusCode") in _issue_codes(data)


@pytest.mark.parametrize("part", ["OrganId", "DocumentId"])
def test_status_needs_response_for_organ_and_document(part: str) -> None:
    data = status_bytes().decode()
    start = data.index(f"<edXML:{part}>", data.index("<edXML:ResponseFor>"))
    end = data.index(f"</edXML:{part}>", start) + len(f"</edXML:{part}>")
    assert ("packet.missing-element", f"ResponseFor/{part}") in _issue_codes(
        (data[:start] + data[end:]).encode()
    )


def test_status_reports_the_original_document_and_its_sender() -> None:
    packet = parse(status_bytes("06"))
    assert isinstance(packet, StatusPacket)
    assert packet.status_code == "06"
    assert packet.recipients == ("000.05.12.H26",)
    assert packet.sender == "000.00.12.H26"


def test_malformed_xml_is_refused_with_its_line() -> None:
    data = edit(document_bytes(), "</edXML:Subject>", "</edXML:Subjec>")
    text = data.decode()
    line = text[: text.index("</edXML:Subjec>")].count("\n") + 1
    with pytest.raises(MalformedXmlError) as caught:
        parse(data)
    assert caught.value.code == "xml.malformed"
    assert caught.value.line == line


def test_other_xml_is_refused_as_not_edxml() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(b"<html><body/></html>")
    assert caught.value.code == "packet.not-edxml"
    assert caught.value.element == "html"


def test_empty_input_is_refused() -> None:
    with pytest.raises(MalformedXmlError):
        parse(b"")
