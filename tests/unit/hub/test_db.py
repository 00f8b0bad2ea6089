"""Database plumbing without a server: URLs, migration chain and offline SQL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from hub.db.engine import database_url, redacted_url
from hub.db.migrate import alembic_config, write_upgrade_sql
from hub.errors import ConfigurationError
from hub.settings import Settings


def test_plain_postgresql_url_uses_the_psycopg_driver() -> None:
    url = database_url(Settings(database_url="postgresql://hub@db.internal/lienthong"))

    assert url.drivername == "postgresql+psycopg"


def test_unparsable_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_DATABASE_URL"):
        database_url(Settings(database_url="not a url"))


def test_redacted_url_hides_the_password() -> None:
    shown = redacted_url("postgresql+psycopg://hub:s3cret@db/lienthong")

    assert "s3cret" not in shown
    assert shown.startswith("postgresql+psycopg://hub:")


def test_revisions_form_one_numbered_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config())

    revisions = list(reversed(list(script.walk_revisions())))
    numbers = [int(revision.revision) for revision in revisions]
    assert len(script.get_heads()) == 1
    assert all(revision.revision == f"{int(revision.revision):04d}" for revision in revisions)
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(
        Path(revision.path).name.startswith(f"r{revision.revision}_") for revision in revisions
    )


def test_upgrade_sql_for_postgresql_creates_the_directory_tables() -> None:
    output = io.StringIO()

    write_upgrade_sql(Settings(database_url="postgresql://hub@db/lienthong"), output)

    sql = output.getvalue()
    for table in ("agency_levels", "agencies", "agency_tokens", "agency_delegations"):
        assert f"CREATE TABLE {table} (" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql
