"""Deferral: a delivery put back for a moment, not attempted, because its recipient already
has as many attempts under way as it may. Not an attempt: nothing is recorded.

The wait doubles with each deferral in a row (up to 2^6 times the base), so the deliveries
of a recipient that hangs for minutes do not come back every second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.channels.base import DeliveryJob
from hub.transport.messages import DEFERRALS_HEADER, IncomingMessage, OutgoingMessage, Round
from hub.transport.topology import Topology

__all__ = ["Deferral", "defer"]

_MAX_DOUBLINGS = 6


@dataclass(frozen=True)
class Deferral:
    """The message that brings the delivery back after ``wait`` seconds."""

    message: OutgoingMessage
    wait: float
    in_a_row: int
    """Deferrals in a row, this one included."""


def deferrals(headers: Mapping[str, Any]) -> int:
    """The deferrals in a row a message carries (0 when absent or unreadable)."""
    try:
        return max(0, int(headers.get(DEFERRALS_HEADER, 0)))
    except (TypeError, ValueError):
        return 0


def defer(
    job: DeliveryJob,
    round_: Round,
    message: IncomingMessage,
    *,
    base_wait: float,
    topology: Topology,
) -> Deferral:
    """The deferral of ``message``: the same body to the retry tier of the doubled wait."""
    before = deferrals(message.headers)
    wait = base_wait * 2 ** min(before, _MAX_DOUBLINGS)
    return Deferral(
        message=OutgoingMessage(
            exchange=topology.retry_exchange.name,
            routing_key=topology.tier_for(wait).routing_key,
            body=message.body,
            message_id=job.delivery_id,
            headers={**round_.headers(), DEFERRALS_HEADER: before + 1},
            type="delivery",
            expiration_ms=max(0, round(wait * 1000)),
        ),
        wait=wait,
        in_a_row=before + 1,
    )
