"""Real databases for the hub's integration tests: a SQLite file and PostgreSQL.

Every database-backed test runs on both. PostgreSQL tests get a database created for the test
session (and dropped after it) at ``LIENTHONG_TEST_POSTGRES_URL`` (default: the local server,
user postgres); they are skipped when no server answers, except under ``CI=true``, where a
missing server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub.db.database import Database, open_database
from hub.db.migrate import upgrade
from hub.db.models import Base
from hub.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "LIENTHONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's LIENTHONG_* variables out of the tests."""
    for name in list(os.environ):
        if name.upper().startswith("LIENTHONG_") and name != "LIENTHONG_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session; dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL)!r}: {exc.orig}"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true. {reason}")
        pytest.skip(reason)
    name = f"lienthong_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of an empty SQLite file."""
    return f"sqlite:///{(tmp_path / 'db' / 'lienthong.db').as_posix()}"


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """URL of the session's PostgreSQL database, emptied for this test."""
    engine = create_engine(postgres_server_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    return postgres_server_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each backend in turn."""
    return str(request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url"))


def settings_for(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing at ``url`` with state under ``tmp_path``."""
    return Settings(database_url=url, data_dir=tmp_path / "var", **overrides)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for the backend under test."""
    return settings_for(database_url, tmp_path)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """The backend under test, migrated to the head revision."""
    upgrade(settings)
    with open_database(settings) as opened:
        yield opened


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the hub, ordered by primary key."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


def table_names(engine: Engine) -> set[str]:
    """Names of the tables in the database's default schema."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            result = connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        else:
            result = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        return {str(name) for (name,) in result}
