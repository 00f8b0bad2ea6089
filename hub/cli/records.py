"""Operators' tools on what the hub holds: ``lienthong replay``, ``retention`` and ``audit``."""

from __future__ import annotations

import argparse
from datetime import timedelta

from hub.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Groups,
    cli_actor,
    count,
    moment,
    say,
    when,
)
from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    cmd = groups.add_parser("replay", help="re-queue parked or expired deliveries (audited)")
    cmd.add_argument("--state", choices=("parked", "expired"), required=True)
    cmd.add_argument("--recipient", metavar="CODE", help="only deliveries to this agency")
    cmd.add_argument(
        "--since", type=moment, metavar="T", help="only those in the state since T (ISO 8601)"
    )
    cmd.add_argument("--id", dest="ids", action="append", default=[], help="a delivery id")
    cmd.add_argument("--reason", default="", help="why (required unless --dry-run)")
    cmd.add_argument("--limit", type=count, help="at most this many (default: 10000, the most)")
    cmd.add_argument("--actor", help="who replays (default: cli:<login name>)")
    cmd.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    cmd.set_defaults(command=_replay)

    cmd = groups.add_parser(
        "retention",
        help="remove the bytes of finished packets and orphaned bytes (dry run first)",
        description="Delete from the payload store the bytes of packets received more than "
        "--days ago whose every delivery is delivered or refused (records, timelines and the "
        "audit log stay), and bytes no packet refers to, written more than --orphan-hours ago. "
        "Parked, expired and in-flight packets are never touched.",
    )
    cmd.add_argument("--days", type=count, required=True, help="keep finished packets this long")
    cmd.add_argument("--orphan-hours", type=float, default=1.0, help="grace for unreferenced bytes")
    cmd.add_argument("--reason", default="", help="why (required unless --dry-run)")
    cmd.add_argument("--actor", help="who purges (default: cli:<login name>)")
    cmd.add_argument("--dry-run", action="store_true", help="count them, delete nothing")
    cmd.set_defaults(command=_retention)

    audit_parser = groups.add_parser("audit", help="the hash-chained audit log")
    audit_commands = audit_parser.add_subparsers(title="audit commands", metavar="COMMAND")
    cmd = audit_commands.add_parser("verify", help="check every entry's hash and link")
    cmd.set_defaults(command=_audit_verify)
    cmd = audit_commands.add_parser("list", help="the newest entries")
    cmd.add_argument("--limit", type=count, default=20)
    cmd.set_defaults(command=_audit_list)


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from hub.bootstrap import open_blob_store
    from hub.db.database import open_database
    from hub.records.retention import delete_purged, purge_payloads, sweep_orphans

    if not args.dry_run and not args.reason.strip():
        raise ConfigurationError("a purge needs --reason; it is kept in the audit log")
    with open_database(settings) as database:
        blobs = open_blob_store(settings, database)
        with database.transaction(commit=not args.dry_run) as session:
            payloads = purge_payloads(
                session,
                blobs,
                older_than=timedelta(days=args.days),
                actor=args.actor or cli_actor(),
                reason=args.reason,
                dry_run=args.dry_run,
            )
        # The bytes go only after the purge is committed (a failed commit deletes nothing).
        if not args.dry_run:
            delete_purged(blobs, payloads)
        with database.transaction() as session:
            orphans = sweep_orphans(
                session,
                blobs,
                orphan_grace=timedelta(hours=args.orphan_hours),
                dry_run=args.dry_run,
            )
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} the bytes of {payloads.packets} finished packets ({payloads.bytes} bytes) "
        f"and {orphans.orphans} orphaned blobs"
    )
    return EXIT_OK


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.transport.replay import MAX_REPLAY, ReplayFilter, replay

    selection = ReplayFilter(
        state=args.state,
        recipient=args.recipient,
        since=args.since,
        delivery_ids=tuple(args.ids),
        limit=MAX_REPLAY if args.limit is None else max(1, min(args.limit, MAX_REPLAY)),
    )
    with (
        open_database(settings) as database,
        database.transaction(commit=not args.dry_run) as session,
    ):
        report = replay(
            session,
            selection,
            actor=args.actor or cli_actor(),
            reason=args.reason,
            dry_run=args.dry_run,
        )
    for item in report.deliveries:
        error = (item.last_error or "").replace("\n", " ")[:120]
        print(
            f"{item.delivery_id}\t{item.recipient}\t{item.channel.value}\t{item.state.value}"
            f"\t{item.attempts}\t{when(item.since)}\t{error}"
        )
    verb = "would replay" if report.dry_run else "replayed"
    entry = f" (audit entry {report.audit_entry_id})" if report.audit_entry_id else ""
    say(f"{verb} {len(report.deliveries)} {args.state} deliveries{entry}")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.records import audit

    with open_database(settings) as database, database.transaction() as session:
        result = audit.verify(session)
    if result.ok:
        print(f"audit log intact: {result.entries} entries, head {result.head_hash}")
        return EXIT_OK
    print(f"audit log BROKEN at entry {result.first_broken_id}: {result.problem}")
    print(f"{result.entries} entries before it verify")
    return EXIT_FAILURE


def _audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.records import audit

    with open_database(settings) as database, database.transaction() as session:
        entries = audit.latest(session, max(args.limit, 1))
    for entry in entries:
        reason = f"\t{entry.reason}" if entry.reason else ""
        print(
            f"{entry.id}\t{when(entry.at)}\t{entry.actor}\t{entry.action}\t{entry.subject}"
            f"{reason}\t{entry.hash[:16]}"
        )
    return EXIT_OK
