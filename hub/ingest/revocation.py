"""The certificate revocation lists packet signatures are judged with, kept fresh from disk.

Certificate authorities publish a new list every day or so; an operator (or a cron job)
replaces the files named by ``LIENTHONG_CRLS``. Each running process notices a changed file
(its size or modification time) at most ``check_seconds`` after the change and reads it
again; a file that cannot be read then keeps the lists read before, with a warning, so a
half-written download never turns every signature untrusted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from cryptography import x509

import edxml
from hub.errors import ConfigurationError

__all__ = ["RevocationLists"]

_log = structlog.get_logger(__name__)


class RevocationLists:
    """The lists of some files, read at construction and again when a file changes."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        check_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read every file once.

        Raises:
            ConfigurationError: a file cannot be read or holds no revocation list.
        """
        self._paths = tuple(paths)
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._lists = tuple(edxml.load_crls(self._paths))
        except edxml.EdxmlError as exc:
            raise ConfigurationError(f"LIENTHONG_CRLS: {exc.message}") from exc
        self._stamps = self._stamp()
        self._checked = clock()

    def current(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The lists now (read again first when a file changed since the last check)."""
        if not self._paths:
            return ()
        with self._lock:
            now = self._clock()
            if now - self._checked >= self._check_seconds:
                self._checked = now
                stamps = self._stamp()
                if stamps != self._stamps:
                    self._reload(stamps)
            return self._lists

    def _reload(self, stamps: tuple[tuple[float, int] | None, ...]) -> None:
        try:
            lists = tuple(edxml.load_crls(self._paths))
        except edxml.EdxmlError as exc:
            _log.warning("crls.reload_failed", error=exc.message)
            return
        self._lists = lists
        self._stamps = stamps
        _log.info("crls.reloaded", files=len(self._paths), lists=len(lists))

    def _stamp(self) -> tuple[tuple[float, int] | None, ...]:
        stamps: list[tuple[float, int] | None] = []
        for path in self._paths:
            try:
                status = path.stat()
            except OSError:
                stamps.append(None)
                continue
            stamps.append((status.st_mtime, status.st_size))
        return tuple(stamps)
