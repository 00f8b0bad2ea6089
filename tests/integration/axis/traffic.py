"""Packets between the city and the ministries behind the axis, built with the edxml library."""

from __future__ import annotations

import datetime as dt

import edxml
from edxml.models import DocumentPacket

CITY = "000.00.00.H26"
DISTRICT = "000.00.12.H26"
GOVERNMENT_OFFICE = "000.00.00.G22"
JUSTICE = "000.00.00.G06"
NOWHERE = "000.00.00.G99"


def document(
    sender: str = CITY, recipients: tuple[str, ...] = (GOVERNMENT_OFFICE,), number: str = "15"
) -> tuple[DocumentPacket, bytes]:
    """A new document and its bytes, with a small PDF attached."""
    packet, contents = edxml.new_document(
        sender=sender,
        recipients=recipients,
        number=number,
        notation="UBND-VP",
        subject="Về việc kết nối, liên thông phần mềm quản lý văn bản",
        date=dt.date(2026, 11, 20),
        place="Hà Nội",
        files=[edxml.FileToAttach(b"%PDF-1.7 axis test", name="van-ban.pdf")],
        timestamp=dt.datetime(2026, 11, 20, 8, 30, 0),
    )
    return packet, edxml.build(packet, contents)


def status(document: DocumentPacket, code: str, reporter: str) -> bytes:
    """A status packet from ``reporter`` answering ``document``."""
    return edxml.build(
        edxml.status_for(
            document, code, reporter=reporter, timestamp=dt.datetime(2026, 11, 20, 9, 0, 0)
        )
    )
