"""edxml.inspect and edxml.check: the summary of a packet, its issues and its signature."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest
from lxml import etree

from edxml.errors import UnsafeXmlError
from edxml.inspect import Inspection, check, inspect
from edxml.signature import sign, verify
from tests.unit import sigtools
from tests.unit.packets import document_bytes, edit, status_bytes

DOCUMENT_SAMPLES = [
    "edoc_new.edxml",
    "edoc_replacement.edxml",
    "edoc_revocation.edxml",
    "edoc_update.edxml",
]
STATUS_SAMPLES = [
    "status_acceptance_03.edxml",
    "status_assignment_04.edxml",
    "status_cancellation_13.edxml",
    "status_change-acceptance_15.edxml",
    "status_change-rejection_16.edxml",
    "status_finish_06.edxml",
    "status_inbox_01.edxml",
    "status_processing_05.edxml",
    "status_rejection_02.edxml",
]
SAMPLES = DOCUMENT_SAMPLES + STATUS_SAMPLES

JSON_FIELDS = [
    "kind",
    "document_id",
    "from",
    "to",
    "code",
    "subject",
    "business_type",
    "status_code",
    "attachments",
    "signature",
    "valid",
    "issues",
    "warnings",
]
ATTACHMENT_FIELDS = ["name", "content_type", "size", "sha256", "zipped"]
SIGNATURE_FIELDS = ["status", "reason", "trusted"]


# -- reading the samples without the library --------------------------------------------


def _path(*names: str) -> str:
    """An XPath by local names, whatever the prefixes: //*[local-name()='A']/*[…='B']…"""
    return "//" + "/".join(f"*[local-name()='{name}']" for name in names)


class _Independent:
    """What a sample says, read with lxml and the standard library only."""

    def __init__(self, path: Path) -> None:
        self.raw = path.read_bytes()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self.root = etree.fromstring(self.raw[self.raw.index(b"<") :], parser)

    def texts(self, *names: str) -> list[str]:
        return [(el.text or "").strip() for el in self.root.xpath(_path(*names))]  # type: ignore[union-attr]

    def text(self, *names: str) -> str:
        (value,) = self.texts(*names)
        return value

    @property
    def is_status(self) -> bool:
        return bool(self.texts("MessageHeader", "StatusCode"))

    def attachments(self) -> list[dict[str, object]]:
        encoded = re.findall(
            rb"<(?:[\w.-]+:)?ContentTransferEncoded\b[^>]*>(.*?)</", self.raw, re.DOTALL
        )
        names = self.texts("Attachment", "AttachmentName")
        types = self.texts("Attachment", "ContentType")
        found = []
        for name, content_type, text in zip(names, types, encoded, strict=True):
            data = base64.b64decode(text)
            found.append(
                {
                    "name": name,
                    "content_type": content_type,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "zipped": data.startswith(b"PK\x03\x04"),
                }
            )
        return found


@functools.cache
def _inspected(path: Path) -> dict[str, object]:
    return inspect(path).as_json()


# -- the public samples ------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_inspection_has_exactly_the_json_fields_of_the_issue(
    samples_dir: Path, name: str
) -> None:
    data = _inspected(samples_dir / name)
    assert list(data) == JSON_FIELDS
    assert isinstance(data["signature"], dict)
    assert list(data["signature"]) == SIGNATURE_FIELDS
    assert isinstance(data["attachments"], list)
    for attachment in data["attachments"]:
        assert list(attachment) == ATTACHMENT_FIELDS
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_inspection_names_the_document_and_the_parties_as_the_packet_does(
    samples_dir: Path, name: str
) -> None:
    facts = _Independent(samples_dir / name)
    data = _inspected(samples_dir / name)
    if facts.is_status:
        expected = {
            "kind": "status",
            "document_id": facts.text("MessageHeader", "ResponseFor", "DocumentId"),
            "from": facts.text("MessageHeader", "From", "OrganId"),
            "to": [facts.text("MessageHeader", "ResponseFor", "OrganId")],
            "code": facts.text("MessageHeader", "ResponseFor", "Code"),
        }
    else:
        number = facts.text("MessageHeader", "Code", "CodeNumber")
        notation = facts.text("MessageHeader", "Code", "CodeNotation")
        expected = {
            "kind": "edoc",
            "document_id": facts.text("MessageHeader", "DocumentId"),
            "from": facts.text("MessageHeader", "From", "OrganId"),
            "to": facts.texts("MessageHeader", "To", "OrganId"),
            "code": f"{number}/{notation}",
        }
    assert {key: data[key] for key in expected} == expected


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_document_sample_reports_subject_and_business_type_and_no_status_code(
    samples_dir: Path, name: str
) -> None:
    facts = _Independent(samples_dir / name)
    data = _inspected(samples_dir / name)
    business_type = int(facts.text("TraceHeaderList", "Bussiness", "BussinessDocType"))
    assert business_type in range(4)
    assert data["subject"] == facts.text("MessageHeader", "Subject")
    assert data["business_type"] == business_type
    assert data["status_code"] is None


@pytest.mark.parametrize("name", STATUS_SAMPLES)
def test_status_sample_reports_its_code_and_no_subject_business_type_or_attachment(
    samples_dir: Path, name: str
) -> None:
    facts = _Independent(samples_dir / name)
    data = _inspected(samples_dir / name)
    assert data["status_code"] == facts.text("MessageHeader", "StatusCode")
    assert data["subject"] is None
    assert data["business_type"] is None
    assert data["attachments"] == []


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_sample_attachments_match_an_independent_base64_decode(
    samples_dir: Path, name: str
) -> None:
    expected = _Independent(samples_dir / name).attachments()
    assert expected, "every document sample carries an attachment"
    assert _inspected(samples_dir / name)["attachments"] == expected


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_document_sample_signature_is_unverifiable_for_its_truncated_certificate(
    samples_dir: Path, name: str
) -> None:
    signature = _inspected(samples_dir / name)["signature"]
    assert isinstance(signature, dict)
    assert signature["status"] == "unverifiable"
    assert "certificate" in str(signature["reason"])
    assert signature["trusted"] is None


@pytest.mark.parametrize("name", STATUS_SAMPLES)
def test_status_sample_signature_is_absent(samples_dir: Path, name: str) -> None:
    assert _inspected(samples_dir / name)["signature"] == {
        "status": "absent",
        "reason": None,
        "trusted": None,
    }


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_inspects_valid_without_issues(samples_dir: Path, name: str) -> None:
    data = _inspected(samples_dir / name)
    assert data["valid"] is True
    assert data["issues"] == []


@pytest.mark.parametrize("name", SAMPLES)
def test_check_finds_nothing_wrong_with_a_sample(samples_dir: Path, name: str) -> None:
    packet, issues = check(samples_dir / name)
    assert packet is not None
    assert issues == []


# -- signed test packets -----------------------------------------------------------------


def _signed(legacy: bool = False) -> bytes:
    signer = sigtools.signer()
    return sign(sigtools.document_packet(), signer.key, signer.cert, legacy=legacy)


def _flip_signature_value(data: bytes) -> bytes:
    found = re.search(rb"<(?:ds:)?SignatureValue>([A-Za-z0-9+/=\s]+)</", data)
    assert found is not None
    at = found.start(1) + 8
    return data[:at] + (b"B" if data[at : at + 1] != b"B" else b"C") + data[at + 1 :]


def _tamper_header(data: bytes) -> bytes:
    old, new = "Hà Nội".encode(), "Hà Tây".encode()
    assert old in data
    return data.replace(old, new, 1)


def _tamper_attachment(data: bytes) -> bytes:
    assert b"AAECAwQF" in data
    return data.replace(b"AAECAwQF", b"AAECAwQG", 1)


def test_packet_signed_with_a_test_key_inspects_valid_without_a_trust_verdict() -> None:
    signature = inspect(_signed()).signature
    assert signature is not None
    assert (signature.status, signature.reason, signature.trusted) == ("valid", None, None)


def test_signed_packet_is_trusted_when_its_ca_is_an_anchor() -> None:
    signature = inspect(_signed(), trust_anchors=[sigtools.root_ca().cert]).signature
    assert signature is not None
    assert (signature.status, signature.trusted) == ("valid", True)


def test_signed_packet_is_not_trusted_when_only_another_ca_is_an_anchor() -> None:
    signature = inspect(_signed(), trust_anchors=[sigtools.other_ca().cert]).signature
    assert signature is not None
    assert (signature.status, signature.trusted) == ("valid", False)


def test_tampered_signed_packet_inspects_invalid() -> None:
    signature = inspect(_tamper_header(_signed())).signature
    assert signature is not None
    assert signature.status == "invalid"
    assert signature.reason is not None


def test_tampering_with_a_signed_packet_does_not_make_the_packet_itself_invalid() -> None:
    result = inspect(_tamper_header(_signed()))
    assert result.valid is True
    assert result.issues == []


# -- inspect agrees with verify, whatever the source --------------------------------------


@functools.cache
def _big_signed() -> bytes:
    """A signed packet over the 4 MB fast-path ceiling (so both passes stream)."""
    head, tail = sigtools.document_packet(attachment="@@").split(b"@@")
    line = base64.b64encode(bytes(range(256)) * 3) + b"\n"
    packet = head + line * 5600 + tail
    assert len(packet) > 4 * 1024 * 1024
    signer = sigtools.signer()
    return sign(packet, signer.key, signer.cert)


CASES: dict[str, Callable[[], bytes]] = {
    "unsigned": sigtools.document_packet,
    "signed-standard": _signed,
    "signed-legacy": lambda: _signed(legacy=True),
    "tampered-header": lambda: _tamper_header(_signed()),
    "tampered-attachment": lambda: _tamper_attachment(_signed()),
    "broken-signature-value": lambda: _flip_signature_value(_signed()),
    "legacy-tampered-header": lambda: _tamper_header(_signed(legacy=True)),
    "legacy-tampered-attachment": lambda: _tamper_attachment(_signed(legacy=True)),
    "legacy-broken-signature-value": lambda: _flip_signature_value(_signed(legacy=True)),
    "big-signed": _big_signed,
    "big-tampered-attachment": lambda: _tamper_attachment(_big_signed()),
}


class OneWayStream(io.RawIOBase):
    """A readable stream that cannot seek, as a socket or an HTTP body is."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._inner.readinto(buffer)


@contextmanager
def _pipe_carrying(data: bytes) -> Iterator[BinaryIO]:
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with os.fdopen(read_fd, "rb") as stream:
            assert not stream.seekable()
            yield stream
    finally:
        writer.join()


@contextmanager
def _source(kind: str, data: bytes, folder: Path) -> Iterator[object]:
    if kind == "bytes":
        yield data
    elif kind == "path":
        path = folder / "packet.edxml"
        path.write_bytes(data)
        yield path
    elif kind == "file":
        path = folder / "packet.edxml"
        path.write_bytes(data)
        with path.open("rb") as handle:
            assert handle.seekable()
            yield handle
    elif kind == "one-way":
        yield OneWayStream(data)
    else:
        with _pipe_carrying(data) as stream:
            yield stream


SOURCES = ["bytes", "path", "file", "one-way", "pipe"]


@functools.cache
def _case(name: str) -> bytes:
    return CASES[name]()


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("case", list(CASES))
def test_inspect_reaches_the_signature_outcome_verify_reaches(
    case: str, source: str, tmp_path: Path
) -> None:
    data = _case(case)
    expected = verify(data)
    with _source(source, data, tmp_path) as packet:
        signature = inspect(packet).signature  # type: ignore[arg-type]
    assert signature is not None
    assert (signature.status, signature.reason) == (expected.status, expected.reason)


def test_signature_cases_cover_every_outcome_they_are_named_for() -> None:
    statuses = {name: verify(_case(name)).status for name in CASES}
    assert statuses["unsigned"] == "absent"
    assert {statuses[n] for n in CASES if "signed" in n and "un" not in n} == {"valid"}
    assert {statuses[n] for n in CASES if "tampered" in n or "broken" in n} == {"invalid"}


# -- file objects are read in full ------------------------------------------------------


@pytest.mark.parametrize("case", ["signed-standard", "signed-legacy", "big-signed"])
def test_open_file_object_is_inspected_as_fully_as_its_path(case: str, tmp_path: Path) -> None:
    path = tmp_path / "packet.edxml"
    path.write_bytes(_case(case))
    with path.open("rb") as handle:
        from_handle = inspect(handle)
    assert from_handle == inspect(path)
    assert from_handle.signature is not None
    assert from_handle.signature.status == "valid"
    assert from_handle.attachments


@pytest.mark.parametrize("case", ["signed-standard", "big-signed"])
def test_file_object_is_inspected_from_where_it_stands(case: str) -> None:
    prefix = b"#" * 100
    stream = io.BytesIO(prefix + _case(case))
    stream.seek(len(prefix))
    result = inspect(stream)
    assert result.signature is not None
    assert result.signature.status == "valid"
    assert result.valid is True


# -- check: every issue, once, never a raise -------------------------------------------------

DOCUMENT_ID = "<edXML:DocumentId>000.05.12.H26,2026/11/20,15/UBND-VP</edXML:DocumentId>"
SENDER_ID = "<edXML:OrganId>000.05.12.H26</edXML:OrganId>"


def _line_of(data: bytes, text: str) -> int:
    """The 1-based line of the first occurrence of ``text``."""
    before = data.decode("utf-8").split(text, 1)[0]
    return before.count("\n") + 1


def _without_document_id_and_sender_code() -> bytes:
    data = edit(document_bytes(), DOCUMENT_ID, "")
    return edit(data, SENDER_ID, "")


def test_check_reports_every_broken_rule_with_code_element_and_line() -> None:
    data = _without_document_id_and_sender_code()
    _, issues = check(data)
    found = {(i.code, i.element, i.line) for i in issues}
    assert (
        "packet.missing-element",
        "DocumentId",
        _line_of(data, "<edXML:MessageHeader>"),
    ) in found
    assert ("packet.missing-element", "From/OrganId", _line_of(data, "<edXML:From>")) in found


def test_check_gives_no_packet_when_a_rule_is_broken() -> None:
    packet, issues = check(_without_document_id_and_sender_code())
    assert packet is None
    assert issues


def test_check_reports_a_schema_issue_the_reader_does_not_see() -> None:
    data = edit(document_bytes(), "<edXML:Subject>", "<edXML:Subject><edXML:Note/>")
    packet, issues = check(data)
    assert packet is not None
    assert [(i.code, i.element, i.line) for i in issues] == [
        ("schema.invalid", "Subject", _line_of(data, "<edXML:Subject>"))
    ]


def test_check_lists_issues_in_line_order() -> None:
    _, issues = check(_without_document_id_and_sender_code())
    lines = [issue.line or 0 for issue in issues]
    assert lines == sorted(lines)


def _duplicate_first_recipient(data: bytes) -> bytes:
    text = data.decode()
    start = text.index("<edXML:To>")
    end = text.index("</edXML:To>") + len("</edXML:To>")
    return (text[:end] + text[start:end] + text[end:]).encode()


FAULTS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "missing-document-id": (
        lambda: edit(document_bytes(), DOCUMENT_ID, ""),
        "packet.missing-element",
        "DocumentId",
    ),
    "status-code-not-two-digits": (
        lambda: edit(status_bytes(), "<edXML:StatusCode>03<", "<edXML:StatusCode>3<"),
        "packet.bad-status-code",
        "StatusCode",
    ),
    "missing-sender-code": (
        lambda: edit(document_bytes(), SENDER_ID, ""),
        "packet.missing-element",
        "From/OrganId",
    ),
    "missing-recipient-code": (
        lambda: edit(document_bytes(), "<edXML:OrganId>000.00.12.H26</edXML:OrganId>", ""),
        "packet.missing-element",
        "To/OrganId",
    ),
    "duplicate-recipient": (
        lambda: _duplicate_first_recipient(document_bytes()),
        "packet.duplicate-recipient",
        "To/OrganId",
    ),
    "status-without-answered-document": (
        lambda: re.sub(rb"<edXML:DocumentId>[^<]*</edXML:DocumentId>", b"", status_bytes()),
        "packet.missing-element",
        "ResponseFor/DocumentId",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_the_reader_found_is_not_reported_again_by_the_schema(fault: str) -> None:
    make, code, element = FAULTS[fault]
    _, issues = check(make())
    assert [(i.code, i.element) for i in issues] == [(code, element)], issues


HOSTILE = {
    "internal-entity": (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x "y">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>'
    ),
    "external-entity": (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>'
    ),
    "external-dtd": (
        b'<!DOCTYPE edXML SYSTEM "http://example.invalid/x.dtd">'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'
    ),
    "billion-laughs": (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&c;</edXML>'
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_check_returns_hostile_input_as_one_dtd_issue(name: str) -> None:
    packet, issues = check(HOSTILE[name])
    assert packet is None
    assert [(i.code, i.line) for i in issues] == [("xml.dtd-forbidden", 1)]


def test_check_returns_non_xml_as_one_malformed_issue() -> None:
    packet, issues = check(b"this is not a packet")
    assert packet is None
    assert [i.code for i in issues] == ["xml.malformed"]


def test_check_returns_a_foreign_root_as_one_not_edxml_issue() -> None:
    _, issues = check(b"<html><body/></html>")
    assert [(i.code, i.element) for i in issues] == [("packet.not-edxml", "html")]


def _declared(encoding: str, codec: str) -> bytes:
    text = document_bytes().decode().replace('encoding="UTF-8"', f'encoding="{encoding}"')
    return text.encode(codec, errors="xmlcharrefreplace")


UNDECODABLE: dict[str, Callable[[], bytes | io.BytesIO]] = {
    "unknown-encoding-name": lambda: _declared("X-NO-SUCH-ENCODING", "ascii"),
    "shift-jis-as-bytes": lambda: _declared("Shift_JIS", "shift_jis"),
    "shift-jis-as-a-stream": lambda: io.BytesIO(_declared("Shift_JIS", "shift_jis")),
}


@pytest.mark.parametrize("as_stream", [False, True])
def test_utf16_without_a_byte_order_mark_is_detected_and_read(as_stream: bool) -> None:
    data = _declared("UTF-16LE", "utf-16-le")
    packet, issues = check(io.BytesIO(data) if as_stream else data)
    assert issues == []
    assert packet is not None
    assert packet.document_id == check(document_bytes())[0].document_id  # type: ignore[union-attr]


@pytest.mark.parametrize("name", list(UNDECODABLE))
def test_check_returns_an_issue_for_an_encoding_the_reader_cannot_decode(name: str) -> None:
    _, issues = check(UNDECODABLE[name]())
    assert len(issues) == 1
    assert issues[0].code.startswith("xml.")


def test_inspect_raises_a_packet_error_for_hostile_input() -> None:
    with pytest.raises(UnsafeXmlError) as caught:
        inspect(HOSTILE["internal-entity"])
    assert caught.value.code == "xml.dtd-forbidden"


def test_inspect_reports_a_broken_rule_as_invalid_with_its_issues() -> None:
    result = inspect(_without_document_id_and_sender_code())
    assert isinstance(result, Inspection)
    assert result.valid is False
    codes = {(issue["code"], issue["element"]) for issue in result.issues}
    assert ("packet.missing-element", "DocumentId") in codes
    assert ("packet.missing-element", "From/OrganId") in codes


def test_inspect_issues_are_the_issues_check_finds() -> None:
    data = edit(document_bytes(), "<edXML:Subject>", "<edXML:Subject><edXML:Note/>")
    _, issues = check(data)
    assert inspect(data).issues == [issue.as_dict() for issue in issues]
