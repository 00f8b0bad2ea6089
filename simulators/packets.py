"""Generated traffic: document and status packets between agencies, for tests and load.

Deterministic from a seed, so a scenario can be replayed byte for byte.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from edxml.builder import build
from edxml.compose import FileToAttach, new_document, status_for
from edxml.models import DocumentPacket

SUBJECTS = (
    "Về việc triển khai Kế hoạch số 201/KH-UBND",
    "Về việc tăng cường xử lý văn bản trên môi trường mạng",
    "Về việc sử dụng chữ ký số chuyên dùng",
    "Về việc báo cáo kết quả chuyển đổi số quý IV",
    "Về việc kết nối, liên thông phần mềm quản lý văn bản",
    "Về việc tổ chức hội nghị giao ban",
)
NOTATIONS = ("UBND-VP", "UBND-KSTTHC", "SNV-VP", "STTTT-CNTT", "VP-HC")


@dataclass(frozen=True)
class GeneratedDocument:
    """A generated document packet: its model and bytes."""

    packet: DocumentPacket
    data: bytes


def documents(
    agencies: Sequence[str],
    count: int,
    *,
    seed: int = 1,
    attachment_bytes: int = 12_000,
    max_recipients: int = 3,
    day: dt.date | None = None,
) -> Iterator[GeneratedDocument]:
    """``count`` new-document packets between random pairs of ``agencies``."""
    if len(agencies) < 2:
        raise ValueError("at least two agencies are needed to exchange documents")
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not secrets
    issued = day or dt.date(2026, 11, 20)
    for number in range(1, count + 1):
        sender = rng.choice(agencies)
        others = [code for code in agencies if code != sender]
        recipients = rng.sample(others, k=min(len(others), rng.randint(1, max_recipients)))
        payload = b"%PDF-1.7\n" + rng.randbytes(max(0, attachment_bytes - 9))
        packet, contents = new_document(
            sender=sender,
            recipients=recipients,
            number=str(number),
            notation=rng.choice(NOTATIONS),
            subject=rng.choice(SUBJECTS),
            date=issued,
            place="Hà Nội",
            files=[FileToAttach(payload, name=f"van-ban-{number}.pdf")],
            timestamp=dt.datetime.combine(issued, dt.time(8, 0)) + dt.timedelta(seconds=number),
        )
        yield GeneratedDocument(packet, build(packet, contents))


def statuses(document: DocumentPacket, codes: Sequence[str] = ("01", "03")) -> Iterator[bytes]:
    """Status packets from every recipient of ``document``, one per code."""
    for recipient in document.header.to:
        for code in codes:
            yield build(status_for(document, code, reporter=recipient))
