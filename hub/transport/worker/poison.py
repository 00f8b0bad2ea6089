"""Poison messages: one handed out so many times that its attempts must be what stops the
workers. It is parked without another try, with an error that says so."""

from __future__ import annotations

from datetime import datetime

from hub.errors import PermanentDeliveryError
from hub.transport.messages import IncomingMessage
from hub.transport.topology import POISON_REDELIVERIES
from hub.transport.worker.outcome import Result

__all__ = ["poisoned"]


def poisoned(message: IncomingMessage, now: datetime) -> Result | None:
    """The result to settle ``message`` with, unattempted, when it is poison; else None."""
    if message.delivery_count < POISON_REDELIVERIES:
        return None
    return Result(
        started_at=now,
        duration=0.0,
        error=PermanentDeliveryError(
            f"the message was handed out {message.delivery_count} times without an "
            "outcome (each attempt stopped its worker); parked without another try",
            code="delivery.interrupted",
        ),
        outcome="interrupted",
    )
