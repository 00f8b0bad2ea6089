"""Pooled PostgreSQL connections: checked before use only after sitting idle.

The server ends a pooled connection (``pg_terminate_backend``, as a restart or an idle
timeout does); a connection idle for longer than ``LIENTHONG_DATABASE_PING_AFTER_IDLE`` is
found dead by its ping and replaced without the caller seeing anything, while a busy one is
used as is: a dead one fails its statement once, and the pool is renewed for the next.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from hub.db.database import Database, open_database
from hub.errors import StorageError

from .conftest import settings_for

pytestmark = pytest.mark.integration


def _opened(url: str, tmp_path: Path, ping_after_idle: float) -> Iterator[Database]:
    settings = settings_for(
        url, tmp_path, database_ping_after_idle=ping_after_idle, database_pool_size=1
    )
    with open_database(settings, check_schema=False) as database:
        yield database


@pytest.fixture
def patient(postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    """A database whose connections are pinged after 0.2 s idle."""
    yield from _opened(postgres_url, tmp_path, 0.2)


@pytest.fixture
def trusting(postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    """A database whose connections are pinged only after an hour idle."""
    yield from _opened(postgres_url, tmp_path, 3600)


def _backend_pid(database: Database) -> int:
    with database.transaction() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database: Database, pid: int) -> None:
    # From a connection outside the pool, so the pooled one under test stays as it was.
    other = create_engine(database.engine.url, poolclass=NullPool)
    try:
        with other.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


def test_a_connection_the_server_ended_while_idle_is_replaced_unseen(patient: Database) -> None:
    first = _backend_pid(patient)
    _terminate(patient, first)
    time.sleep(0.3)

    second = _backend_pid(patient)

    assert second != first


def test_a_connection_used_a_moment_ago_is_used_without_a_ping(trusting: Database) -> None:
    pid = _backend_pid(trusting)
    _terminate(trusting, pid)

    with pytest.raises(StorageError):
        _backend_pid(trusting)

    # The failure renewed the pool: the next unit of work gets a live connection.
    assert _backend_pid(trusting) != pid


def test_only_a_connection_idle_past_the_setting_is_pinged(
    patient: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = patient.engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    _backend_pid(patient)
    _backend_pid(patient)
    _backend_pid(patient)
    busy = len(pings)
    time.sleep(0.3)
    _backend_pid(patient)

    assert (busy, len(pings)) == (0, 1)
