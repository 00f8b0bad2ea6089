"""Packets between agencies of the Hà Nội sample directory, built with edxml's own builder."""

from __future__ import annotations

import datetime as dt
import itertools

from edxml import DocumentPacket, Organization, StatusPacket, build, new_document, status_for
from edxml.compose import FileToAttach
from edxml.models import Business, BusinessDocumentInfo, ReplacementInfo, ResponseFor

WARD = "000.21.22.H26"
"""Phường of quận Đống Đa (inbox)."""
DISTRICT = "000.00.22.H26"
"""UBND quận Đống Đa (inbox)."""
DISTRICT_OFFICE = "000.01.22.H26"
"""Văn phòng of quận Đống Đa: may send for the district."""
CITY = "000.00.00.H26"
"""UBND Thành phố Hà Nội (webhook)."""
DEPARTMENT = "000.00.02.H26"
"""Sở Nội vụ (webhook)."""
OTHER_WARD = "000.22.22.H26"
MINISTRY = "000.00.00.G22"
"""Văn phòng Chính phủ, behind the national axis."""

_numbers = itertools.count(100)
_BASE_TIME = dt.datetime(2026, 11, 20, 8, 0, 0)


def document(
    sender: str = WARD,
    recipients: tuple[str, ...] = (DISTRICT, CITY, DEPARTMENT),
    *,
    number: str | None = None,
    document_id: str | None = None,
    business: Business | None = None,
    subject: str = "Về việc triển khai chữ ký số chuyên dùng",
) -> tuple[DocumentPacket, bytes]:
    """A document and its bytes; each call makes a different packet unless told otherwise."""
    packet, contents = new_document(
        sender=Organization(organ_id=sender),
        recipients=[Organization(organ_id=code) for code in recipients],
        number=number or str(next(_numbers)),
        notation="UBND-VP",
        subject=subject,
        document_id=document_id,
        date=dt.date(2026, 11, 20),
        place="Hà Nội",
        business=business,
        files=(FileToAttach(b"%PDF-1.7 test", name="vanban.pdf"),),
        timestamp=_BASE_TIME,
    )
    return packet, build(packet, contents)


def status(of: DocumentPacket, code: str, reporter: str | None = None, *, minute: int = 0) -> bytes:
    """A status about ``of`` from ``reporter`` (default: its first recipient)."""
    return build(
        status_for(
            of,
            code,
            reporter=Organization(organ_id=reporter) if reporter else None,
            timestamp=_BASE_TIME + dt.timedelta(hours=1, minutes=minute),
        )
    )


def take_back(of: DocumentPacket, recipient: str) -> bytes:
    """Status 13: the sender of ``of`` asks ``recipient`` to give it back."""
    packet = status_for(
        of, "13", reporter=of.header.from_, timestamp=_BASE_TIME + dt.timedelta(hours=2)
    )
    answered = packet.header.response_for
    header = packet.header.model_copy(
        update={"response_for": ResponseFor(
            organ_id=recipient,
            code=answered.code,
            promulgation_date=answered.promulgation_date,
            document_id=answered.document_id,
        )}
    )  # fmt: skip
    return build(StatusPacket(header=header))


def revoke(of: DocumentPacket) -> bytes:
    """Business type 1 for ``of``: same DocumentId, to the same recipients."""
    return document(
        of.sender,
        of.recipients,
        document_id=of.document_id,
        business=Business(
            business_doc_type="1", business_doc_reason="Thu hồi văn bản ban hành nhầm", paper="0"
        ),
    )[1]


def update(of: DocumentPacket) -> bytes:
    """Business type 2 for ``of``."""
    return document(
        of.sender,
        of.recipients,
        document_id=of.document_id,
        business=Business(
            business_doc_type="2",
            business_doc_reason="Cập nhật trích yếu",
            paper="0",
            document_info=BusinessDocumentInfo(document_info="1", document_receiver="0"),
        ),
    )[1]


def replacement(of: DocumentPacket) -> tuple[DocumentPacket, bytes]:
    """Business type 3: a new document replacing ``of`` at all its recipients."""
    return document(
        of.sender,
        of.recipients,
        business=Business(
            business_doc_type="3",
            business_doc_reason="Văn bản thay thế",
            paper="0",
            replacements=(ReplacementInfo(document_id=of.document_id, organ_ids=of.recipients),),
        ),
    )
