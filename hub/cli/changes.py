"""Dated changes of the directory: ``lienthong directory changes import|list|apply``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hub.cli.common import EXIT_OK, EXIT_USAGE, Groups, cli_actor, say, when
from hub.db.database import open_database
from hub.directory import DirectoryFormat, parse_changes, read_change_file, sample_changes
from hub.directory.reorganise import (
    ChangeReport,
    ChangeView,
    apply_due,
    list_changes,
    record_changes,
)
from hub.settings import Settings

__all__ = ["register"]


def register(directory_commands: Groups) -> None:
    """Add ``directory changes`` to the directory group's commands."""
    changes = directory_commands.add_parser(
        "changes", help="dated changes: merges, splits, dissolutions, renames, levels"
    )
    commands = changes.add_subparsers(title="changes commands", metavar="COMMAND")
    cmd = commands.add_parser(
        "import", help="record dated changes from a YAML or CSV file (checked as a whole)"
    )
    source = cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", help="YAML or CSV file, '-' for stdin")
    source.add_argument("--sample", metavar="NAME", help="a shipped sample: hanoi-2025")
    cmd.add_argument("--format", choices=("yaml", "csv"), help="default: from the file name")
    cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="check, and list the deliveries on their way that the changes move; write nothing",
    )
    cmd.add_argument("--by", help="who records them (default: cli:<your user name>)")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.set_defaults(command=_import)
    cmd = commands.add_parser("list", help="the recorded changes, latest first")
    cmd.add_argument("--code", help="only the changes that touch this agency")
    cmd.add_argument("--json", action="store_true", help="print them as JSON")
    cmd.set_defaults(command=_list)
    cmd = commands.add_parser(
        "apply", help="apply now the changes that took effect (the relay does it on its own)"
    )
    cmd.set_defaults(command=_apply)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    file_format: DirectoryFormat | None = args.format
    if args.sample is not None:
        changes = read_change_file(sample_changes(args.sample))
    elif args.file == "-":
        if file_format is None:
            say("lienthong: reading stdin needs --format yaml or --format csv")
            return EXIT_USAGE
        changes = parse_changes(sys.stdin.buffer.read(), file_format, source="<stdin>")
    else:
        changes = read_change_file(Path(args.file), file_format)
    with (
        open_database(settings) as database,
        database.transaction(commit=not args.dry_run) as session,
    ):
        report = record_changes(
            session, changes, actor=args.by or cli_actor(), dry_run=args.dry_run
        )
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    return EXIT_OK


def _print_report(report: ChangeReport) -> None:
    verb = "would record" if report.dry_run else "recorded"
    for view in report.recorded:
        print(_line(verb, view))
    for key in report.unchanged:
        print(f"unchanged\t{key}")
    if report.affected:
        print(f"deliveries on their way now that these changes move ({len(report.affected)}):")
        for item in report.affected:
            target = f" → {item.to}" if item.to else ""
            print(
                f"  {item.delivery_id}\t{item.document_id}\t{item.sender} → {item.recipient}"
                f"\t{item.state}\t{item.action}{target}\t({item.change}, {when(item.effective_at)})"
            )
    else:
        print("no delivery on its way now is moved by these changes")
    applied = f"; applied at once: {len(report.applied)}" if report.applied else ""
    say(
        f"{verb} {len(report.recorded)} change(s) from {report.source}, "
        f"{len(report.unchanged)} unchanged{applied}"
    )


def _line(label: str, view: ChangeView) -> str:
    applied = f"\tapplied {when(view.applied_at)}" if view.applied_at else ""
    return (
        f"{label}\t{view.key}\t{when(view.effective_at)}\t{view.kind.value}\t{view.summary}"
        f"\t[{view.act}]{applied}"
    )


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction(commit=False) as session:
        views = list_changes(session, code=args.code)
    if args.json:
        print(json.dumps([view.model_dump(mode="json") for view in views], ensure_ascii=False))
        return EXIT_OK
    for view in views:
        applied = f"applied {when(view.applied_at)}" if view.applied_at else "not yet applied"
        print(
            f"{view.key}\t{when(view.effective_at)}\t{view.kind.value}\t{view.summary}"
            f"\t[{view.act}]\trecorded by {view.recorded_by} {when(view.recorded_at)}\t{applied}"
        )
    say(f"{len(views)} change(s)")
    return EXIT_OK


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        applied = apply_due(session)
    for item in applied:
        print(
            f"applied\t{item.key}\tredirected {item.redirected}, merged {item.merged}, "
            f"parked {item.parked}"
        )
    say(f"applied {len(applied)} change(s)")
    return EXIT_OK
