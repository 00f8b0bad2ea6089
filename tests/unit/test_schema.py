"""The edXML schemas and their validators: lenient on layout, strict on routing fields."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from edxml import schema
from edxml.errors import Issue
from edxml.namespaces import DSIG_NS, EDXML_NS, XLINK_NS, XSI_NS, clark
from edxml.schema import Kind, validate, validate_with_xmlschema

FOREIGN_NS = "urn:example:extension"

MINIMAL_DOCUMENT = f"""<edXML xmlns="{EDXML_NS}">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.H26</OrganId></From>
        <To><OrganId>000.00.12.H26</OrganId></To>
        <DocumentId>000.00.00.H26,2024/05/02,12/UBND-KGVX</DocumentId>
      </MessageHeader>
    </edXMLHeader>
    <edXMLBody><edXMLManifest version="1.0"/></edXMLBody>
  </edXMLEnvelope>
</edXML>"""

MINIMAL_STATUS = f"""<edXML xmlns="{EDXML_NS}">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.12.H26</OrganId></From>
        <ResponseFor>
          <OrganId>000.00.00.H26</OrganId>
          <DocumentId>000.00.00.H26,2024/05/02,12/UBND-KGVX</DocumentId>
        </ResponseFor>
        <StatusCode>03</StatusCode>
      </MessageHeader>
    </edXMLHeader>
  </edXMLEnvelope>
</edXML>"""


def _parse(data: bytes) -> etree._ElementTree:
    return etree.fromstring(data[data.index(b"<") :]).getroottree()


def _named(paths: list[Path], name: str) -> Path:
    return next(path for path in paths if path.name == name)


@dataclass(frozen=True)
class Packets:
    """Fresh, editable trees of one public document sample and one status sample."""

    edoc_path: Path
    status_path: Path

    def edoc(self) -> etree._ElementTree:
        return _parse(self.edoc_path.read_bytes())

    def status(self) -> etree._ElementTree:
        return _parse(self.status_path.read_bytes())


@pytest.fixture
def packets(edoc_sample_paths: list[Path], status_sample_paths: list[Path]) -> Packets:
    return Packets(
        _named(edoc_sample_paths, "edoc_new.edxml"),
        _named(status_sample_paths, "status_inbox_01.edxml"),
    )


def _kind_of(path: Path) -> Kind:
    return "status" if path.name.startswith("status_") else "edoc"


def _find(tree: etree._ElementTree, local: str) -> etree._Element:
    found = tree.find(f".//{clark(local)}")
    assert found is not None, local
    return found


def _remove(tree: etree._ElementTree, local: str) -> None:
    node = _find(tree, local)
    parent = node.getparent()
    assert parent is not None
    parent.remove(node)


def _add(parent: etree._Element, local: str, text: str, ns: str = EDXML_NS) -> etree._Element:
    child = etree.SubElement(parent, clark(local, ns))
    child.text = text
    return child


# Packet builders: each returns (tree, kind) from the samples or the small packets above.

Build = Callable[[Packets], tuple[etree._ElementTree, Kind]]


def document_without_document_id(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _remove(tree, "DocumentId")
    return tree, "edoc"


def document_with_two_document_ids(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _add(_find(tree, "MessageHeader"), "DocumentId", "000.00.00.G22,2015/09/30,1/VPCP")
    return tree, "edoc"


def document_without_from(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _remove(tree, "From")
    return tree, "edoc"


def document_with_to_lacking_organ_id(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    to = _find(tree, "To")
    organ_id = to.find(clark("OrganId"))
    assert organ_id is not None
    to.remove(organ_id)
    return tree, "edoc"


def document_with_same_to_twice(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    to = _find(tree, "To")
    to.addnext(etree.fromstring(etree.tostring(to)))
    return tree, "edoc"


def document_without_body(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _remove(tree, "edXMLBody")
    return tree, "edoc"


def document_without_to(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _remove(tree, "To")
    return tree, "edoc"


def status_with_code_3(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    _find(tree, "StatusCode").text = "3"
    return tree, "status"


def status_with_code_abc(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    _find(tree, "StatusCode").text = "ABC"
    return tree, "status"


def status_without_status_code(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    _remove(tree, "StatusCode")
    return tree, "status"


def status_without_response_for(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    _remove(tree, "ResponseFor")
    return tree, "status"


def status_without_response_for_document_id(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    response_for = _find(tree, "ResponseFor")
    document_id = response_for.find(clark("DocumentId"))
    assert document_id is not None
    response_for.remove(document_id)
    return tree, "status"


def status_checked_as_document(p: Packets) -> tuple[etree._ElementTree, Kind]:
    return p.status(), "edoc"


def packet_with_another_root(p: Packets) -> tuple[etree._ElementTree, Kind]:
    return etree.fromstring(f'<Envelope xmlns="{EDXML_NS}"/>').getroottree(), "edoc"


def minimal_document(p: Packets) -> tuple[etree._ElementTree, Kind]:
    return _parse(MINIMAL_DOCUMENT.encode()), "edoc"


def minimal_status(p: Packets) -> tuple[etree._ElementTree, Kind]:
    return _parse(MINIMAL_STATUS.encode()), "status"


def document_with_edxml_extensions(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    header = _find(tree, "MessageHeader")
    header.insert(0, etree.Element(clark("ApplicationType")))
    header[0].text = "VNPT-iOffice"
    task = _add(header, "ResponseForTask", "")
    _add(task, "TaskId", "42")
    _add(_find(tree, "From"), "OrganLevel", "2")
    return tree, "edoc"


def document_with_foreign_extensions(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    header = _find(tree, "MessageHeader")
    extension = _add(header, "Tracking", "", FOREIGN_NS)
    _add(extension, "StatusCode", "not two digits", FOREIGN_NS)
    _add(_find(tree, "OtherInfo"), "Note", "x", FOREIGN_NS)
    _add(_find(tree, "edXMLHeader"), "Routing", "x", FOREIGN_NS)
    return tree, "edoc"


def document_in_reverse_order(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    header = _find(tree, "MessageHeader")
    for container in [header, *header]:
        container[:] = list(reversed(container))
    return tree, "edoc"


def packets_with_extra_attributes(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = etree.fromstring(
        f'<edXML xmlns="{EDXML_NS}" xmlns:xsi="{XSI_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:xlink="{XLINK_NS}"/>'
    ).getroottree()
    root = tree.getroot()
    for child in p.edoc().getroot():
        root.append(child)
    trace = _find(tree, "TraceHeaderList")
    for name, value in [("id", "t1"), ("version", "1.0"), ("mustUnderstand", "1"), ("actor", "x")]:
        trace.set(name, value)
    reference = _find(tree, "Reference")
    reference.set(clark("href", XLINK_NS), "cid:209")
    reference.set(clark("role", XLINK_NS), "attachment")
    reference.set(clark("type", XLINK_NS), "simple")
    _find(tree, "DocumentId").set("scheme", "QCVN")
    _find(tree, "edXMLEnvelope").set("id", "envelope")
    return tree, "edoc"


def document_without_bussiness(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _remove(tree, "Bussiness")
    return tree, "edoc"


def document_with_empty_response_for(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    etree.SubElement(_find(tree, "MessageHeader"), clark("ResponseFor"))
    return tree, "edoc"


def document_with_legacy_signature(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    assert _find(tree, "Signature").tag == clark("Signature")
    return tree, "edoc"


def document_with_dsig_signature(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    legacy = _find(tree, "Signature")
    signature = etree.Element(clark("Signature", DSIG_NS), nsmap={"ds": DSIG_NS})
    for node in legacy.iter():
        if node is not legacy and isinstance(node.tag, str):
            node.tag = clark(etree.QName(node).localname, DSIG_NS)
    signature[:] = list(legacy)
    parent = legacy.getparent()
    assert parent is not None
    parent.replace(legacy, signature)
    return tree, "edoc"


def document_with_empty_attachment_content(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _find(tree, "ContentTransferEncoded").text = None
    return tree, "edoc"


def document_with_impossible_dates(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.edoc()
    _find(tree, "PromulgationDate").text = "2019/02/30"
    _find(tree, "Priority").text = "khẩn"
    _find(tree, "DueDate").text = ""
    _find(tree, "Code").text = None
    return tree, "edoc"


def status_with_body(p: Packets) -> tuple[etree._ElementTree, Kind]:
    tree = p.status()
    envelope = _find(tree, "edXMLEnvelope")
    body = etree.SubElement(envelope, clark("edXMLBody"))
    etree.SubElement(body, clark("edXMLManifest")).set("version", "1.0")
    return tree, "status"


INVALID_CASES: list[Build] = [
    document_without_document_id,
    document_with_two_document_ids,
    document_without_from,
    document_with_to_lacking_organ_id,
    document_with_same_to_twice,
    document_without_body,
    status_with_code_3,
    status_with_code_abc,
    status_without_status_code,
    status_without_response_for,
    status_without_response_for_document_id,
    status_checked_as_document,
    packet_with_another_root,
]

VALID_CASES: list[Build] = [
    minimal_document,
    minimal_status,
    document_with_edxml_extensions,
    document_with_foreign_extensions,
    document_in_reverse_order,
    packets_with_extra_attributes,
    document_without_bussiness,
    document_with_empty_response_for,
    document_with_legacy_signature,
    document_with_dsig_signature,
    document_with_empty_attachment_content,
    document_with_impossible_dates,
    document_without_to,
    status_with_body,
]


def _only(issues: list[Issue]) -> Issue:
    assert len(issues) == 1, issues
    return issues[0]


def test_every_public_sample_is_valid_against_its_schema(sample_paths: list[Path]) -> None:
    for path in sample_paths:
        assert validate(_parse(path.read_bytes()), _kind_of(path)) == [], path.name


def test_every_public_sample_is_valid_for_xmlschema_too(sample_paths: list[Path]) -> None:
    for path in sample_paths:
        assert validate_with_xmlschema(_parse(path.read_bytes()), _kind_of(path)) == [], path.name


def test_document_samples_are_not_status_packets(edoc_sample_paths: list[Path]) -> None:
    for path in edoc_sample_paths:
        issues = validate(_parse(path.read_bytes()), "status")
        assert "StatusCode" in {issue.element for issue in issues}, path.name


def test_an_element_is_accepted_as_well_as_a_tree(packets: Packets) -> None:
    assert validate(packets.status().getroot(), "status") == []


def test_document_without_document_id_is_invalid_naming_it(packets: Packets) -> None:
    issue = _only(validate(*document_without_document_id(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "DocumentId")
    assert "DocumentId" in issue.message


def test_document_with_two_document_ids_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*document_with_two_document_ids(packets)))
    assert (issue.code, issue.element) == ("schema.repeated", "DocumentId")


def test_document_without_from_is_invalid_naming_from(packets: Packets) -> None:
    issue = _only(validate(*document_without_from(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "From")


def test_document_with_a_to_lacking_organ_id_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*document_with_to_lacking_organ_id(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "OrganId")
    assert issue.message.startswith("To ")


def test_document_naming_a_recipient_twice_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*document_with_same_to_twice(packets)))
    assert (issue.code, issue.element) == ("schema.duplicate", "To")
    assert "28.22.H17" in issue.message


def test_document_without_body_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*document_without_body(packets)))
    assert issue.element == "edXMLEnvelope"
    assert "edXMLBody" in issue.message


def test_document_without_to_is_left_to_the_parser(packets: Packets) -> None:
    assert validate(*document_without_to(packets)) == []


@pytest.mark.parametrize("build", [status_with_code_3, status_with_code_abc])
def test_status_code_other_than_two_digits_is_invalid_naming_it(
    packets: Packets, build: Build
) -> None:
    issue = _only(validate(*build(packets)))
    assert (issue.code, issue.element) == ("schema.invalid", "StatusCode")
    assert issue.message.startswith("StatusCode: ")


def test_status_code_issue_carries_the_source_line(packets: Packets) -> None:
    tree, kind = status_with_code_abc(packets)
    issue = _only(validate(tree, kind))
    assert issue.line == _find(tree, "StatusCode").sourceline


def test_status_without_status_code_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*status_without_status_code(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "StatusCode")


def test_status_without_response_for_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*status_without_response_for(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "ResponseFor")


def test_status_without_response_for_document_id_is_invalid(packets: Packets) -> None:
    issue = _only(validate(*status_without_response_for_document_id(packets)))
    assert (issue.code, issue.element) == ("schema.missing", "DocumentId")
    assert issue.message.startswith("ResponseFor ")


def test_status_with_a_body_is_accepted(packets: Packets) -> None:
    assert validate(*status_with_body(packets)) == []


def test_another_root_is_invalid_naming_it(packets: Packets) -> None:
    issue = _only(validate(*packet_with_another_root(packets)))
    assert issue.element == "Envelope"
    assert "edXML" in issue.message


def test_minimal_document_is_valid(packets: Packets) -> None:
    assert validate(*minimal_document(packets)) == []


def test_minimal_status_is_valid(packets: Packets) -> None:
    assert validate(*minimal_status(packets)) == []


def test_unknown_edxml_elements_are_accepted(packets: Packets) -> None:
    assert validate(*document_with_edxml_extensions(packets)) == []


def test_elements_of_other_namespaces_are_accepted_unchecked(packets: Packets) -> None:
    assert validate(*document_with_foreign_extensions(packets)) == []


def test_any_child_order_in_message_header_is_accepted(packets: Packets) -> None:
    assert validate(*document_in_reverse_order(packets)) == []


def test_extra_attributes_are_accepted(packets: Packets) -> None:
    assert validate(*packets_with_extra_attributes(packets)) == []


def test_document_without_bussiness_block_is_accepted(packets: Packets) -> None:
    assert validate(*document_without_bussiness(packets)) == []


def test_empty_response_for_in_a_document_is_accepted(packets: Packets) -> None:
    assert validate(*document_with_empty_response_for(packets)) == []


def test_legacy_signature_in_the_edxml_namespace_is_accepted(packets: Packets) -> None:
    assert validate(*document_with_legacy_signature(packets)) == []


def test_signature_in_the_dsig_namespace_is_accepted(packets: Packets) -> None:
    assert validate(*document_with_dsig_signature(packets)) == []


def test_empty_attachment_content_is_accepted(packets: Packets) -> None:
    assert validate(*document_with_empty_attachment_content(packets)) == []


def test_unparsable_optional_values_are_accepted(packets: Packets) -> None:
    assert validate(*document_with_impossible_dates(packets)) == []


@pytest.mark.parametrize("build", VALID_CASES + INVALID_CASES, ids=lambda build: build.__name__)
def test_lxml_and_xmlschema_agree(packets: Packets, build: Build) -> None:
    tree, kind = build(packets)
    expected_valid = build in VALID_CASES
    assert (validate(tree, kind) == []) is expected_valid
    assert (validate_with_xmlschema(tree, kind) == []) is expected_valid


@pytest.mark.parametrize(
    "build",
    [
        document_without_document_id,
        document_with_two_document_ids,
        document_without_from,
        document_with_to_lacking_organ_id,
        document_with_same_to_twice,
        status_without_status_code,
        status_without_response_for,
        status_without_response_for_document_id,
    ],
    ids=lambda build: build.__name__,
)
def test_both_engines_report_a_constraint_identically(packets: Packets, build: Build) -> None:
    tree, kind = build(packets)
    assert validate(tree, kind) == validate_with_xmlschema(tree, kind)


def test_concurrent_validations_report_their_own_issues(packets: Packets) -> None:
    trees = [status_with_code_abc(packets)[0], packets.status()] * 8

    def issue_elements(tree: etree._ElementTree) -> list[str | None]:
        return [issue.element for issue in validate(tree, "status")]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(issue_elements, trees))
    assert results == [["StatusCode"], []] * 8


def test_unknown_kind_is_refused(packets: Packets) -> None:
    with pytest.raises(ValueError, match="unknown packet kind"):
        validate(packets.status(), "receipt")  # type: ignore[arg-type]


def test_missing_schema_folder_is_reported_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(schema, "SCHEMA_DIRS", (tmp_path,))
    with pytest.raises(FileNotFoundError, match=r"edxml-status\.xsd not found"):
        schema.schema_path("status")
