"""Migrations: they build the ORM's schema on SQLite and PostgreSQL, and guard its revision."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from hub.db.database import open_database
from hub.db.engine import create_engine
from hub.db.migrate import (
    SchemaState,
    downgrade,
    ensure_schema,
    head_revision,
    schema_status,
    upgrade,
)
from hub.db.models import Base, DocumentRecipient
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


def test_revision_0006_fills_the_first_answer_times_from_the_status_events(
    settings: Settings,
) -> None:
    upgrade(settings, "0005")
    engine = create_engine(settings)
    at = {n: datetime(2026, 11, 20, n, tzinfo=UTC) for n in range(1, 8)}
    tables = Base.metadata.tables
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(tables["packets"]),
                [
                    {
                        "id": packet,
                        "kind": "edoc",
                        "sha256": packet,
                        "size": 1,
                        "sender_code": "W",
                        "document_id": "D",
                        "signature_status": "unsigned",
                        "received_at": at[1],
                    }
                    for packet in ("doc", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
                ],
            )
            connection.execute(
                insert(tables["document_recipients"]),
                [
                    {
                        "sender_code": "W",
                        "document_id": "D",
                        "recipient_code": recipient,
                        "packet_id": "doc",
                        "created_at": at[2],
                        "updated_at": at[2],
                    }
                    for recipient in ("A", "B", "C", "E")
                ],
            )
            # A: 01 before the document, 01 again, 04 then a late 03; B: refused then 03;
            # C: only a change answer; E: nothing; F: a status about no known recipient.
            connection.execute(
                insert(tables["status_events"]),
                [
                    {
                        "packet_id": packet,
                        "document_sender_code": "W",
                        "document_id": "D",
                        "recipient_code": recipient,
                        "reporter_code": recipient,
                        "status_code": code,
                        "received_at": at[hour],
                        "document_known": True,
                        "effect": "advanced",
                    }
                    for packet, recipient, code, hour in [
                        ("s1", "A", "01", 1),
                        ("s2", "A", "01", 3),
                        ("s3", "A", "04", 5),
                        ("s4", "A", "03", 6),
                        ("s5", "B", "02", 4),
                        ("s6", "B", "03", 7),
                        ("s7", "C", "15", 3),
                        ("s7", "F", "03", 3),
                    ]
                ],
            )

        upgrade(settings)

        with Session(engine) as session:
            rows = {
                row.recipient_code: (row.first_ack_at, row.first_accept_at)
                for row in session.scalars(select(DocumentRecipient))
            }
    finally:
        engine.dispose()
    assert rows == {
        "A": (at[1], at[5]),
        "B": (at[4], at[7]),
        "C": (None, None),
        "E": (None, None),
    }
