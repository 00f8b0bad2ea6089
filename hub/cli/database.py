"""Database schema: ``lienthong db upgrade|current|revision``."""

from __future__ import annotations

import argparse
import sys

from hub.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Groups,
    say,
)
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    db = groups.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(title="db commands", metavar="COMMAND")
    cmd = db_commands.add_parser("upgrade", help="apply pending migrations")
    cmd.add_argument("--revision", default="head", help="target revision (default: head)")
    cmd.add_argument(
        "--sql", action="store_true", help="print the SQL instead of running it (for a DBA)"
    )
    cmd.set_defaults(command=_db_upgrade)
    cmd = db_commands.add_parser("current", help="show the schema revision of the database")
    cmd.set_defaults(command=_db_current)
    cmd = db_commands.add_parser(
        "revision", help="(developers) write a migration from the ORM changes"
    )
    cmd.add_argument("-m", "--message", required=True, help="what the migration does")
    cmd.add_argument("--empty", action="store_true", help="write an empty migration")
    cmd.set_defaults(command=_db_revision)


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.db.engine import database_url, redacted_url
    from hub.db.migrate import schema_status, upgrade, write_upgrade_sql

    if args.sql:
        write_upgrade_sql(settings, sys.stdout, args.revision)
        return EXIT_OK
    upgrade(settings, args.revision)
    with open_database(settings, check_schema=False) as database:
        status = schema_status(database.engine)
    say(f"database {redacted_url(database_url(settings))} is at revision {status.current}")
    return EXIT_OK


def _db_current(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.db.migrate import SchemaState, schema_status

    with open_database(settings, check_schema=False) as database:
        status = schema_status(database.engine)
    print(f"{status.current or '(empty)'} ({status.state.value}; head is {status.head})")
    return EXIT_OK if status.state is SchemaState.CURRENT else EXIT_FAILURE


def _db_revision(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.migrate import new_revision

    path = new_revision(args.message, settings, autogenerate=not args.empty)
    print(path)
    return EXIT_OK
