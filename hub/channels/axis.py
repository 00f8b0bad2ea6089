"""The ``axis`` channel: packets for agencies outside the city, through the national axis.

How a packet is sent once for all its axis recipients is the axis wing's
(:mod:`hub.axis.outbound`); this module builds that handler when an upstream is configured.
Without one, the channel's deliveries wait through the retry schedule (``delivery.no_adapter``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.axis.outbound import AxisDeliveryHandler

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources
    from hub.settings import Settings

__all__ = ["build", "claim_lease", "peer_label"]

_CLAIM_MARGIN_SECONDS = 30.0


def build(resources: ChannelResources) -> AxisDeliveryHandler | None:
    """The channel's handler on the worker's upstream; None when no axis is configured."""
    if resources.upstream is None:
        return None
    settings = resources.settings
    return AxisDeliveryHandler(
        resources.upstream,
        resources.database,
        lease=claim_lease(settings),
        wait=settings.worker.attempt_timeout / 2,
    )


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: the national axis."""
    return "axis"


def claim_lease(settings: Settings) -> float:
    """Longer than any one send can last: the attempt timeout, or every try of the call."""
    one_call = settings.axis.http_attempts * (
        settings.axis.connect_timeout + settings.axis.read_timeout
    )
    return max(settings.worker.attempt_timeout, one_call) + _CLAIM_MARGIN_SECONDS
