"""Engines and sessions built from the settings; nothing connects until these are called.

SQLite connections get WAL journaling, enforced foreign keys and a busy timeout, and real
transactions (the driver's implicit ones are replaced by an explicit ``BEGIN``), so the same
code behaves alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
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
            "pool_pre_ping": True,
            "pool_size": settings.database.pool_size,
            "max_overflow": settings.database.max_overflow,
            "pool_use_lifo": True,
            **engine_options,
        }
        return sa_create_engine(url, **options)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa_create_engine(url, **engine_options)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


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
