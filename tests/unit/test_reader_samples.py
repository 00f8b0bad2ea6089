"""The public samples read into the right models."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from edxml.attachments import folder_opener
from edxml.models import DocumentPacket, StatusPacket
from edxml.reader import parse


def test_every_sample_parses_to_its_kind(sample_paths: list[Path]) -> None:
    assert len(sample_paths) == 13
    for path in sample_paths:
        packet = parse(path)
        expected = DocumentPacket if path.name.startswith("edoc_") else StatusPacket
        assert isinstance(packet, expected), path.name


def test_document_samples_carry_their_business_type(samples_dir: Path) -> None:
    types = {
        "edoc_new.edxml": 0,
        "edoc_revocation.edxml": 1,
        "edoc_update.edxml": 2,
        "edoc_replacement.edxml": 3,
    }
    for name, business_type in types.items():
        packet = parse(samples_dir / name)
        assert isinstance(packet, DocumentPacket)
        assert packet.business_type == business_type, name


def test_status_samples_carry_the_code_in_their_name(status_sample_paths: list[Path]) -> None:
    for path in status_sample_paths:
        packet = parse(path)
        assert isinstance(packet, StatusPacket)
        assert path.stem.endswith("_" + packet.status_code)
        assert packet.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"


def test_short_form_recipient_code_is_kept_as_written(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_new.edxml")
    assert isinstance(packet, DocumentPacket)
    assert packet.recipients == ("28.22.H17",)


def test_stray_bytes_before_the_declaration_are_skipped_with_a_warning(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_new.edxml")
    assert any("stray bytes" in warning for warning in packet.warnings)


def test_impossible_date_in_business_block_is_kept_as_text(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_update.edxml")
    assert isinstance(packet, DocumentPacket)
    assert packet.trace is not None
    assert packet.trace.business is not None
    assert packet.trace.business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"


def test_update_sample_lists_its_receivers(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_update.edxml")
    assert isinstance(packet, DocumentPacket)
    business = packet.trace.business if packet.trace else None
    assert business is not None
    assert business.document_info is not None
    receivers = business.document_info.receivers or ()
    assert [(r.organ_id, r.receiver_type) for r in receivers] == [
        ("000.00.00.H41", "0"),
        ("000.00.00.H14", "1"),
    ]


def test_replacement_sample_names_the_replaced_documents(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_replacement.edxml")
    assert isinstance(packet, DocumentPacket)
    business = packet.trace.business if packet.trace else None
    assert business is not None
    assert business.replacements is not None
    assert len(business.replacements) == 2
    assert business.replacements[0].organ_ids == ("000.00.00.H41", "000.00.00.H14")


def test_sample_attachment_is_detected_as_zip_and_hashed(samples_dir: Path, tmp_path: Path) -> None:
    packet = parse(samples_dir / "edoc_new.edxml", opener=folder_opener(tmp_path))
    assert isinstance(packet, DocumentPacket)
    (attachment,) = packet.attachments
    written = (tmp_path / "1896_QD-TTg_m_294779.doc").read_bytes()
    assert attachment.zipped is True
    assert attachment.size == len(written)
    assert attachment.sha256 == hashlib.sha256(written).hexdigest()
    assert zipfile.is_zipfile(io.BytesIO(written))


def test_legacy_signature_layout_is_recognised(samples_dir: Path) -> None:
    packet = parse(samples_dir / "edoc_new.edxml")
    assert packet.signature is not None
    assert packet.signature.layout == "legacy"
    assert packet.signature.subject_name == "CN=user05"
    assert packet.signature.signature_method == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
