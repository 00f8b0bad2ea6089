"""The simulated axis's answers, written so that the official SDK can read every one of them.

The SDK reads fields with gson's ``getAsString()`` and loses the whole answer on a missing
field, a JSON null or an array (AXIS-SDK.md), so every field written here is a string and
present: ``status``/``ErrorCode``/``ErrorDesc`` on every answer, ``DocId`` on every
``sendEdoc`` answer (empty when nothing was accepted), one received item per receiving agency
code (``to`` a single code), sent items in the SDK's field names, agencies with ``pid``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.axis.protocol import AXIS_TZ
from simulators.axis.store import QueueEntry, QueueState, Transmission
from simulators.axis.systems import SimAgency

__all__ = [
    "STATE_DESCRIPTIONS",
    "agency_item",
    "axis_time",
    "fail_answer",
    "ok_answer",
    "received_items",
    "sent_items",
]

OK_DESC = "Thành công"
STATE_DESCRIPTIONS: dict[QueueState, str] = {
    "pending": "Chưa nhận",
    "processing": "Đang xử lý",
    "done": "Đã nhận",
    "fail": "Nhận lỗi",
}
"""``status_desc``/``receiveStatusDesc`` of each queue state."""
SEND_STATUS = "done"
SEND_STATUS_DESC = "Đã gửi lên trục"


def axis_time(moment: dt.datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss`` on the axis's clock."""
    return moment.astimezone(AXIS_TZ).strftime("%Y/%m/%d %H:%M:%S")


def ok_answer(*, doc_id: str | None = None, data: Any = None) -> dict[str, Any]:
    """An OK answer; ``DocId`` and ``data`` when given."""
    answer: dict[str, Any] = {"status": "OK", "ErrorCode": "0", "ErrorDesc": OK_DESC}
    if doc_id is not None:
        answer["DocId"] = doc_id
    if data is not None:
        answer["data"] = data
    return answer


def fail_answer(error_code: str, error_desc: str, *, doc_id: str | None = None) -> dict[str, Any]:
    """A FAIL answer; ``doc_id`` is ``""`` for ``sendEdoc``, whose answer always has one."""
    answer = {"status": "FAIL", "ErrorCode": str(error_code), "ErrorDesc": error_desc}
    if doc_id is not None:
        answer["DocId"] = doc_id
    return answer


def received_items(entry: QueueEntry, service_type: str) -> list[dict[str, str]]:
    """The ``getReceivedEdocList`` items of a queue entry: one per agency code it is for."""
    t = entry.transmission
    return [
        {
            "docId": t.doc_id,
            "serviceType": service_type,
            "messageType": t.message_type,
            "created_time": t.created_time,
            "updated_time": axis_time(entry.updated),
            "from": t.sender,
            "to": code,
            "status": entry.state,
            "status_desc": STATE_DESCRIPTIONS[entry.state],
        }
        for code in entry.recipients or ("",)
    ]


def sent_items(
    transmission: Transmission, entries: list[QueueEntry], service_type: str
) -> list[dict[str, str]]:
    """The ``getSentEdocList`` items of a sent packet: one per receiving agency code."""
    t = transmission
    return [
        {
            "senderDocId": t.doc_id,
            "receiverDocId": t.doc_id,
            "fromCode": t.sender,
            "toCode": code,
            "sendStatus": SEND_STATUS,
            "sendStatusDesc": SEND_STATUS_DESC,
            "receiveStatus": entry.state,
            "receiveStatusDesc": STATE_DESCRIPTIONS[entry.state],
            "serviceType": service_type,
            "messageType": t.message_type,
            "title": t.title,
            "notation": t.notation,
            "sentTime": t.created_time,
            "receivedTime": axis_time(entry.updated) if entry.state == "done" else "",
        }
        for entry in entries
        for code in entry.recipients or ("",)
    ]


def agency_item(agency: SimAgency) -> dict[str, str]:
    """A ``getAgenciesList`` item: the parent agency's code as ``pid`` (empty for none)."""
    return {"code": agency.code, "name": agency.name or "", "pid": agency.parent_code or ""}
