"""Packets the tests build with the project's own code, and small text edits of them."""

from __future__ import annotations

import datetime as dt

from edxml.builder import build
from edxml.compose import FileToAttach, new_document, status_for
from edxml.models import DocumentPacket, Organization

SENDER = Organization(organ_id="000.05.12.H26", organ_name="UBND phường Văn Miếu")
RECIPIENTS = (
    Organization(organ_id="000.00.12.H26", organ_name="UBND quận Đống Đa"),
    Organization(organ_id="000.00.00.H26", organ_name="UBND thành phố Hà Nội"),
)


def document(files: tuple[FileToAttach, ...] = ()) -> tuple[DocumentPacket, bytes]:
    """A document from a ward to its district and the city, and its bytes."""
    packet, contents = new_document(
        sender=SENDER,
        recipients=RECIPIENTS,
        number="15",
        notation="UBND-VP",
        subject="Về việc triển khai chữ ký số chuyên dùng",
        date=dt.date(2026, 11, 20),
        place="Hà Nội",
        files=files,
        timestamp=dt.datetime(2026, 11, 20, 8, 30, 0),
    )
    return packet, build(packet, contents)


def document_bytes() -> bytes:
    """The bytes of :func:`document` with one small PDF attached."""
    return document((FileToAttach(b"%PDF-1.7 test", name="vanban.pdf"),))[1]


def status_bytes(code: str = "03") -> bytes:
    """A status packet answering :func:`document`."""
    packet, _ = document()
    return build(status_for(packet, code, timestamp=dt.datetime(2026, 11, 20, 9, 0, 0)))


def edit(data: bytes, old: str, new: str) -> bytes:
    """Replace one exact piece of text (which must be present) in a packet."""
    text = data.decode("utf-8")
    assert old in text, f"{old!r} not in packet"
    return text.replace(old, new, 1).encode("utf-8")
