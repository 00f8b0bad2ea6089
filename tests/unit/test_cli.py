"""The ``edxml`` command: inspect, validate, verify, sign, new and status."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from edxml.cli import main
from edxml.models import DocumentPacket, StatusPacket
from edxml.reader import parse
from edxml.signature import sign
from tests.unit import sigtools
from tests.unit.packets import document_bytes, edit

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
DOCUMENT_ID = "<edXML:DocumentId>000.05.12.H26,2026/11/20,15/UBND-VP</edXML:DocumentId>"
SENDER_ID = "<edXML:OrganId>000.05.12.H26</edXML:OrganId>"
DOCTYPE = (
    b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>'
)


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run ``edxml ARGS`` in-process: exit status, stdout, stderr."""
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, Any]:
    code, out, _ = run(capsys, *args)
    return code, json.loads(out)


def _line_of(data: bytes, text: str) -> int:
    return data.decode().split(text, 1)[0].count("\n") + 1


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "van-ban.edxml"
    path.write_bytes(document_bytes())
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A document without DocumentId and without the sender's OrganId."""
    path = tmp_path / "broken.edxml"
    path.write_bytes(edit(edit(document_bytes(), DOCUMENT_ID, ""), SENDER_ID, ""))
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.edxml"
    path.write_bytes(DOCTYPE)
    return path


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, Path]:
    signer = sigtools.signer()
    key, cert = tmp_path / "signer.key", tmp_path / "signer.pem"
    key.write_bytes(signer.key_pem)
    cert.write_bytes(signer.cert_pem)
    return key, cert


def _ca_file(tmp_path: Path, name: str, identity: sigtools.Identity) -> Path:
    path = tmp_path / name
    path.write_bytes(identity.cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    signer = sigtools.signer()
    path = tmp_path / "signed.edxml"
    path.write_bytes(sign(sigtools.document_packet(), signer.key, signer.cert))
    return path


# -- inspect ---------------------------------------------------------------------------------


def test_inspect_json_prints_exactly_one_object_with_the_fields_of_the_issue(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    code, out, _ = run(capsys, "inspect", document, "--json")
    assert code == 0
    data = json.loads(out)  # the whole output, so exactly one JSON value
    assert isinstance(data, dict)
    assert list(data) == JSON_FIELDS


def test_inspect_json_describes_the_packet(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    _, data = run_json(capsys, "inspect", document, "--json")
    assert data["kind"] == "edoc"
    assert data["document_id"] == "000.05.12.H26,2026/11/20,15/UBND-VP"
    assert data["from"] == "000.05.12.H26"
    assert data["to"] == ["000.00.12.H26", "000.00.00.H26"]
    assert data["code"] == "15/UBND-VP"
    assert data["subject"] == "Về việc triển khai chữ ký số chuyên dùng"
    assert data["business_type"] == 0
    assert data["status_code"] is None
    assert data["attachments"] == [
        {
            "name": "vanban.pdf",
            "content_type": "application/pdf",
            "size": len(b"%PDF-1.7 test"),
            "sha256": hashlib.sha256(b"%PDF-1.7 test").hexdigest(),
            "zipped": False,
        }
    ]
    assert data["signature"] == {"status": "absent", "reason": None, "trusted": None}
    assert (data["valid"], data["issues"], data["warnings"]) == (True, [], [])


def test_inspect_json_of_a_public_sample_reports_its_unverifiable_signature(
    capsys: pytest.CaptureFixture[str], samples_dir: Path
) -> None:
    code, data = run_json(capsys, "inspect", samples_dir / "edoc_update.edxml", "--json")
    assert code == 0
    assert data["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert data["business_type"] == 2
    assert data["signature"]["status"] == "unverifiable"


def test_inspect_of_a_packet_breaking_a_routing_rule_exits_1_with_its_issues(
    capsys: pytest.CaptureFixture[str], broken: Path
) -> None:
    code, data = run_json(capsys, "inspect", broken, "--json")
    assert code == 1
    assert data["valid"] is False
    found = {(issue["code"], issue["element"]) for issue in data["issues"]}
    assert ("packet.missing-element", "DocumentId") in found
    assert ("packet.missing-element", "From/OrganId") in found
    assert all(isinstance(issue["line"], int) for issue in data["issues"])


def test_inspect_of_a_packet_breaking_only_the_schema_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "schema.edxml"
    path.write_bytes(edit(document_bytes(), "<edXML:Subject>", "<edXML:Subject><edXML:Note/>"))
    code, data = run_json(capsys, "inspect", path, "--json")
    assert data["valid"] is False
    assert code == 1


def test_inspect_of_hostile_input_exits_1_with_one_issue(
    capsys: pytest.CaptureFixture[str], hostile: Path
) -> None:
    code, data = run_json(capsys, "inspect", hostile, "--json")
    assert code == 1
    assert data["valid"] is False
    assert [issue["code"] for issue in data["issues"]] == ["xml.dtd-forbidden"]


def test_inspect_of_hostile_input_says_unreadable_without_json(
    capsys: pytest.CaptureFixture[str], hostile: Path
) -> None:
    code, _, err = run(capsys, "inspect", hostile)
    assert code == 1
    assert "unreadable" in err
    assert "xml.dtd-forbidden" in err


def test_inspect_of_non_xml_exits_1_with_a_malformed_issue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "junk.edxml"
    path.write_bytes(b"PK\x03\x04 definitely not a packet")
    code, data = run_json(capsys, "inspect", path, "--json")
    assert code == 1
    assert [issue["code"] for issue in data["issues"]] == ["xml.malformed"]


def test_inspect_of_a_packet_in_an_encoding_expat_cannot_decode_exits_1_with_an_issue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "sjis.edxml"
    text = document_bytes().decode().replace('encoding="UTF-8"', 'encoding="Shift_JIS"')
    path.write_bytes(text.encode("shift_jis", errors="xmlcharrefreplace"))
    code, data = run_json(capsys, "inspect", path, "--json")
    assert code == 1
    assert len(data["issues"]) == 1


def test_inspect_of_a_missing_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "inspect", tmp_path / "nowhere.edxml")
    assert code == 2
    assert "nowhere.edxml" in err
    assert out == ""


@pytest.mark.parametrize("command", ["inspect", "validate", "verify"])
def test_a_directory_given_for_a_packet_exits_2_saying_it_is_a_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    code, out, err = run(capsys, command, tmp_path)
    assert code == 2
    assert err == f"edxml: error: {tmp_path} is a directory, not a file\n"
    assert out == ""


def test_an_unreadable_file_exits_2_with_a_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str], document: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", str(document))

    monkeypatch.setattr(sys.modules["edxml.inspect"], "inspect", refuse)
    code, out, err = run(capsys, "inspect", document)
    assert code == 2
    assert err.startswith("edxml: error: ")
    assert "Permission denied" in err
    assert out == ""


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str], document: Path) -> None:
    code, _, err = run(capsys, "inspect", document, "--frobnicate")
    assert code == 2
    assert "--frobnicate" in err


def test_missing_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys)
    assert code == 2


def test_human_inspect_shows_the_subject(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    code, out, _ = run(capsys, "inspect", document)
    assert code == 0
    assert "Về việc triển khai chữ ký số chuyên dùng" in out


def test_human_inspect_shows_the_signature_status(
    capsys: pytest.CaptureFixture[str], signed: Path
) -> None:
    _, out, _ = run(capsys, "inspect", signed)
    signature_lines = [line for line in out.splitlines() if line.startswith("signature")]
    assert len(signature_lines) == 1
    assert "valid" in signature_lines[0]


def test_inspect_with_a_trusted_ca_reports_the_signature_trusted(
    capsys: pytest.CaptureFixture[str], signed: Path, tmp_path: Path
) -> None:
    ca = _ca_file(tmp_path, "ca.pem", sigtools.root_ca())
    _, data = run_json(capsys, "inspect", signed, "--json", "--trust", ca)
    assert data["signature"] == {"status": "valid", "reason": None, "trusted": True}


# -- validate ---------------------------------------------------------------------------------


def test_validate_of_a_valid_packet_exits_0(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    code, out, _ = run(capsys, "validate", document)
    assert code == 0
    assert "valid" in out


def test_validate_of_an_invalid_packet_exits_1_listing_every_error(
    capsys: pytest.CaptureFixture[str], broken: Path
) -> None:
    data = broken.read_bytes()
    code, out, _ = run(capsys, "validate", broken)
    assert code == 1
    message_line = _line_of(data, "<edXML:MessageHeader>")
    from_line = _line_of(data, "<edXML:From>")
    assert f"{broken}:{message_line}: [packet.missing-element] DocumentId:" in out
    assert f"{broken}:{from_line}: [packet.missing-element] From/OrganId:" in out


def test_validate_json_lists_every_error_with_code_element_and_line(
    capsys: pytest.CaptureFixture[str], broken: Path
) -> None:
    data = broken.read_bytes()
    code, report = run_json(capsys, "validate", broken, "--json")
    assert code == 1
    assert report["valid"] is False
    found = {(i["code"], i["element"], i["line"]) for i in report["issues"]}
    assert (
        "packet.missing-element",
        "DocumentId",
        _line_of(data, "<edXML:MessageHeader>"),
    ) in found
    assert ("packet.missing-element", "From/OrganId", _line_of(data, "<edXML:From>")) in found


def test_validate_json_of_a_valid_packet(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    code, report = run_json(capsys, "validate", document, "--json")
    assert code == 0
    assert report == {"valid": True, "issues": []}


def test_validate_of_hostile_input_exits_1_naming_the_problem(
    capsys: pytest.CaptureFixture[str], hostile: Path
) -> None:
    code, out, _ = run(capsys, "validate", hostile)
    assert code == 1
    assert "xml.dtd-forbidden" in out


def test_validate_of_non_xml_names_the_line_and_no_element(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "notxml.txt"
    path.write_bytes(b"hello\n")
    code, out, _ = run(capsys, "validate", path)
    assert code == 1
    assert out.startswith(f"{path}:1: [xml.malformed] the input is not XML")
    assert "None" not in out


def test_human_inspect_of_an_issue_without_element_prints_no_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "many.edxml"
    extra = "<edXML:To><edXML:OrganName>x</edXML:OrganName></edXML:To>\n" * 150
    path.write_bytes(edit(document_bytes(), "<edXML:To>", extra + "<edXML:To>"))
    code, out, _ = run(capsys, "inspect", path)
    assert code == 1
    last = out.strip().splitlines()[-1]
    assert last.startswith("issue: [issues.more] ")
    assert "None" not in last


# -- verify -----------------------------------------------------------------------------------


def test_verify_of_a_signed_packet_exits_0(
    capsys: pytest.CaptureFixture[str], signed: Path
) -> None:
    code, out, _ = run(capsys, "verify", signed)
    assert code == 0
    assert out.startswith("valid")


def test_verify_of_a_public_sample_exits_1_as_unverifiable(
    capsys: pytest.CaptureFixture[str], samples_dir: Path
) -> None:
    code, out, _ = run(capsys, "verify", samples_dir / "edoc_new.edxml")
    assert code == 1
    assert out.startswith("unverifiable")


def test_verify_of_an_unsigned_packet_exits_1_as_absent(
    capsys: pytest.CaptureFixture[str], document: Path
) -> None:
    code, out, _ = run(capsys, "verify", document)
    assert code == 1
    assert out.startswith("absent")


def test_verify_of_a_tampered_packet_exits_1_as_invalid(
    capsys: pytest.CaptureFixture[str], signed: Path
) -> None:
    signed.write_bytes(signed.read_bytes().replace("Hà Nội".encode(), "Hà Tây".encode(), 1))
    code, out, _ = run(capsys, "verify", signed)
    assert code == 1
    assert out.startswith("invalid")


def test_verify_with_the_issuing_ca_as_trust_anchor_reports_trusted(
    capsys: pytest.CaptureFixture[str], signed: Path, tmp_path: Path
) -> None:
    ca = _ca_file(tmp_path, "ca.pem", sigtools.root_ca())
    code, outcome = run_json(capsys, "verify", signed, "--trust", ca, "--json")
    assert code == 0
    assert (outcome["status"], outcome["trusted"]) == ("valid", True)


def test_verify_with_another_ca_as_trust_anchor_reports_not_trusted(
    capsys: pytest.CaptureFixture[str], signed: Path, tmp_path: Path
) -> None:
    ca = _ca_file(tmp_path, "other.pem", sigtools.other_ca())
    _, out, _ = run(capsys, "verify", signed, "--trust", ca)
    assert "not trusted" in out


def test_verify_json_reports_the_outcome_facts(
    capsys: pytest.CaptureFixture[str], signed: Path
) -> None:
    _, outcome = run_json(capsys, "verify", signed, "--json")
    assert outcome["status"] == "valid"
    assert outcome["layout"] == "standard"
    assert outcome["signer"] == sigtools.signer().cert.subject.rfc4514_string()


def test_verify_of_a_missing_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = run(capsys, "verify", tmp_path / "nowhere.edxml")
    assert code == 2


# -- sign -------------------------------------------------------------------------------------


def test_signed_output_verifies(
    capsys: pytest.CaptureFixture[str],
    document: Path,
    identity: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    key, cert = identity
    out = tmp_path / "out.edxml"
    assert run(capsys, "sign", document, "--key", key, "--cert", cert, "-o", out)[0] == 0
    code, outcome = run_json(capsys, "verify", out, "--json")
    assert code == 0
    assert outcome["layout"] == "standard"


def test_legacy_signed_output_verifies_in_the_legacy_layout(
    capsys: pytest.CaptureFixture[str],
    document: Path,
    identity: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    key, cert = identity
    out = tmp_path / "out.edxml"
    args = ("sign", document, "--key", key, "--cert", cert, "--legacy", "-o", out)
    assert run(capsys, *args)[0] == 0
    code, outcome = run_json(capsys, "verify", out, "--json")
    assert code == 0
    assert outcome["layout"] == "legacy"


def test_signing_leaves_the_packet_readable_as_before(
    capsys: pytest.CaptureFixture[str],
    document: Path,
    identity: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    key, cert = identity
    out = tmp_path / "out.edxml"
    run(capsys, "sign", document, "--key", key, "--cert", cert, "-o", out)
    before = parse(document)
    after = parse(out)
    assert after.model_copy(update={"signature": None}) == before


def test_sign_without_a_key_option_exits_2(
    capsys: pytest.CaptureFixture[str], document: Path, identity: tuple[Path, Path]
) -> None:
    _, cert = identity
    code, _, _ = run(capsys, "sign", document, "--cert", cert, "-o", "x.edxml")
    assert code == 2


def test_sign_with_a_file_that_is_not_a_key_exits_1_with_a_message(
    capsys: pytest.CaptureFixture[str], document: Path, identity: tuple[Path, Path], tmp_path: Path
) -> None:
    _, cert = identity
    out = tmp_path / "out.edxml"
    code, _, err = run(capsys, "sign", document, "--key", cert, "--cert", cert, "-o", out)
    assert code == 1
    assert "key" in err
    assert not out.exists()


# -- new --------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "to-trinh.pdf", tmp_path / "phu-luc.txt"
    first.write_bytes(b"%PDF-1.7 to trinh " * 50)
    second.write_bytes("Phụ lục: danh sách đơn vị\n".encode() * 20)
    return first, second


def _new(
    capsys: pytest.CaptureFixture[str], out: Path, files: tuple[Path, Path], *extra: str
) -> int:
    first, second = files
    return run(
        capsys,
        "new",
        "--from", "000.05.12.H26",
        "--to", "000.00.12.H26",
        "--to", "000.00.00.H26",
        "--number", "15",
        "--notation", "UBND-VP",
        "--subject", "Về việc triển khai chữ ký số",
        "--attach", first,
        "--attach", second,
        *extra,
        "-o", out,
    )[0]  # fmt: skip


def test_new_writes_a_document_to_every_recipient_given(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "new.edxml"
    assert _new(capsys, out, files) == 0
    code, data = run_json(capsys, "inspect", out, "--json")
    assert code == 0
    assert data["from"] == "000.05.12.H26"
    assert data["to"] == ["000.00.12.H26", "000.00.00.H26"]
    assert data["code"] == "15/UBND-VP"
    assert data["subject"] == "Về việc triển khai chữ ký số"
    assert data["document_id"].startswith("000.05.12.H26,")
    assert data["document_id"].endswith(",15/UBND-VP")


def test_new_with_zip_attaches_each_file_zipped(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "new.edxml"
    assert _new(capsys, out, files, "--zip") == 0
    _, data = run_json(capsys, "inspect", out, "--json")
    assert [a["name"] for a in data["attachments"]] == [f.name for f in files]
    assert [a["zipped"] for a in data["attachments"]] == [True, True]
    assert [a["content_type"] for a in data["attachments"]] == ["application/zip"] * 2


def test_new_without_zip_attaches_the_files_as_they_are(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "new.edxml"
    assert _new(capsys, out, files) == 0
    _, data = run_json(capsys, "inspect", out, "--json")
    assert [a["zipped"] for a in data["attachments"]] == [False, False]
    assert [(a["size"], a["sha256"]) for a in data["attachments"]] == [
        (len(f.read_bytes()), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
    ]
    assert [a["content_type"] for a in data["attachments"]] == ["application/pdf", "text/plain"]


def test_new_takes_its_metadata_from_a_yaml_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(
        "sender: 000.05.12.H26\n"
        "to:\n  - 000.00.12.H26\n  - 000.00.00.H26\n"
        "number: 16\n"
        "notation: UBND-VP\n"
        "subject: Về việc báo cáo tháng\n"
        "date: 2026/11/20\n"
        "priority: 2\n",
        encoding="utf-8",
    )
    out = tmp_path / "new.edxml"
    assert run(capsys, "new", "--metadata", meta, "-o", out)[0] == 0
    packet = parse(out)
    assert isinstance(packet, DocumentPacket)
    assert packet.document_id == "000.05.12.H26,2026/11/20,16/UBND-VP"
    assert packet.recipients == ("000.00.12.H26", "000.00.00.H26")
    assert packet.header.subject == "Về việc báo cáo tháng"
    assert packet.header.other_info is not None
    assert packet.header.other_info.priority_level == 2


def test_new_takes_its_metadata_from_a_json_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "sender": "000.05.12.H26",
                "to": "000.00.12.H26",
                "number": "17",
                "notation": "UBND-VP",
                "subject": "Về việc họp giao ban",
                "date": "2026/11/20",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    out = tmp_path / "new.edxml"
    assert run(capsys, "new", "--metadata", meta, "-o", out)[0] == 0
    packet = parse(out)
    assert packet.document_id == "000.05.12.H26,2026/11/20,17/UBND-VP"
    assert packet.recipients == ("000.00.12.H26",)


def test_new_options_override_the_metadata_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        '{"sender": "000.05.12.H26", "to": ["000.00.12.H26"], "number": "1",'
        ' "notation": "UBND-VP", "subject": "cũ", "date": "2026/11/20"}',
        encoding="utf-8",
    )
    out = tmp_path / "new.edxml"
    args = ("new", "--metadata", meta, "--subject", "mới", "--number", "2", "-o", out)
    assert run(capsys, *args)[0] == 0
    packet = parse(out)
    assert isinstance(packet, DocumentPacket)
    assert packet.header.subject == "mới"
    assert packet.document_id == "000.05.12.H26,2026/11/20,2/UBND-VP"


def test_new_accepts_an_unquoted_iso_date_in_yaml_metadata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(
        "sender: 000.05.12.H26\nto: [000.00.12.H26]\nnumber: 18\nnotation: UBND-VP\n"
        "subject: Về việc thử\ndate: 2026-11-20\n",
        encoding="utf-8",
    )
    out = tmp_path / "new.edxml"
    assert run(capsys, "new", "--metadata", meta, "-o", out)[0] == 0
    assert parse(out).document_id == "000.05.12.H26,2026/11/20,18/UBND-VP"


def test_new_without_required_metadata_exits_2_naming_what_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "new", "--to", "000.00.12.H26", "-o", tmp_path / "x.edxml")
    assert code == 2
    for name in ("sender", "number", "notation", "subject"):
        assert name in err


def test_new_with_a_missing_attachment_exits_2(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "new.edxml"
    code = _new(capsys, out, (files[0], tmp_path / "absent.pdf"))
    assert code == 2
    assert not out.exists()


# -- status -----------------------------------------------------------------------------------


def test_status_answers_the_document_it_is_given(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "status.edxml"
    assert run(capsys, "status", document, "--code", "03", "-o", out)[0] == 0
    status = parse(out)
    assert isinstance(status, StatusPacket)
    assert status.status_code == "03"
    assert status.header.response_for.document_id == "000.05.12.H26,2026/11/20,15/UBND-VP"
    assert status.header.response_for.organ_id == "000.05.12.H26"
    assert status.sender == "000.00.12.H26"


def test_status_inspects_as_a_status_for_the_document(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "status.edxml"
    run(capsys, "status", document, "--code", "03", "-o", out)
    code, data = run_json(capsys, "inspect", out, "--json")
    assert code == 0
    assert data["kind"] == "status"
    assert data["document_id"] == "000.05.12.H26,2026/11/20,15/UBND-VP"
    assert data["to"] == ["000.05.12.H26"]
    assert data["status_code"] == "03"
    assert data["valid"] is True


def test_status_from_another_reporter(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "status.edxml"
    args = ("status", document, "--code", "01", "--from", "000.00.00.H26", "-o", out)
    assert run(capsys, *args)[0] == 0
    assert parse(out).sender == "000.00.00.H26"


@pytest.mark.parametrize("bad", ["3", "003", "ab", ""])
def test_status_with_a_malformed_code_fails_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path, bad: str
) -> None:
    out = tmp_path / "status.edxml"
    code, _, err = run(capsys, "status", document, "--code", bad, "-o", out)
    assert code != 0
    assert "status code" in err
    assert repr(bad) in err
    assert not out.exists()


def test_status_with_a_code_no_flow_defines_fails(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "status.edxml"
    code, _, err = run(capsys, "status", document, "--code", "99", "-o", out)
    assert code != 0
    assert "99" in err


def test_status_of_a_status_packet_exits_2(
    capsys: pytest.CaptureFixture[str], document: Path, tmp_path: Path
) -> None:
    first = tmp_path / "status.edxml"
    run(capsys, "status", document, "--code", "03", "-o", first)
    code, _, err = run(capsys, "status", first, "--code", "03", "-o", tmp_path / "again.edxml")
    assert code == 2
    assert "status packet" in err


# -- the installed console script -----------------------------------------------------------


def _console_script() -> str:
    found = shutil.which("edxml", path=str(Path(sys.executable).parent))
    assert found is not None, "the edxml console script is not installed beside the interpreter"
    return found


def test_console_script_prints_one_json_object_for_inspect(document: Path) -> None:
    done = subprocess.run(
        [_console_script(), "inspect", str(document), "--json"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout.decode("utf-8"))
    assert list(data) == JSON_FIELDS
    assert data["subject"] == "Về việc triển khai chữ ký số chuyên dùng"


def test_console_script_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [_console_script(), "validate", str(tmp_path / "nowhere.edxml")],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert b"nowhere.edxml" in done.stderr
