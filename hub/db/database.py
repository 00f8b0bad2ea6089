"""The unit of work: a database opened from the settings, and transactions on it.

The composition root opens it and hands it to what it builds; every part of the hub that
reads or writes the tracking database takes a :class:`Database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.engine import create_engine, make_session_factory, redacted_url
from hub.db.migrate import ensure_schema
from hub.errors import StorageError
from hub.settings import Settings

__all__ = ["Database", "open_database"]


@dataclass(frozen=True)
class Database:
    """An engine and the session factory bound to it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error.

        With ``commit=False`` the work is always rolled back: a dry run.

        Raises:
            StorageError: the database failed (the driver's error is chained).
        """
        try:
            with self.sessions() as session:
                yield session
                if commit:
                    session.commit()
                else:
                    session.rollback()
        except SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A plain connection in a transaction, committed on success and rolled back on any
        error: for hot paths that run prepared statements and need no ORM session (whose
        bookkeeping costs more than such statements).

        Raises:
            StorageError: the database failed (the driver's error is chained).
        """
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A plain connection on which, on PostgreSQL, every statement is its own transaction:
        for reads that need no snapshot in common, and writes made in one statement. That
        spares the two round trips of ``BEGIN`` and ``COMMIT``. Elsewhere the block is one
        transaction.

        Raises:
            StorageError: the database failed (the driver's error is chained).
        """
        if self.engine.dialect.name != "postgresql":
            with self.begin() as connection:
                yield connection
            return
        try:
            with self.engine.connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    def _storage_error(self, exc: SQLAlchemyError) -> StorageError:
        detail = getattr(exc, "orig", None) or exc
        return StorageError(f"database {redacted_url(self.engine.url)}: {detail}")


@contextmanager
def open_database(settings: Settings, *, check_schema: bool = True) -> Iterator[Database]:
    """Open the configured database for the duration of the block, then release it.

    With ``check_schema`` the schema must be current, or is upgraded where
    ``LIENTHONG_AUTO_MIGRATE`` allows it.

    Raises:
        SchemaOutOfDateError: the schema is behind and may not be upgraded automatically.
        StorageError: the database cannot be reached.
    """
    engine = create_engine(settings)
    try:
        if check_schema:
            ensure_schema(settings, engine)
        yield Database(engine=engine, sessions=make_session_factory(engine))
    finally:
        engine.dispose()
