"""``lienthong payloads``: the payload store, and moving a folder store into the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.bootstrap import open_blob_store
from hub.cli.common import EXIT_FAILURE, EXIT_OK, Groups, say
from hub.db.database import open_database
from hub.errors import StorageError
from hub.payloads import BlobStoreError
from hub.records.payload_copy import copy_payloads
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    payloads = groups.add_parser("payloads", help="the payload store (LIENTHONG_PAYLOAD_STORE)")
    commands = payloads.add_subparsers(title="payloads commands", metavar="COMMAND")
    cmd = commands.add_parser(
        "migrate",
        help="copy the folder store into the database store",
        description="Copy every blob of the folder store (LIENTHONG_BLOB_DIR, or --from) "
        "that the database store of LIENTHONG_DATABASE_URL lacks, streamed and checked "
        "against its SHA-256. Safe to run again, and beside a running hub; then set "
        "LIENTHONG_PAYLOAD_STORE=database on every process, restart them, and run it once "
        "more for what was stored meanwhile.",
    )
    cmd.add_argument("--from", dest="folder", type=Path, help="the folder (LIENTHONG_BLOB_DIR)")
    cmd.add_argument("--dry-run", action="store_true", help="count them, copy nothing")
    cmd.set_defaults(command=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    folder_settings = settings.replace(
        blob_dir=args.folder or settings.storage.blob_dir, payload_store="files"
    )
    with open_database(settings) as database:
        source = open_blob_store(folder_settings, database)
        target = open_blob_store(settings.replace(payload_store="database"), database)
        try:
            report = copy_payloads(source, target, dry_run=args.dry_run)
        except BlobStoreError as exc:
            raise StorageError(f"the payload store failed: {exc}") from exc
    verb = "would copy" if report.dry_run else "copied"
    print(
        f"{verb} {report.copied} blobs ({report.bytes} bytes) from "
        f"{folder_settings.storage.blob_dir}; {report.present} already in the database"
    )
    for key in report.damaged:
        say(f"lienthong: {key}: its bytes do not match its name (damaged or unreadable): skipped")
    return EXIT_FAILURE if report.damaged else EXIT_OK
