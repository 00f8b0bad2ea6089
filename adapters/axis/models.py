"""What the axis answers, as typed values: sent receipts, queue items, agencies.

These are also the values of :class:`adapters.axis.upstream.Upstream`, so another upstream
(a provincial platform, a peer hub) maps its own answers onto them. ``fields`` keeps the JSON
object as the peer answered it, for logs and for fields this model does not name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AckStatus",
    "AxisAgency",
    "MessageType",
    "ReceivedItem",
    "SendResult",
    "SentItem",
]

MessageType = Literal["edoc", "status"]
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
    """One packet this system sent, as the axis's history reports it."""

    doc_id: str
    message_type: MessageType | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    status: str | None = None
    created_time: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)


class AxisAgency(_Frozen):
    """An agency reachable through the axis."""

    code: str
    name: str | None = None
    parent_code: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)
