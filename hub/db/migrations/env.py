"""Alembic environment: migrations run on the connection :mod:`hub.db.migrate` hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from hub.db.base import UTCDateTime
from hub.db.models import Base


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the hub's own column types as plain SQLAlchemy types in new revisions."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline(dialect_name: str) -> None:
    context.configure(
        dialect_name=dialect_name,
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    attributes = context.config.attributes
    if context.is_offline_mode():
        _run_offline(str(attributes["dialect_name"]))
        return
    connection = attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations with `lienthong db upgrade` (hub.db.migrate)")
    _run_online(connection)


_run()
