"""Slots: how many attempts each peer may have under way at once in one worker process.

Attempts in flight are capped (``max_in_flight``) per *slot key*: the peer itself, or a finer
key the caller names, such as the recipient agency when several agencies' endpoints live on
one host. A recipient that accepts connections and never answers would otherwise take every
worker thread for a whole read timeout before its first failure is even recorded.

That cap is per recipient, so several recipients that hang or fail at once could still take
every thread (ten of them at two slots each against eight threads). Hence a second cap,
across slot keys: attempts to *suspect* slot keys (one whose last attempt failed and that has
not answered since) may hold at most ``max_suspect`` slots of the process at once; every
other recipient, new or long silent ones included, always finds the rest free.

Pure bookkeeping without a lock: :class:`~hub.transport.breaker.CircuitBreaker` holds one
around it and its circuits, so that admission is decided at once.
"""

from __future__ import annotations

__all__ = ["PeerSlots"]

_SUSPECTS_KEPT = 100_000
"""At most this many suspect slot keys are remembered (a bound on memory, never reached)."""


class PeerSlots:
    """Slots in use per slot key, and the suspects among the keys."""

    def __init__(self, *, max_in_flight: int | None, max_suspect: int | None) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_suspect is not None and max_suspect < 1:
            raise ValueError("max_suspect must be at least 1")
        self.max_in_flight = max_in_flight
        self.max_suspect = max_suspect
        self._in_flight: dict[str, int] = {}
        self._suspects: set[str] = set()
        """Slot keys whose last attempt failed, with no answer since."""
        self._suspect_slots: dict[str, int] = {}
        """Slot key → its attempts in flight that were admitted while it was suspect."""
        self._suspect_total = 0

    def full(self, key: str) -> bool:
        """Whether an attempt for ``key`` must wait: its own cap, or the suspects' cap."""
        if self.max_in_flight is not None and self._in_flight.get(key, 0) >= self.max_in_flight:
            return True
        return self._is_suspect(key) and self._suspect_total >= (self.max_suspect or 0)

    def take(self, key: str) -> None:
        """Hold a slot for ``key`` (after :meth:`full` said there is one)."""
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        if self._is_suspect(key):
            self._suspect_slots[key] = self._suspect_slots.get(key, 0) + 1
            self._suspect_total += 1

    def give_back(self, key: str) -> None:
        """Release a slot of ``key``."""
        left = self._in_flight.get(key, 0) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
        held = self._suspect_slots.get(key, 0)
        if held > 0:
            self._suspect_total -= 1
            if held > 1:
                self._suspect_slots[key] = held - 1
            else:
                del self._suspect_slots[key]

    def in_flight(self, key: str) -> int:
        """Slots held now for ``key``."""
        return self._in_flight.get(key, 0)

    def suspect_in_flight(self) -> int:
        """Slots held now that were taken while their key was suspect."""
        return self._suspect_total

    def suspect(self, key: str) -> None:
        """``key``'s last attempt failed: it is suspect until it answers."""
        if len(self._suspects) < _SUSPECTS_KEPT:
            self._suspects.add(key)

    def cleared(self, key: str) -> None:
        """``key`` answered: no longer suspect."""
        self._suspects.discard(key)

    def _is_suspect(self, key: str) -> bool:
        return self.max_suspect is not None and key in self._suspects
