"""The VXP endpoint's answers, written so that the official SDK reads every one of them.

The SDK reads each field with gson's ``getAsString()`` and loses the whole answer on a missing
field, a JSON null or an array (AXIS-SDK.md), so every model here has only text fields, all
present: ``status``/``ErrorCode``/``ErrorDesc`` on every answer, ``DocId`` on every
``sendEdoc`` answer (``""`` when nothing was accepted), one received item per receiving code
with ``to`` that one code, sent items in the SDK's field names, agencies with ``pid``. The
hub's errors become FAIL answers here (:func:`refusal`), each with an :class:`ErrorCode`,
the hub's own code at the start of ``ErrorDesc``, and a meaningful HTTP status (the SDK
reads the body whatever the status).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.errors import (
    AgencyBusyError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    HubBusyError,
    HubError,
    InvalidRequestError,
    MalformedPacketError,
    NotFoundError,
    OversizePacketError,
    PayloadPurgedError,
    RequestTimeoutError,
    RequestTooLargeError,
    StorageError,
    UnauthorizedError,
    UnroutablePacketError,
)
from hub.vxp.wire import ErrorCode

__all__ = [
    "OK_DESC",
    "AgencyItem",
    "Answer",
    "DocAnswer",
    "EdocAnswer",
    "ListAnswer",
    "ReceivedItem",
    "SentItem",
    "refusal",
]

OK_DESC = "Thành công"


class _Wire(BaseModel):
    """A JSON object of the protocol: text fields only, written under their wire names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        """The object as it goes on the wire."""
        return self.model_dump(by_alias=True)


class Answer(_Wire):
    """The three fields of every answer."""

    status: str = "OK"
    error_code: str = Field(default="0", alias="ErrorCode")
    error_desc: str = Field(default=OK_DESC, alias="ErrorDesc")


class DocAnswer(Answer):
    """An answer naming a packet: ``sendEdoc`` (the hub's packet id, ``""`` when refused),
    ``updateStatus`` (the delivery id)."""

    doc_id: str = Field(default="", alias="DocId")


class EdocAnswer(Answer):
    """A ``getEdoc`` answer: the packet as sent, base64."""

    doc_id: str = Field(alias="DocId")
    data: str


class ReceivedItem(_Wire):
    """One ``getReceivedEdocList`` item: one delivery, for one receiving code."""

    doc_id: str = Field(alias="docId")
    """The delivery id: what ``getEdoc`` and ``updateStatus`` take."""
    service_type: str = Field(alias="serviceType")
    message_type: str = Field(alias="messageType")
    created_time: str
    updated_time: str
    from_code: str = Field(alias="from")
    to_code: str = Field(alias="to")
    status: str
    status_desc: str


class SentItem(_Wire):
    """One ``getSentEdocList`` item: one receiver of a packet the system sent."""

    sender_doc_id: str = Field(alias="senderDocId")
    """The ``DocId`` ``sendEdoc`` answered: the hub's packet id."""
    receiver_doc_id: str = Field(alias="receiverDocId")
    """The hub's delivery id for that receiver."""
    from_code: str = Field(alias="fromCode")
    to_code: str = Field(alias="toCode")
    send_status: str = Field(alias="sendStatus")
    send_status_desc: str = Field(alias="sendStatusDesc")
    receive_status: str = Field(alias="receiveStatus")
    receive_status_desc: str = Field(alias="receiveStatusDesc")
    service_type: str = Field(alias="serviceType")
    message_type: str = Field(alias="messageType")
    title: str
    notation: str
    sent_time: str = Field(alias="sentTime")
    received_time: str = Field(alias="receivedTime")


class AgencyItem(_Wire):
    """One ``getAgenciesList`` item: the parent's code as ``pid`` (``""`` for none)."""

    code: str
    name: str
    pid: str


class ListAnswer(Answer):
    """A list answer: ``data`` holds the items."""

    data: list[ReceivedItem] | list[SentItem] | list[AgencyItem]


_REFUSALS: tuple[tuple[type[HubError], ErrorCode, int], ...] = (
    (UnauthorizedError, ErrorCode.AUTH_FAILED, 401),
    (ForbiddenError, ErrorCode.FORBIDDEN_SENDER, 403),
    (PayloadPurgedError, ErrorCode.NOT_FOUND, 410),
    (NotFoundError, ErrorCode.NOT_FOUND, 404),
    (ConflictError, ErrorCode.BAD_REQUEST, 409),
    (OversizePacketError, ErrorCode.BAD_REQUEST, 413),
    (MalformedPacketError, ErrorCode.INVALID_EDXML, 400),
    (UnroutablePacketError, ErrorCode.UNKNOWN_RECIPIENT, 400),
    (RequestTimeoutError, ErrorCode.BAD_REQUEST, 408),
    (RequestTooLargeError, ErrorCode.BAD_REQUEST, 413),
    (InvalidRequestError, ErrorCode.BAD_REQUEST, 400),
    (AgencyBusyError, ErrorCode.SERVICE_UNAVAILABLE, 429),
    (HubBusyError, ErrorCode.SERVICE_UNAVAILABLE, 503),
    (ConfigurationError, ErrorCode.SERVICE_UNAVAILABLE, 503),
    (StorageError, ErrorCode.SERVICE_UNAVAILABLE, 503),
)
"""The FAIL answer of each kind of error, most specific first; anything else is internal."""

_BY_CODE: dict[str, tuple[ErrorCode, int]] = {
    "vxp.hash-mismatch": (ErrorCode.HASH_MISMATCH, 400),
    "packet.kind-mismatch": (ErrorCode.MESSAGE_TYPE_MISMATCH, 400),
    "vxp.timestamp-expired": (ErrorCode.TIMESTAMP_EXPIRED, 401),
}
"""Errors whose hub code has an axis code of its own."""


def refusal(error: HubError) -> tuple[ErrorCode, int]:
    """The ``ErrorCode`` and HTTP status that answer ``error``."""
    if error.code in _BY_CODE:
        return _BY_CODE[error.code]
    for kind, code, status in _REFUSALS:
        if isinstance(error, kind):
            return code, status
    return ErrorCode.INTERNAL_ERROR, 500
