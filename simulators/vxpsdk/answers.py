"""What the SDK hands its integrator after each call, read from the answer as the SDK reads it.

Every reader takes the decoded JSON and returns a typed result, or raises
:class:`~simulators.vxpsdk.gson.GsonReadError` where the SDK would throw (and hand its caller
``null``): AXIS-SDK.md, "Answers the SDK can read". ``status``, ``ErrorCode`` and ``ErrorDesc``
are read from every answer; ``DocId`` from every ``sendEdoc`` answer, FAIL included; ``data``
and the items only from an OK answer. Every item field is read with ``getAsString()``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict

from simulators.vxpsdk.gson import GsonReadError, get_array, get_as_string

__all__ = [
    "SdkAgency",
    "SdkAgencyList",
    "SdkEdoc",
    "SdkReceivedEdoc",
    "SdkReceivedList",
    "SdkResult",
    "SdkSendResult",
    "SdkSentEdoc",
    "SdkSentList",
    "read_agencies",
    "read_edoc",
    "read_received",
    "read_result",
    "read_send",
    "read_sent",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SdkResult(_Frozen):
    """The three fields every answer carries."""

    status: str
    error_code: str
    error_desc: str

    @property
    def ok(self) -> bool:
        """Whether the axis answered ``status: OK``."""
        return self.status == "OK"


class SdkSendResult(SdkResult):
    """A ``sendEdoc`` answer: ``doc_id`` is empty when nothing was accepted."""

    doc_id: str


class SdkEdoc(SdkResult):
    """A ``getEdoc`` answer: the packet's bytes when OK."""

    data: bytes | None = None


class SdkReceivedEdoc(_Frozen):
    """One ``getReceivedEdocList`` item (one receiving agency code)."""

    doc_id: str
    service_type: str
    message_type: str
    created_time: str
    updated_time: str
    from_code: str
    to_code: str
    status: str
    status_desc: str


class SdkReceivedList(SdkResult):
    """A ``getReceivedEdocList`` answer."""

    items: tuple[SdkReceivedEdoc, ...] = ()


class SdkSentEdoc(_Frozen):
    """One ``getSentEdocList`` item (one receiver of a sent packet)."""

    sender_doc_id: str
    receiver_doc_id: str
    from_code: str
    to_code: str
    send_status: str
    send_status_desc: str
    receive_status: str
    receive_status_desc: str
    service_type: str
    message_type: str
    title: str
    notation: str
    sent_time: str
    received_time: str


class SdkSentList(SdkResult):
    """A ``getSentEdocList`` answer."""

    items: tuple[SdkSentEdoc, ...] = ()


class SdkAgency(_Frozen):
    """One ``getAgenciesList`` item; ``pid`` is the parent agency's code."""

    code: str
    name: str
    pid: str


class SdkAgencyList(SdkResult):
    """A ``getAgenciesList`` answer."""

    items: tuple[SdkAgency, ...] = ()


_RECEIVED_FIELDS = {
    "doc_id": "docId",
    "service_type": "serviceType",
    "message_type": "messageType",
    "created_time": "created_time",
    "updated_time": "updated_time",
    "from_code": "from",
    "to_code": "to",
    "status": "status",
    "status_desc": "status_desc",
}
_SENT_FIELDS = {
    "sender_doc_id": "senderDocId",
    "receiver_doc_id": "receiverDocId",
    "from_code": "fromCode",
    "to_code": "toCode",
    "send_status": "sendStatus",
    "send_status_desc": "sendStatusDesc",
    "receive_status": "receiveStatus",
    "receive_status_desc": "receiveStatusDesc",
    "service_type": "serviceType",
    "message_type": "messageType",
    "title": "title",
    "notation": "notation",
    "sent_time": "sentTime",
    "received_time": "receivedTime",
}
_AGENCY_FIELDS = {"code": "code", "name": "name", "pid": "pid"}
"""``pid`` is the SDK's; ``code`` and ``name`` are this emulator's reading of the rest."""


def _fields(payload: Any, names: dict[str, str]) -> dict[str, str]:
    return {attribute: get_as_string(payload, wire) for attribute, wire in names.items()}


def read_result(payload: Any) -> SdkResult:
    """``status``, ``ErrorCode``, ``ErrorDesc``."""
    return SdkResult(
        status=get_as_string(payload, "status"),
        error_code=get_as_string(payload, "ErrorCode"),
        error_desc=get_as_string(payload, "ErrorDesc"),
    )


def read_send(payload: Any) -> SdkSendResult:
    """A ``sendEdoc`` answer: ``DocId`` is read whatever the status."""
    head = read_result(payload)
    return SdkSendResult(**head.model_dump(), doc_id=get_as_string(payload, "DocId"))


def read_edoc(payload: Any) -> SdkEdoc:
    """A ``getEdoc`` answer; ``data`` (base64) is decoded when OK."""
    head = read_result(payload)
    if not head.ok:
        return SdkEdoc(**head.model_dump())
    text = get_as_string(payload, "data")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GsonReadError(f"data is not base64: {exc}") from exc
    return SdkEdoc(**head.model_dump(), data=data)


def read_received(payload: Any) -> SdkReceivedList:
    """A ``getReceivedEdocList`` answer: every item or none (one bad item loses the list)."""
    head = read_result(payload)
    if not head.ok:
        return SdkReceivedList(**head.model_dump())
    items = tuple(
        SdkReceivedEdoc(**_fields(item, _RECEIVED_FIELDS)) for item in get_array(payload, "data")
    )
    return SdkReceivedList(**head.model_dump(), items=items)


def read_sent(payload: Any) -> SdkSentList:
    """A ``getSentEdocList`` answer: every item or none."""
    head = read_result(payload)
    if not head.ok:
        return SdkSentList(**head.model_dump())
    items = tuple(SdkSentEdoc(**_fields(item, _SENT_FIELDS)) for item in get_array(payload, "data"))
    return SdkSentList(**head.model_dump(), items=items)


def read_agencies(payload: Any) -> SdkAgencyList:
    """A ``getAgenciesList`` answer: every item or none."""
    head = read_result(payload)
    if not head.ok:
        return SdkAgencyList(**head.model_dump())
    items = tuple(SdkAgency(**_fields(item, _AGENCY_FIELDS)) for item in get_array(payload, "data"))
    return SdkAgencyList(**head.model_dump(), items=items)
