"""Engines and sessions built from the settings; nothing connects until these are called.

SQLite connections get WAL journaling, enforced foreign keys and a busy timeout, and real
transactions (the driver's implicit ones are replaced by an explicit ``BEGIN``), so the same
code behaves alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine",
    "database_url",
    "make_session_factory",
    "redacted_url",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for another writer before failing."""


def database_url(settings: Settings) -> URL:
    """The database URL of the settings, with ``postgresql://`` mapped to the psycopg driver.

    Raises:
        ConfigurationError: the URL cannot be parsed.
    """
    try:
        url = make_url(settings.database.url)
    except ArgumentError as exc:
        raise ConfigurationError(f"LIENTHONG_DATABASE_URL is not a database URL: {exc}") from exc
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    return url


def redacted_url(url: URL | str) -> str:
    """The URL as text with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(settings: Settings, **engine_options: Any) -> Engine:
    """An engine for the configured database; a SQLite file's directory is created if needed."""
    url = database_url(settings)
    if url.get_backend_name() != "sqlite":
        options: dict[str, Any] = {
            "pool_size": settings.database.pool_size,
            "max_overflow": settings.database.max_overflow,
            "pool_use_lifo": True,
            **engine_options,
        }
        engine = sa_create_engine(url, **options)
        _ping_idle_connections(engine, settings.database.ping_after_idle)
        return engine
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa_create_engine(url, **engine_options)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


_RETURNED = "lienthong.returned"
"""Key of a pooled connection's record: when it was last returned to the pool (monotonic)."""


def _ping_idle_connections(engine: Engine, idle: float) -> None:
    """Check a pooled connection is alive before use only when it has been idle ``idle``
    seconds or more.

    A ping is a round trip to the server: checking at every use (SQLAlchemy's pre-ping)
    costs one more round trip per transaction to catch a connection the server dropped,
    which happens to connections that sat idle (a restart, a firewall, an idle timeout). A
    connection returned a moment ago is used as is (connection pools such as HikariCP and
    PgBouncer skip the check the same way); if the server went away meanwhile, the statement
    fails, the caller's error handling applies, and SQLAlchemy renews the whole pool.
    """

    def returned(_dbapi: Any, record: Any, *_: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_RETURNED)
        if last is not None and time.monotonic() - last < idle:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as exc:  # any failure means the connection is gone
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"the pooled connection is gone: {exc}") from exc

    event.listen(engine, "connect", returned)
    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory every unit of work of the hub opens its sessions from."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A transaction that begins as a reader cannot become a writer once another connection
    # has committed: SQLite fails it at once ("database is locked") without waiting out the
    # busy timeout. Taking the write lock first makes every unit of work wait its turn
    # instead; WAL readers outside transactions are not blocked.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
