"""Fault injection of the simulated axis: down for a while, random 500s, slowness, refusals.

Set with ``POST /_sim/faults`` (the body is :class:`Faults`; it replaces the current faults),
read with ``GET /_sim/faults``, cleared with ``DELETE /_sim/faults``. Down, failures and
slowness apply to the protocol operations listed in ``operations`` (all when omitted); the
admin endpoints are never disrupted.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from adapters.axis.protocol import ErrorCode, Operation

__all__ = ["FaultState", "Faults"]


class Faults(BaseModel):
    """What the simulated node does wrong, from the moment it is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    down_for_seconds: float = Field(default=0.0, ge=0)
    """Answer 503 (with Retry-After) to every call for this long."""
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of calls answered 500 INTERNAL_ERROR."""
    slow_ms: int = Field(default=0, ge=0, le=600_000)
    """Wait this long before answering each call."""
    refuse_codes: tuple[str, ...] = ()
    """Agency codes whose packets ``sendEdoc`` refuses (FAIL ``refuse_error_code``)."""
    refuse_error_code: str = ErrorCode.RECIPIENT_REFUSED.value
    operations: tuple[Operation, ...] | None = None
    seed: int | None = None
    """Seed of the failure draws, for reproducible runs."""


class FaultState:
    """The faults in force; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._faults = Faults()
        self._down_until = 0.0
        self._random = random.Random()  # noqa: S311 - fault draws, not secrets

    def set(self, faults: Faults) -> None:
        """Replace the faults; ``down_for_seconds`` counts from now."""
        with self._lock:
            self._faults = faults
            self._down_until = self._clock() + faults.down_for_seconds
            self._random = random.Random(faults.seed)  # noqa: S311 - fault draws, not secrets

    def clear(self) -> None:
        """No fault any more."""
        self.set(Faults())

    @property
    def faults(self) -> Faults:
        """The faults as last set."""
        with self._lock:
            return self._faults

    def down_remaining(self, operation: Operation | None = None) -> float:
        """Seconds of outage left for ``operation`` (0 when it is served)."""
        with self._lock:
            if operation is not None and not self._applies(operation):
                return 0.0
            return max(0.0, self._down_until - self._clock())

    def should_fail(self, operation: Operation) -> bool:
        """Whether this call draws a 500."""
        with self._lock:
            rate = self._faults.fail_rate
            return self._applies(operation) and rate > 0 and self._random.random() < rate

    def delay_seconds(self, operation: Operation) -> float:
        """How long to wait before answering this call."""
        with self._lock:
            return self._faults.slow_ms / 1000 if self._applies(operation) else 0.0

    def refused(self, recipients: Iterable[str]) -> list[str]:
        """The recipients whose packets are refused."""
        with self._lock:
            refused = set(self._faults.refuse_codes)
            return [code for code in recipients if code in refused]

    def _applies(self, operation: Operation) -> bool:
        ops = self._faults.operations
        return ops is None or operation in ops
