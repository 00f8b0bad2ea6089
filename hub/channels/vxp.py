"""The ``vxp`` channel: agency systems built on the national axis's official SDK.

Such a system joins the hub by pointing its SDK at the hub's VXP endpoint (:mod:`hub.vxp`,
served under ``/vxp/``) instead of the axis. A delivery on this channel becomes
``available`` once a worker has done its part, exactly as on the ``inbox`` channel; the
system then lists it (``getReceivedEdocList``), fetches it (``getEdoc``) and acknowledges it
(``updateStatus``: ``done`` → delivered, ``fail`` → refused), its statuses and documents
going in through ``sendEdoc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.channels.inbox import InboxHandler

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources

__all__ = ["build", "peer_label"]


def build(resources: ChannelResources) -> InboxHandler:
    """The channel's handler: the delivery waits for the system to fetch it, as in an inbox."""
    return InboxHandler()


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: the hub's VXP endpoint."""
    return "vxp"
