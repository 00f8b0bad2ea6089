"""The retry schedule: what follows a failed attempt — another try after a wait, or giving up.

Pure logic, no I/O. A round (from ingest, or from a replay) allows ``len(retry_delays) + 1``
attempts. After a transient failure the next attempt waits the configured delay of that
retry, or the delay the peer asked for (``Retry-After``), stretched by a random jitter of up
to ``retry_jitter`` of it so that deliveries failed together do not come back together. A
permanent failure parks the delivery at once; a transient failure past the last attempt parks
it; a transient failure once the round is older than ``max_delivery_age`` expires it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hub.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from hub.settings import Settings

__all__ = ["Decision", "RetryPolicy", "Verdict"]


class Verdict(StrEnum):
    """What becomes of a delivery after a failed attempt."""

    RETRY = "retry"
    PARK = "park"
    EXPIRE = "expire"


@dataclass(frozen=True)
class Decision:
    """The verdict on a failed attempt; ``wait`` is the seconds before the next one."""

    verdict: Verdict
    wait: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """The configured delays, jitter and maximum age."""

    delays: tuple[float, ...]
    jitter: float
    max_age: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(settings.retries.delays, settings.retries.jitter, settings.retries.max_age)

    @property
    def max_attempts(self) -> int:
        """Attempts in one round: the first and one per delay."""
        return len(self.delays) + 1

    @property
    def longest_wait(self) -> float:
        """No wait is longer than the longest delay with its full jitter."""
        return max(self.delays) * (1 + self.jitter)

    def wait(self, retry: int, asked: float | None, rng: random.Random) -> float:
        """Seconds before retry number ``retry`` (0-based); ``asked`` overrides the schedule."""
        base = asked if asked is not None else self.delays[min(retry, len(self.delays) - 1)]
        return min(max(0.0, base) * (1 + self.jitter * rng.random()), self.longest_wait)

    def decide(
        self,
        error: DeliveryError,
        *,
        round_attempt: int,
        queued_at: datetime,
        now: datetime,
        rng: random.Random,
    ) -> Decision:
        """The verdict on attempt ``round_attempt`` (1-based within its round) that failed."""
        if isinstance(error, PermanentDeliveryError) or not isinstance(
            error, TransientDeliveryError
        ):
            return Decision(Verdict.PARK, reason="permanent failure")
        age = now - queued_at
        if age >= self.max_age:
            return Decision(Verdict.EXPIRE, reason=f"undelivered after {age} (maximum age)")
        if round_attempt >= self.max_attempts:
            return Decision(Verdict.PARK, reason=f"{round_attempt} attempts failed")
        return Decision(Verdict.RETRY, wait=self.wait(round_attempt - 1, error.delay, rng))
