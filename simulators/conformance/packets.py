"""The packets the kit sends: sample-like documents, their changes, a take-back, and probes.

Built with :mod:`edxml.compose` like the public samples (full From organisation, signer,
place, due date, a PDF and a zipped ``.doc`` attachment), with numbers drawn per run so a
system that keeps what it received never sees the same DocumentId from an earlier run.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import edxml
from edxml.compose import FileToAttach, new_document, now_local
from edxml.models import (
    Business,
    BusinessDocumentInfo,
    DocumentPacket,
    Organization,
    ReplacementInfo,
    SignerInfo,
    StaffInfo,
    StatusPacket,
)
from hub.ids import new_id
from simulators.conformance.checks import Offered, Purpose

__all__ = [
    "NOTATION",
    "KitDocument",
    "KitPacket",
    "KitStatus",
    "corrupt",
    "flow_documents",
    "kit_documents",
    "truncated",
]

NOTATION = "UBND-KTLT"
"""CodeNotation of the kit's documents (kiểm tra liên thông)."""

_PDF = (
    b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Phụ lục kèm theo công văn".encode() * 40

_SUBJECTS = {
    "new-1": "Về việc kiểm tra kết nối liên thông văn bản điện tử",
    "new-2": "Về việc triển khai Kế hoạch số 201/KH-UBND (văn bản sẽ bị thu hồi)",
    "new-3": "Về việc báo cáo kết quả chuyển đổi số quý IV (văn bản sẽ được cập nhật)",
    "probe-signature": "Văn bản thử: chữ ký HMAC sai, không được tiếp nhận",
    "probe-timestamp": "Văn bản thử: dấu thời gian quá hạn, không được tiếp nhận",
    "probe-unsigned": "Văn bản thử: không có chữ ký, không được tiếp nhận",
    "probe-integrity": "Văn bản thử: nội dung bị thay đổi khi truyền",
    "new-4": "Về việc rà soát danh mục hồ sơ lưu trữ năm 2025 (văn bản sẽ bị lấy lại)",
    "new-5": "Về việc tổ chức hội nghị giao ban quý I (văn bản sẽ được thay thế)",
    "replace": "Về việc tổ chức hội nghị giao ban quý I (thay thế văn bản đã gửi)",
}


@dataclass(frozen=True)
class KitDocument:
    """A document packet the kit offers: its model, bytes and the hub ids it travels with."""

    key: str
    purpose: Purpose
    packet: DocumentPacket
    data: bytes
    delivery_id: str
    packet_id: str

    @property
    def kind(self) -> str:
        """``edoc``: what ``X-Lienthong-Kind`` says of it."""
        return self.packet.kind

    @property
    def status_code(self) -> str | None:
        """None: a document packet has no status code."""
        return None

    def offered(self, at: float) -> Offered:
        """What the checks need to know of it, offered at ``at`` seconds into the run."""
        header = self.packet.header
        return Offered(
            key=self.key,
            purpose=self.purpose,
            document_id=header.document_id,
            code=header.code.display if header.code else None,
            promulgation_date=(
                header.promulgation_info.promulgation_date if header.promulgation_info else None
            ),
            sender=self.packet.sender,
            delivery_id=self.delivery_id,
            at=at,
        )


@dataclass(frozen=True)
class KitStatus:
    """A status packet the kit offers as the document's sender would (the take-back, 13)."""

    key: str
    purpose: Purpose
    packet: StatusPacket
    data: bytes
    delivery_id: str
    packet_id: str

    @property
    def kind(self) -> str:
        """``status``: what ``X-Lienthong-Kind`` says of it."""
        return self.packet.kind

    @property
    def status_code(self) -> str | None:
        """Its ``StatusCode``."""
        return self.packet.header.status_code

    def offered(self, at: float) -> Offered:
        """What the checks need to know of it: the document it is about, and who answers it."""
        about = self.packet.header.response_for
        return Offered(
            key=self.key,
            purpose=self.purpose,
            document_id=self.packet.document_id,
            code=about.code,
            promulgation_date=about.promulgation_date,
            sender=self.packet.sender,
            delivery_id=self.delivery_id,
            at=at,
        )


KitPacket = KitDocument | KitStatus
"""Anything the kit hands to the system under test."""


def _sender(code: str) -> Organization:
    return Organization(
        organ_id=code,
        organization_in_charge="Văn phòng Ủy ban nhân dân thành phố",
        organ_name="Trục liên thông văn bản thành phố (bộ kiểm tra tuân thủ)",
        organ_add="Số 12 Lê Lai, Hoàn Kiếm, Hà Nội",
        email="lienthong@example.invalid",
        telephone="024 3825 3536",
        website="lienthong.example.invalid",
    )


def _files(zipped_doc: bool) -> list[FileToAttach]:
    files = [FileToAttach(_PDF, name="cong-van.pdf", description="Công văn (bản điện tử)")]
    if zipped_doc:
        files.append(FileToAttach(_DOC, name="phu-luc.doc", description="Phụ lục", zip=True))
    return files


def _document(
    key: str,
    purpose: Purpose,
    sender: str,
    agency: str,
    number: str,
    *,
    issued: dt.date,
    business: Business | None = None,
    document_id: str | None = None,
    subject: str | None = None,
) -> KitDocument:
    packet, contents = new_document(
        sender=_sender(sender),
        recipients=[agency],
        number=number,
        notation=NOTATION,
        subject=subject or _SUBJECTS[key],
        document_id=document_id,
        date=issued,
        place="Hà Nội",
        content="Văn bản do bộ kiểm tra tuân thủ (lienthong-sim conformance) gửi.",
        signer=SignerInfo(
            competence="KT. CHỦ TỊCH", position="Phó Chủ tịch", full_name="Nguyễn Văn An"
        ),
        due_date=issued + dt.timedelta(days=7),
        business=business,
        staff=StaffInfo(department="Văn phòng", staff="Trần Thị Bình"),
        files=_files(zipped_doc=key == "new-1"),
    )
    return KitDocument(key, purpose, packet, edxml.build(packet, contents), new_id(), new_id())


def kit_documents(sender: str, agency: str, *, base: int | None = None) -> dict[str, KitDocument]:
    """Every packet of one run, by key: three new documents, a revoke, an update and probes.

    ``new-1`` is delivered twice (the redelivery check), ``new-2`` is revoked, ``new-3``
    updated; the ``probe-*`` documents are the forged and altered deliveries.
    """
    first = base if base is not None else 100_000 + secrets.randbelow(800_000)
    issued = now_local().date()
    keys = ("new-1", "new-2", "new-3", "probe-signature", "probe-timestamp", "probe-unsigned")
    docs: dict[str, KitDocument] = {}
    for offset, key in enumerate((*keys, "probe-integrity")):
        purpose: Purpose = "new" if key.startswith("new-") else "probe"
        docs[key] = _document(key, purpose, sender, agency, str(first + offset), issued=issued)
    revoked = docs["new-2"].packet
    docs["revoke"] = _document(
        "revoke",
        "revoke",
        sender,
        agency,
        (revoked.header.code.code_number if revoked.header.code else None) or str(first + 1),
        issued=issued,
        document_id=revoked.document_id,
        subject=revoked.header.subject,
        business=Business(
            business_doc_type="1",
            business_doc_reason="Thu hồi văn bản để kiểm tra phản hồi thu hồi",
            paper="0",
        ),
    )
    updated = docs["new-3"].packet
    docs["update"] = _document(
        "update",
        "update",
        sender,
        agency,
        (updated.header.code.code_number if updated.header.code else None) or str(first + 2),
        issued=issued,
        document_id=updated.document_id,
        subject=(updated.header.subject or "") + " (cập nhật)",
        business=Business(
            business_doc_type="2",
            business_doc_reason="Cập nhật trích yếu văn bản",
            paper="0",
            document_info=BusinessDocumentInfo(document_info="1", document_receiver="0"),
        ),
    )
    return docs


def flow_documents(sender: str, agency: str, docs: dict[str, KitDocument]) -> dict[str, KitPacket]:
    """The take-back and replacement flows of a run, numbered after ``docs``.

    ``new-4`` is taken back (status 13 from the sender, ``take-back``) and ``new-5`` replaced
    (business type 3, a new DocumentId naming the old one, ``replace``).
    """
    numbers = [
        (doc.packet.header.code.code_number or "") if doc.packet.header.code else ""
        for doc in docs.values()
    ]
    first = max((int(number) for number in numbers if number.isdigit()), default=100_000) + 1
    issued = now_local().date()
    taken_back = _document("new-4", "new", sender, agency, str(first), issued=issued)
    replaced = _document("new-5", "new", sender, agency, str(first + 1), issued=issued)
    status = edxml.status_for(
        taken_back.packet,
        "13",
        reporter=_sender(sender),
        description="Đề nghị lấy lại văn bản để kiểm tra phản hồi lấy lại",
        staff=StaffInfo(department="Văn phòng", staff="Trần Thị Bình"),
    )
    about = status.header.response_for.model_copy(update={"organ_id": agency})
    status = status.model_copy(
        update={"header": status.header.model_copy(update={"response_for": about})}
    )
    replacement = _document(
        "replace",
        "replace",
        sender,
        agency,
        str(first + 2),
        issued=issued,
        business=Business(
            business_doc_type="3",
            business_doc_reason="Thay thế văn bản để kiểm tra phản hồi thay thế",
            paper="0",
            replacements=(
                ReplacementInfo(document_id=replaced.packet.document_id, organ_ids=(agency,)),
            ),
        ),
    )
    take_back = KitStatus("take-back", "take-back", status, edxml.build(status), new_id(), new_id())
    return {"new-4": taken_back, "new-5": replaced, "take-back": take_back, "replace": replacement}


def corrupt(data: bytes) -> bytes:
    """``data`` with one character of the first attachment's base64 changed (still XML)."""
    start = data.find(b"ContentTransferEncoded")
    opened = data.find(b">", start) if start >= 0 else -1
    position = opened + 9 if opened >= 0 else len(data) // 2
    if position >= len(data) or not data[position : position + 1].isalnum():
        position = len(data) // 2
    replacement = b"B" if data[position : position + 1] != b"B" else b"C"
    return data[:position] + replacement + data[position + 1 :]


def truncated(data: bytes) -> bytes:
    """The first half of ``data``: no longer readable as XML (the VXP mode's unreadable probe)."""
    return data[: len(data) // 2]
