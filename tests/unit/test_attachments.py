"""Attachments: decoded size and hash, zip detected from bytes, streaming and extraction."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from edxml.attachments import (
    Base64Decoder,
    extract_inner,
    folder_opener,
    safe_filename,
    zip_members,
)
from edxml.compose import FileToAttach
from edxml.errors import AttachmentError
from edxml.models import DocumentPacket
from edxml.reader import parse
from tests.unit.packets import document, edit

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def _read(files: tuple[FileToAttach, ...]) -> DocumentPacket:
    packet = parse(document(files)[1])
    assert isinstance(packet, DocumentPacket)
    return packet


def test_size_and_sha256_are_of_the_decoded_bytes() -> None:
    (attachment,) = _read((FileToAttach(PDF, name="a.pdf"),)).attachments
    assert attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()


def test_raw_pdf_is_not_zipped() -> None:
    (attachment,) = _read((FileToAttach(PDF, name="a.pdf"),)).attachments
    assert attachment.zipped is False
    assert attachment.content_type == "application/pdf"


def test_zip_is_detected_from_bytes_whatever_the_declared_type() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("quyet-dinh.doc", b"doc body")
    item = FileToAttach(buffer.getvalue(), name="quyet-dinh.doc", content_type="application/msword")
    (attachment,) = _read((item,)).attachments
    assert attachment.content_type == "application/msword"
    assert attachment.zipped is True


def test_base64_split_across_lines_and_chunks_decodes() -> None:
    encoded = "JVBE\nRi0x\r\nLjcg dGVz\tdA=="
    decoder = Base64Decoder()
    for piece in (encoded[:3], encoded[3:11], encoded[11:]):
        decoder.feed(piece)
    decoder.close()
    assert decoder.size == len(b"%PDF-1.7 test")
    assert decoder.sha256 == hashlib.sha256(b"%PDF-1.7 test").hexdigest()


def test_missing_padding_is_tolerated() -> None:
    decoder = Base64Decoder()
    decoder.feed("JVBERi0xLjcgdGVzdA")
    decoder.close()
    assert decoder.size == 13
    assert decoder.padding_added


def test_invalid_base64_is_refused_naming_the_element() -> None:
    data = edit(document((FileToAttach(PDF, name="a.pdf"),))[1], "JVBER", "JV*ER")
    with pytest.raises(AttachmentError) as caught:
        parse(data)
    assert caught.value.code == "attachment.bad-base64"
    assert caught.value.element == "ContentTransferEncoded"
    assert caught.value.line is not None


def test_attachments_stream_to_files(tmp_path: Path) -> None:
    files = (FileToAttach(PDF, name="a.pdf"), FileToAttach(b"second", name="../../b.txt"))
    parse(document(files)[1], opener=folder_opener(tmp_path))
    assert (tmp_path / "a.pdf").read_bytes() == PDF
    assert (tmp_path / "b.txt").read_bytes() == b"second"


def test_file_names_from_packets_cannot_escape_the_folder() -> None:
    assert safe_filename("../../etc/passwd", 0) == "passwd"
    assert safe_filename("C:\\temp\\x.pdf", 0) == "x.pdf"
    assert safe_filename("..", 2) == "attachment-3"


def test_inner_file_of_a_zip_is_extracted() -> None:
    (attachment,) = _read((FileToAttach(PDF, name="to-trinh.pdf", zip=True),)).attachments
    assert attachment.zipped is True
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("to-trinh.pdf", PDF)
    out = io.BytesIO()
    assert extract_inner(io.BytesIO(buffer.getvalue()), out) == "to-trinh.pdf"
    assert out.getvalue() == PDF


def _zip_with_its_directory_moved(shift: int) -> bytes:
    """A zip whose end record says its central directory starts ``shift`` bytes later than
    it does: zipfile then seeks to a negative offset (found by fuzzing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", PDF)
    data = bytearray(buffer.getvalue())
    end = data.rindex(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little") + shift
    data[end + 16 : end + 20] = offset.to_bytes(4, "little")
    return bytes(data)


def test_extracting_from_a_zip_with_a_bad_offset_is_a_bad_zip_error() -> None:
    with pytest.raises(AttachmentError) as caught:
        extract_inner(io.BytesIO(_zip_with_its_directory_moved(100_000)), io.BytesIO())
    assert caught.value.code == "attachment.bad-zip"
    assert isinstance(caught.value.__cause__, ValueError)


def test_extracting_a_member_compressed_by_an_unknown_method_is_a_bad_zip_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", PDF)
    data = bytearray(buffer.getvalue())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.index(header)
        method = at + (8 if header == b"PK\x03\x04" else 10)
        data[method : method + 2] = (99).to_bytes(2, "little")
    with pytest.raises(AttachmentError) as caught:
        extract_inner(io.BytesIO(bytes(data)), io.BytesIO())
    assert caught.value.code == "attachment.bad-zip"


def test_a_zip_member_without_a_name_is_a_bad_zip_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x", PDF)
    data = bytearray(buffer.getvalue())
    for header, length_at, name_at in ((b"PK\x03\x04", 26, 30), (b"PK\x01\x02", 28, 46)):
        at = data.index(header)
        data[at + length_at : at + length_at + 2] = (0).to_bytes(2, "little")
        del data[at + name_at]
    end = data.rindex(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little") - 1
    data[end + 16 : end + 20] = offset.to_bytes(4, "little")
    size = int.from_bytes(data[end + 12 : end + 16], "little") - 1
    data[end + 12 : end + 16] = size.to_bytes(4, "little")
    for read in (lambda: zip_members(io.BytesIO(bytes(data))),
                 lambda: extract_inner(io.BytesIO(bytes(data)), io.BytesIO())):  # fmt: skip
        with pytest.raises(AttachmentError) as caught:
            read()
        assert caught.value.code == "attachment.bad-zip"


def test_an_error_writing_the_extracted_file_is_the_callers() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", PDF)

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        extract_inner(io.BytesIO(buffer.getvalue()), Full())  # type: ignore[arg-type]


def test_extracting_from_a_non_zip_is_a_clear_error() -> None:
    with pytest.raises(AttachmentError) as caught:
        extract_inner(io.BytesIO(PDF), io.BytesIO())
    assert caught.value.code == "attachment.bad-zip"


@pytest.mark.parametrize("path", ["whole", "streamed"])
def test_attachment_text_split_by_a_child_element_is_decoded_whole_on_both_paths(
    path: str,
) -> None:
    data = document((FileToAttach(PDF, name="a.pdf"),))[1]
    start = data.index(b">", data.index(b"<edXML:ContentTransferEncoded")) + 1
    split = data[: start + 8] + b"<x/>" + data[start + 8 :]
    packet = parse(split if path == "whole" else io.BytesIO(split))
    assert isinstance(packet, DocumentPacket)
    assert packet.attachments[0].size == len(PDF)
    bad = data[: start + 8] + b"<x/>@@@@" + data[start + 8 :]
    with pytest.raises(AttachmentError) as caught:
        parse(bad if path == "whole" else io.BytesIO(bad))
    assert caught.value.code == "attachment.bad-base64"


@pytest.mark.parametrize("path", ["whole", "streamed"])
def test_attachment_content_inside_attachment_content_is_refused_on_both_paths(
    path: str,
) -> None:
    data = document((FileToAttach(PDF, name="a.pdf"),))[1]
    start = data.index(b">", data.index(b"<edXML:ContentTransferEncoded")) + 1
    inner = b"<edXML:ContentTransferEncoded>QUJD</edXML:ContentTransferEncoded>"
    nested = data[: start + 8] + inner + data[start + 8 :]
    with pytest.raises(AttachmentError) as caught:
        parse(nested if path == "whole" else io.BytesIO(nested))
    assert caught.value.code == "attachment.nested"
    assert caught.value.line == data[:start].count(b"\n") + 1
