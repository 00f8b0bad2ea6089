"""Callers recently authenticated, kept for a few seconds so that a busy agency's requests do
not each cost a database lookup.

Keyed by the SHA-256 of the token (the cache never holds a token itself). An entry lives
``seconds`` at most: a token revoked, or an agency deactivated, stops working within that
time in every API process (immediately in the process that revoked it, which forgets its
entries). Unknown and refused tokens are never kept, so a flood of bad tokens costs the
database as before and the cache nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from hub.auth.callers import Caller

__all__ = ["CallerCache"]

_CAPACITY = 10_000


class CallerCache:
    """Authenticated callers by token digest, each for ``seconds`` (0: nothing is kept)."""

    def __init__(
        self,
        seconds: float,
        *,
        capacity: int = _CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, Caller]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> Caller | None:
        """The caller of ``token`` if it was authenticated less than ``seconds`` ago."""
        if self._seconds <= 0:
            return None
        key = _digest(token)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, caller = found
            if self._clock() >= expires:
                del self._entries[key]
                return None
            return caller

    def put(self, token: str, caller: Caller) -> None:
        """Keep the caller ``token`` was just found to belong to."""
        if self._seconds <= 0:
            return
        key = _digest(token)
        with self._lock:
            self._entries[key] = (self._clock() + self._seconds, caller)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def forget_all(self) -> None:
        """Drop every entry (after a revocation in this process)."""
        with self._lock:
            self._entries.clear()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()
