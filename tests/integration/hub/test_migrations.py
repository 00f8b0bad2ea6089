"""Migrations: they build the ORM's schema on SQLite and PostgreSQL, and guard its revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from hub.bootstrap import open_database
from hub.db.engine import create_engine
from hub.db.migrate import (
    SchemaState,
    downgrade,
    ensure_schema,
    head_revision,
    schema_status,
    upgrade,
)
from hub.db.models import Base
from hub.errors import SchemaOutOfDateError
from hub.settings import Settings

from .conftest import settings_for, table_names

pytestmark = pytest.mark.integration

DIRECTORY_TABLES = {"agency_levels", "agencies", "agency_tokens", "agency_delegations"}


def test_upgrade_creates_the_directory_tables(settings: Settings) -> None:
    upgrade(settings)

    engine = create_engine(settings)
    try:
        assert table_names(engine) >= DIRECTORY_TABLES | {"alembic_version"}
        assert schema_status(engine).state is SchemaState.CURRENT
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_orm_models(settings: Settings) -> None:
    upgrade(settings)

    engine = create_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_second_upgrade_changes_nothing(settings: Settings) -> None:
    upgrade(settings)

    upgrade(settings)

    engine = create_engine(settings)
    try:
        assert schema_status(engine).current == head_revision()
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_of_the_hub(settings: Settings) -> None:
    upgrade(settings)

    downgrade(settings, "base")

    engine = create_engine(settings)
    try:
        assert table_names(engine) & DIRECTORY_TABLES == set()
        assert schema_status(engine).state is SchemaState.EMPTY
    finally:
        engine.dispose()


def test_empty_sqlite_database_is_upgraded_on_first_use(sqlite_url: str, tmp_path: Path) -> None:
    with open_database(settings_for(sqlite_url, tmp_path)) as database:
        assert schema_status(database.engine).state is SchemaState.CURRENT


def test_empty_postgresql_database_asks_for_db_upgrade(postgres_url: str, tmp_path: Path) -> None:
    settings = settings_for(postgres_url, tmp_path)

    with (
        pytest.raises(SchemaOutOfDateError, match="run `lienthong db upgrade`"),
        open_database(settings),
    ):
        pass


def test_auto_migrate_always_upgrades_a_server_database(postgres_url: str, tmp_path: Path) -> None:
    settings = settings_for(postgres_url, tmp_path, auto_migrate="always")

    with open_database(settings) as database:
        assert schema_status(database.engine).state is SchemaState.CURRENT


def test_auto_migrate_never_leaves_sqlite_to_the_operator(sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sqlite_url, tmp_path, auto_migrate="never")

    with pytest.raises(SchemaOutOfDateError, match="has no schema yet"), open_database(settings):
        pass


def test_database_from_a_newer_release_is_refused(settings: Settings) -> None:
    upgrade(settings)
    engine = create_engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

        with pytest.raises(SchemaOutOfDateError, match="upgrade lienthong"):
            ensure_schema(settings, engine)
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys_with_wal(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_engine(settings_for(sqlite_url, tmp_path))
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 5000}
