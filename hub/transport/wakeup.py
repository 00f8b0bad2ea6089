"""Waking the relay when outbox rows are written, instead of leaving them to its next poll.

On PostgreSQL a transaction that writes outbox rows also sends ``NOTIFY lienthong_outbox``;
PostgreSQL delivers it when (and only if) the transaction commits. The relay listens on a
connection of its own and starts a round as soon as a notice arrives, so a packet reaches the
broker within milliseconds of its ingest rather than up to a poll interval later. The poll
stays as the fallback: a lost notice (the listening connection dropped) only costs latency.
SQLite has no such signal: there the relay polls.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = [
    "OUTBOX_CHANNEL",
    "OutboxWakeup",
    "PollingWakeup",
    "PostgresWakeup",
    "announce_outbox",
    "wakeup_for",
]

OUTBOX_CHANNEL = "lienthong_outbox"

_log = structlog.get_logger(__name__)
_NOTIFY = text(f"NOTIFY {OUTBOX_CHANNEL}")


def announce_outbox(session: Session) -> None:
    """Tell listening relays, once ``session`` commits, that it wrote outbox rows."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY)  # on the connection: the ORM's execution path costs more


class OutboxWakeup(Protocol):
    """How the relay waits between rounds that found nothing more to do."""

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return after ``timeout`` seconds, when ``stop`` is set, or earlier on news."""
        ...

    def close(self) -> None:
        """Release what the waiting holds."""
        ...


class PollingWakeup:
    """Waits out the whole interval (SQLite, or when listening is not possible)."""

    def wait(self, timeout: float, stop: threading.Event) -> None:
        stop.wait(timeout)

    def close(self) -> None:
        pass


class PostgresWakeup:
    """Waits for ``NOTIFY lienthong_outbox`` on a connection of its own, ``timeout`` at most.

    The connection is taken from the database's engine (same address and options) and kept
    out of its pool. When it fails, waiting falls back to polling and it is reopened on the
    next wait.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: Any = None

    def wait(self, timeout: float, stop: threading.Event) -> None:
        if stop.is_set():
            return
        connection = self._listening()
        if connection is None:
            stop.wait(timeout)
            return
        try:
            for _ in connection.notifies(timeout=timeout, stop_after=1):
                pass
            for _ in connection.notifies(timeout=0):
                pass  # several commits since the last round: one round serves them all
        except psycopg.Error as exc:
            _log.warning("relay.listen_failed", error=str(exc))
            self.close()
            stop.wait(timeout)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _listening(self) -> Any:
        if self._connection is not None:
            return self._connection
        try:
            raw = self._database.engine.raw_connection()
            raw.detach()
            connection: Any = raw.dbapi_connection
            connection.autocommit = True
            connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        except Exception as exc:  # the engine raises SQLAlchemy or driver errors
            _log.warning("relay.listen_unavailable", error=str(exc))
            return None
        self._connection = connection
        return connection


def wakeup_for(database: Database) -> OutboxWakeup:
    """A PostgreSQL listener for PostgreSQL, polling otherwise."""
    if database.engine.dialect.name == "postgresql":
        return PostgresWakeup(database)
    return PollingWakeup()
