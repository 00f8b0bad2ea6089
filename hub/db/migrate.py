"""Schema migrations run from code: upgrade, inspect and generate Alembic revisions.

The Alembic environment lives in ``hub/db/migrations``; no ``alembic.ini`` is needed because the
configuration is built here from the hub's settings, and migrations run on a connection made
by :func:`hub.db.engine.create_engine` (so SQLite gets the same pragmas as everywhere else).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hub.db.engine import create_engine, database_url, redacted_url
from hub.errors import SchemaOutOfDateError, StorageError
from hub.settings import Settings

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaState",
    "SchemaStatus",
    "alembic_config",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "new_revision",
    "schema_status",
    "upgrade",
    "write_upgrade_sql",
]

if TYPE_CHECKING:
    # Alembic is imported where a migration is inspected or run: a process whose schema is
    # current starts without it (see ensure_schema).
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^revision: str = "(\w+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision: str \| None = "(\w+)"$', re.MULTILINE)

_T = TypeVar("_T")
_log = structlog.get_logger(__name__)


class SchemaState(StrEnum):
    """Where a database stands relative to this version's migrations."""

    EMPTY = "empty"
    """No migration has ever run."""
    BEHIND = "behind"
    """An older revision: ``lienthong db upgrade`` brings it up to date."""
    CURRENT = "current"
    """At the head revision."""
    UNKNOWN = "unknown"
    """A revision this version does not know, e.g. written by a newer release."""


@dataclass(frozen=True)
class SchemaStatus:
    """The revision a database is at and the one this version of the hub needs."""

    state: SchemaState
    current: str | None
    head: str


def alembic_config(*, engine: Engine | None = None, dialect_name: str | None = None) -> Config:
    """The Alembic configuration of the hub, bound to an engine or, offline, to a dialect."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    if engine is not None:
        config.attributes["engine"] = engine
    if dialect_name is not None:
        config.attributes["dialect_name"] = dialect_name
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of the hub."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StorageError("the hub ships no migration revision")
    return head


def schema_status(engine: Engine) -> SchemaStatus:
    """Compare the database's revision with this version's head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    head = head_revision()
    with _storage_errors(engine), engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        state = SchemaState.EMPTY
    elif current == head:
        state = SchemaState.CURRENT
    elif current in {revision.revision for revision in script.walk_revisions()}:
        state = SchemaState.BEHIND
    else:
        state = SchemaState.UNKNOWN
    return SchemaStatus(state=state, current=current, head=head)


def upgrade(settings: Settings, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Apply every migration up to ``revision`` in one transaction.

    Raises:
        StorageError: the database cannot be reached or a migration fails.
    """
    from alembic import command

    with _engine_for(settings, engine) as bound:
        before = schema_status(bound).current
        _run(bound, lambda config: command.upgrade(config, revision))
        after = schema_status(bound).current
    if after != before:
        _log.info("schema.upgraded", database=redacted_url(bound.url), old=before, new=after)


def downgrade(settings: Settings, revision: str, *, engine: Engine | None = None) -> None:
    """Revert migrations down to ``revision`` (``base`` removes every table of the hub)."""
    from alembic import command

    with _engine_for(settings, engine) as bound:
        before = schema_status(bound).current
        _run(bound, lambda config: command.downgrade(config, revision))
        after = schema_status(bound).current
    _log.info("schema.downgraded", database=redacted_url(bound.url), old=before, new=after)


def write_upgrade_sql(settings: Settings, output: TextIO, revision: str = "head") -> None:
    """Write the SQL of the migrations from an empty database to ``revision``, for a DBA."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(dialect_name=database_url(settings).get_backend_name())
    config.output_buffer = output
    try:
        command.upgrade(config, revision, sql=True)
    except CommandError as exc:
        raise StorageError(f"cannot write the migration SQL: {exc}") from exc


def ensure_schema(settings: Settings, engine: Engine) -> SchemaStatus:
    """Bring the schema up to date where the settings allow it, otherwise insist on it.

    Raises:
        SchemaOutOfDateError: the schema is not current and may not be upgraded here, or was
            written by a newer release.
    """
    shipped = shipped_head()
    if shipped is not None and _stored_revision(engine) == shipped:
        return SchemaStatus(state=SchemaState.CURRENT, current=shipped, head=shipped)
    status = schema_status(engine)
    if status.state is SchemaState.CURRENT:
        return status
    url = redacted_url(engine.url)
    if status.state is SchemaState.UNKNOWN:
        raise SchemaOutOfDateError(
            f"database {url} is at revision {status.current}, which this version of lienthong "
            f"does not know (it needs {status.head}): upgrade lienthong"
        )
    policy = settings.database.auto_migrate
    if policy == "always" or (policy == "sqlite" and engine.dialect.name == "sqlite"):
        upgrade(settings, engine=engine)
        return schema_status(engine)
    found = "has no schema yet" if status.current is None else f"is at {status.current}"
    raise SchemaOutOfDateError(
        f"database {url} {found}, this version needs {status.head}: run `lienthong db upgrade`"
    )


def new_revision(message: str, settings: Settings, *, autogenerate: bool = True) -> Path:
    """Write the next numbered revision file, compared against an up-to-date database.

    Meant for developers changing the ORM classes: the database of ``settings`` must be at the
    head revision, and the new revision's id is the next four-digit number.
    """
    from alembic import command

    number = int(head_revision()) + 1

    def write(config: Config) -> Any:
        if importlib.util.find_spec("ruff") is not None:
            config.set_section_option("post_write_hooks", "hooks", "ruff_format")
            config.set_section_option("post_write_hooks", "ruff_format.type", "module")
            config.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
            config.set_section_option(
                "post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME"
            )
        return command.revision(
            config, message=message, autogenerate=autogenerate, rev_id=f"{number:04d}"
        )

    with _engine_for(settings, None) as bound:
        script = _run(bound, write)
    if script is None or isinstance(script, list):
        raise StorageError("alembic did not write exactly one revision")
    return Path(script.path)


@contextmanager
def _engine_for(settings: Settings, engine: Engine | None) -> Iterator[Engine]:
    if engine is not None:
        yield engine
        return
    owned = create_engine(settings)
    try:
        yield owned
    finally:
        owned.dispose()


def _run(engine: Engine, action: Callable[[Config], _T]) -> _T:
    """Run an Alembic ``action`` on ``engine`` in one transaction."""
    with _storage_errors(engine), engine.begin() as connection:
        config = alembic_config(engine=engine)
        config.attributes["connection"] = connection
        return action(config)


@contextmanager
def _storage_errors(engine: Engine) -> Iterator[None]:
    from alembic.util import CommandError

    try:
        yield
    except CommandError as exc:
        raise StorageError(f"migration failed on {redacted_url(engine.url)}: {exc}") from exc
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise StorageError(f"database {redacted_url(engine.url)}: {detail}") from exc


@cache
def shipped_head() -> str | None:
    """The head revision, read from the revision files without Alembic (None when they do
    not name exactly one): enough to see that a database is current."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("r*.py"):
        source = path.read_text("utf-8")
        found = _REVISION.search(source)
        if found is None:
            return None
        revisions.add(found.group(1))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None when none can be read."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None
