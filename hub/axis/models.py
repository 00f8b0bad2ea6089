"""What the axis answers, as typed values: sent receipts, queue items, agencies.

These are also the values of :class:`adapters.axis.upstream.Upstream`, so another upstream
(a provincial platform, a peer hub) maps its own answers onto them. ``fields`` keeps the JSON
object as the peer answered it, for logs and for fields this model does not name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MESSAGE_TYPES",
    "AckStatus",
    "AxisAgency",
    "MessageType",
    "ReceivedItem",
    "SendResult",
    "SentItem",
]

MessageType = Literal["edoc", "status"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("edoc", "status")
"""Every message type, in the order the receive loops take them."""
"""A document packet, or a status packet (business statuses 01–16)."""

AckStatus = Literal["done", "fail", "processing"]
"""The transport acknowledgement of a downloaded item (``updateStatus``)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SendResult(_Frozen):
    """The axis accepted a packet: ``doc_id`` is its transaction id there."""

    doc_id: str


class ReceivedItem(_Frozen):
    """One packet waiting for this system at the axis."""

    doc_id: str
    """The axis transaction id: what ``get_edoc`` and ``update_status`` take."""
    message_type: MessageType
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    status: str | None = None
    """The transport status the axis reports (e.g. ``pending``, ``processing``)."""
    created_time: str | None = None
    """As the axis wrote it (no zone: Vietnamese local time)."""
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)


class SentItem(_Frozen):
    """One receiver of a packet this system sent, as ``getSentEdocList`` reports it.

    Read and written in the SDK's field names (the aliases: ``senderDocId``, ``toCode``…);
    a field the axis left out is None.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    sender_doc_id: str = Field(alias="senderDocId")
    """The transaction id ``sendEdoc`` gave the sender."""
    receiver_doc_id: str | None = Field(default=None, alias="receiverDocId")
    """The id the receiver lists the packet under."""
    from_code: str | None = Field(default=None, alias="fromCode")
    to_code: str | None = Field(default=None, alias="toCode")
    send_status: str | None = Field(default=None, alias="sendStatus")
    send_status_desc: str | None = Field(default=None, alias="sendStatusDesc")
    receive_status: str | None = Field(default=None, alias="receiveStatus")
    """How far the receiver got (e.g. ``pending``, ``done``, ``fail``)."""
    receive_status_desc: str | None = Field(default=None, alias="receiveStatusDesc")
    service_type: str | None = Field(default=None, alias="serviceType")
    message_type: MessageType | None = Field(default=None, alias="messageType")
    title: str | None = None
    notation: str | None = None
    sent_time: str | None = Field(default=None, alias="sentTime")
    received_time: str | None = Field(default=None, alias="receivedTime")
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)


class AxisAgency(_Frozen):
    """An agency reachable through the axis."""

    code: str
    name: str | None = None
    parent_code: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)
