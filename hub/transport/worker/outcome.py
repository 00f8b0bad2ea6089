"""What one attempt came to, and what the delivery becomes: the values the parts pass on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.channels.base import DeliveryJob, HandOver
from hub.db.models import PEER_CODE_LENGTH, DeliveryState
from hub.errors import DeliveryError
from hub.transport.messages import OutgoingMessage

__all__ = ["PEER_BUSY", "Plan", "Result", "Settlement", "Skip"]

PEER_BUSY = "peer-busy"
"""The outcome of an attempt not made because its peer had no free slot (see deferral)."""


@dataclass(frozen=True)
class Skip:
    """The message is not attempted: a duplicate, stale, or names an unknown delivery."""

    reason: str
    park: bool = False


@dataclass(frozen=True)
class Plan:
    """The message is attempted: the job its delivery amounts to."""

    job: DeliveryJob


@dataclass(frozen=True)
class Result:
    """One attempt: when, how long, and the handler's answer or error."""

    started_at: datetime
    duration: float
    handover: HandOver | None = None
    error: DeliveryError | None = None
    outcome: str = ""

    @property
    def http_status(self) -> int | None:
        """The HTTP status the peer answered, if it answered over HTTP."""
        if self.handover is not None:
            return self.handover.http_status
        return self.error.http_status if self.error is not None else None

    @property
    def peer_code(self) -> str | None:
        """The error code as the peer wrote it, if it gave one (cut to what is kept)."""
        code = self.error.peer_code if self.error is not None else None
        return code[:PEER_CODE_LENGTH] if code else None


@dataclass(frozen=True)
class Settlement:
    """The delivery's next state, and the message that carries it on (retry or parking)."""

    state: DeliveryState
    outcome: str
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    message: OutgoingMessage | None = None
    wait: float | None = None
