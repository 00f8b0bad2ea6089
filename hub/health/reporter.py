"""A process's readiness, checked every ``interval`` seconds and reported where supervisors
look: a file touched while every check passes (removed when one fails or the process stops),
and systemd's ``READY=1`` (the first pass) and ``WATCHDOG=1`` (each pass)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog

from hub.health.systemd import SystemdNotifier

__all__ = ["Check", "HealthReporter"]

Check = Callable[[], None]
"""A readiness check: returns when ready, raises (any exception, its message said) when not."""

_log = structlog.get_logger(__name__)


class HealthReporter:
    """Runs the checks and reports them; :meth:`start` does it on a thread of its own."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        file: Path | None,
        interval: float = 5.0,
        notifier: SystemdNotifier | None = None,
    ) -> None:
        self._checks = dict(checks)
        self._file = file
        self._interval = interval
        self._notifier = notifier
        self._ready: bool | None = None
        self._announced = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def problems(self) -> list[str]:
        """What fails, one ``name: reason`` per failing check (empty when ready)."""
        found = []
        for name, check in self._checks.items():
            try:
                check()
            except Exception as exc:  # a check may fail in any way
                found.append(f"{name}: {exc}")
        return found

    def beat(self) -> bool:
        """Check once and report it; whether the process is ready."""
        problems = self.problems()
        ready = not problems
        if ready:
            self._touch()
            if self._notifier is not None:
                lines = ["WATCHDOG=1", "STATUS=ready"]
                if not self._announced:
                    lines.insert(0, "READY=1")
                self._announced = self._notifier.notify(*lines) or self._announced
        else:
            self._remove()
            if self._notifier is not None:
                self._notifier.notify(f"STATUS=not ready: {'; '.join(problems)}")
        if ready != self._ready:
            if ready:
                _log.info("health.ready")
            else:
                _log.warning("health.not_ready", problems=problems)
        self._ready = ready
        return ready

    def _touch(self) -> None:
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            self._file.touch()
        except OSError as exc:
            _log.warning("health.file_failed", file=str(self._file), error=str(exc))

    def _remove(self) -> None:
        if self._file is None:
            return
        try:
            self._file.unlink(missing_ok=True)
        except OSError as exc:
            _log.warning("health.file_failed", file=str(self._file), error=str(exc))

    def run(self) -> None:
        """Check at once, then every ``interval`` seconds until :meth:`stop`."""
        self.beat()
        while not self._stop.wait(self._interval):
            self.beat()

    def start(self) -> None:
        """Run on a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking; the file goes and systemd hears that the process is stopping."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 5)
        self._remove()
        if self._notifier is not None:
            self._notifier.notify("STOPPING=1")
