"""Per-peer circuit breakers, so that one dead peer does not hold the workers up.

Pure logic and a lock, no I/O; a peer is whatever key the channel names (a webhook's
scheme://host:port). States:

- **closed**: attempts go ahead; ``threshold`` consecutive failures open the circuit;
- **open**: attempts are refused (the worker sends the delivery to its next retry without
  trying) until ``cooldown`` seconds have passed;
- **half-open**: one probe attempt is let through; its success closes the circuit, its
  failure opens it again for twice the previous cool-down (up to ``max_cooldown``). A probe
  that never reports back is replaced by another after ``probe_timeout``.

A success in any state closes the circuit. Each worker process keeps its own breakers.

Besides the circuits, the breaker admits an attempt only when its peer has a free slot
(:mod:`hub.transport.slots`: a cap per recipient, and one for suspect recipients together):
:meth:`CircuitBreaker.acquire` takes a slot, :meth:`CircuitBreaker.release` gives it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hub.transport.slots import PeerSlots

__all__ = ["Admission", "BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Whether attempts to a peer go ahead."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Admission(StrEnum):
    """The answer to a request for an attempt."""

    GO = "go"
    """Attempt it (a slot is held until released)."""
    OPEN = "open"
    """The circuit is open: do not attempt; it counts as a try."""
    BUSY = "busy"
    """The peer already has ``max_in_flight`` attempts under way, or it is suspect and
    ``max_suspect`` such attempts are: try again shortly (not a try)."""


@dataclass
class _Peer:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    cooldown: float = 0.0
    reopen_at: float = 0.0
    probe_started: float | None = None


class CircuitBreaker:
    """The breakers of every peer a worker process talks to."""

    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        max_cooldown: float,
        probe_timeout: float | None = None,
        max_in_flight: int | None = None,
        max_suspect: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown <= 0 or max_cooldown < cooldown:
            raise ValueError("need 0 < cooldown <= max_cooldown")
        self.threshold = threshold
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.probe_timeout = probe_timeout if probe_timeout is not None else max_cooldown
        self._clock = clock
        self._slots = PeerSlots(max_in_flight=max_in_flight, max_suspect=max_suspect)
        self.max_in_flight = max_in_flight
        self.max_suspect = max_suspect
        self._peers: dict[str, _Peer] = {}
        self._lock = threading.Lock()

    def acquire(self, peer: str, *, slot: str | None = None) -> Admission:
        """Whether to attempt a delivery to ``peer`` now; on ``GO`` a slot is held.

        ``slot`` is the key the in-flight cap counts (default: the peer). Every ``GO`` must
        be followed by exactly one :meth:`release` with the same keys.
        """
        key = slot or peer
        with self._lock:
            # An open circuit answers first: its deliveries take their retry with backoff
            # rather than coming back every moment for a slot.
            if self._refusing(peer):
                return Admission.OPEN
            if self._slots.full(key):
                return Admission.BUSY
            if not self._admit(peer):
                return Admission.OPEN
            self._slots.take(key)
            return Admission.GO

    def release(self, peer: str, *, slot: str | None = None, failed: bool | None) -> None:
        """Give back the slot of an attempt, recording its outcome (None: not the peer's
        doing either way, such as a missing payload)."""
        key = slot or peer
        with self._lock:
            self._slots.give_back(key)
        if failed is True:
            self.failed(peer, slot=slot)
        elif failed is False:
            self.succeeded(peer, slot=slot)

    def in_flight(self, key: str) -> int:
        """Attempts under way now for a slot key (or a peer used as its own key)."""
        with self._lock:
            return self._slots.in_flight(key)

    def admit(self, peer: str) -> bool:
        """Whether an attempt to ``peer`` may be made now (an admitted probe is reserved).

        The in-flight cap is not applied: see :meth:`acquire`.
        """
        with self._lock:
            return self._admit(peer)

    def _refusing(self, peer: str) -> bool:
        """Whether :meth:`_admit` would refuse ``peer`` now (without its side effects)."""
        state = self._peers.get(peer)
        if state is None or state.state is BreakerState.CLOSED:
            return False
        now = self._clock()
        if state.state is BreakerState.OPEN:
            return now < state.reopen_at
        return state.probe_started is not None and now - state.probe_started < self.probe_timeout

    def _admit(self, peer: str) -> bool:
        """:meth:`_refusing`, and when an open circuit lets a probe through, reserve it."""
        if self._refusing(peer):
            return False
        state = self._peers.get(peer)
        if state is not None and state.state is not BreakerState.CLOSED:
            state.state = BreakerState.HALF_OPEN
            state.probe_started = self._clock()
        return True

    def succeeded(self, peer: str, *, slot: str | None = None) -> None:
        """Record an attempt the peer answered; the circuit closes and the slot key (default:
        the peer) is no longer suspect."""
        with self._lock:
            self._peers.pop(peer, None)
            self._slots.cleared(slot or peer)

    def suspect_in_flight(self) -> int:
        """Attempts under way now that were admitted while their slot key was suspect."""
        with self._lock:
            return self._slots.suspect_in_flight()

    def failed(self, peer: str, *, slot: str | None = None) -> None:
        """Record an attempt the peer failed (unreachable, timed out, 5xx...); the slot key
        (default: the peer) is suspect until it answers."""
        with self._lock:
            self._slots.suspect(slot or peer)
            state = self._peers.setdefault(peer, _Peer())
            now = self._clock()
            if state.state is BreakerState.HALF_OPEN:
                state.cooldown = min(state.cooldown * 2, self.max_cooldown)
                self._open(state, now)
                return
            state.failures += 1
            if state.state is BreakerState.CLOSED and state.failures >= self.threshold:
                state.cooldown = self.cooldown
                self._open(state, now)

    def state(self, peer: str) -> BreakerState:
        """The peer's state as last recorded (an elapsed cool-down shows as open until used)."""
        with self._lock:
            state = self._peers.get(peer)
            return BreakerState.CLOSED if state is None else state.state

    def retry_in(self, peer: str) -> float:
        """Seconds until an attempt to ``peer`` may be made (0 when it may now)."""
        with self._lock:
            state = self._peers.get(peer)
            if state is None or state.state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, state.reopen_at - self._clock())

    @staticmethod
    def _open(state: _Peer, now: float) -> None:
        state.state = BreakerState.OPEN
        state.reopen_at = now + state.cooldown
        state.probe_started = None
