"""A namespace URI that a tree cannot hold is refused as a packet error with its own code,
never a bare ValueError: by the reader, by validation, and by the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from edxml.cli import main
from edxml.errors import MalformedXmlError
from edxml.inspect import check, inspect
from edxml.models import DocumentPacket
from edxml.reader import parse
from edxml.signature import verify
from tests.unit.packets import document_bytes, edit

BODY = "<edXML:edXMLBody>"
BODY_LINE = 48

INVALID = {
    "caret": "urn:a^b",
    "backtick": "urn:a`b",
    "delete": "urn:a\x7fb",
    "brace": "urn:a{b",
    "bad percent escape": "urn:a%zzb",
    "non-ASCII": "urn:chữ",
    "space": "urn:a b",
}
VALID = ["urn:x", "http://example.com/a%20b", "urn:oasis:names:tc"]


def _declaring(uri: str, where: str = "prefix") -> bytes:
    declaration = f'xmlns:q="{uri}" q:a="1"' if where == "prefix" else f'xmlns="{uri}"'
    if where == "prefix":
        return edit(document_bytes(), BODY, f"<edXML:edXMLBody {declaration}>")
    return edit(document_bytes(), BODY, f"<x {declaration}/>{BODY}")


READ_PATHS: dict[str, Callable[[bytes], object]] = {"whole": bytes, "streamed": io.BytesIO}


@pytest.mark.parametrize("path", list(READ_PATHS))
@pytest.mark.parametrize("uri", list(INVALID.values()), ids=list(INVALID))
def test_an_invalid_namespace_uri_is_a_malformed_packet_naming_its_element(
    uri: str, path: str
) -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(READ_PATHS[path](_declaring(uri)))  # type: ignore[arg-type]
    assert caught.value.code == "xml.bad-namespace-uri"
    assert caught.value.element == "edXMLBody"
    assert caught.value.line == BODY_LINE
    assert "xmlns:q" in caught.value.message


@pytest.mark.parametrize("uri", list(INVALID.values()), ids=list(INVALID))
def test_an_invalid_default_namespace_is_refused_too(uri: str) -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse(_declaring(uri, where="default"))
    assert (caught.value.code, caught.value.element) == ("xml.bad-namespace-uri", "x")


@pytest.mark.parametrize("uri", VALID)
def test_valid_namespace_uris_are_read(uri: str) -> None:
    assert parse(_declaring(uri)) is not None


def test_validation_reports_an_invalid_namespace_uri_as_its_only_issue() -> None:
    packet, issues = check(_declaring(INVALID["caret"]))
    assert packet is None
    assert [issue.code for issue in issues] == ["xml.bad-namespace-uri"]


def test_inspection_raises_a_packet_error_for_an_invalid_namespace_uri() -> None:
    with pytest.raises(MalformedXmlError):
        inspect(_declaring(INVALID["non-ASCII"]))


def test_signature_check_reads_past_a_uri_a_tree_cannot_hold() -> None:
    assert verify(_declaring(INVALID["space"])).status == "absent"


@pytest.mark.parametrize("uri", list(INVALID.values()), ids=list(INVALID))
def test_inspect_json_prints_one_object_with_the_namespace_issue(
    uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packet = tmp_path / "packet.edxml"
    packet.write_bytes(_declaring(uri))
    assert main(["inspect", "--json", str(packet)]) == 1
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert data["valid"] is False
    assert [issue["code"] for issue in data["issues"]] == ["xml.bad-namespace-uri"]


def test_validate_prints_a_clean_line_for_an_invalid_namespace_uri(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packet = tmp_path / "packet.edxml"
    packet.write_bytes(_declaring(INVALID["space"]))
    assert main(["validate", str(packet)]) == 1
    out, err = capsys.readouterr()
    assert out == (
        f"{packet}:{BODY_LINE}: [xml.bad-namespace-uri] edXMLBody: "
        "xmlns:q='urn:a b' is not a valid namespace URI\n"
    )
    assert "Traceback" not in err


def test_an_extension_in_a_relative_namespace_is_read_and_kept() -> None:
    note = '<edXML:Note><q xmlns="relative/ns">giữ lại</q></edXML:Note>'
    packet = parse(edit(document_bytes(), "<edXML:DocumentId>", note + "<edXML:DocumentId>"))
    assert isinstance(packet, DocumentPacket)
    (extension,) = packet.header.extensions
    assert 'xmlns:ns0="relative/ns"' in extension.xml
    assert "giữ lại" in extension.xml
