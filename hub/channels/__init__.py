"""The delivery channels through which the hub reaches an agency, as named in the directory."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Channel"]


class Channel(StrEnum):
    """How documents addressed to an agency leave the hub."""

    INBOX = "inbox"
    """The agency's system fetches its documents from the hub's pull inbox."""
    WEBHOOK = "webhook"
    """The hub pushes each document to the agency's HTTPS endpoint."""
    AMQP = "amqp"
    """The hub publishes each document to the agency's own AMQP queue."""
    AXIS = "axis"
    """The agency is outside the city: documents go through the national axis (VXP)."""
    HUB = "hub"
    """The agency is served by a peer hub, which takes the documents over."""
    VXP = "vxp"
    """The agency's system is built on the national axis's SDK: it takes its documents from
    the hub's VXP endpoint as it would from the axis."""
