"""The agency directory: ``lienthong directory import|export|generate|sync-axis|changes``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import structlog

from hub.cli import changes
from hub.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Groups,
    count,
    level,
    say,
    write,
)
from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = ["register"]

_log = structlog.get_logger("hub.cli")


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    directory = groups.add_parser("directory", help="agency directory files")
    dir_commands = directory.add_subparsers(title="directory commands", metavar="COMMAND")
    cmd = dir_commands.add_parser("import", help="create or update agencies from a file")
    source = cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", type=Path, help="YAML or CSV file, '-' for stdin")
    source.add_argument("--sample", metavar="NAME", help="a shipped sample: hanoi")
    cmd.add_argument("--format", choices=("yaml", "csv"), help="default: from the file name")
    cmd.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    cmd.set_defaults(command=_directory_import)
    cmd = dir_commands.add_parser("export", help="write the whole directory")
    cmd.add_argument("--format", choices=("yaml", "csv"), default="yaml")
    cmd.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    cmd.set_defaults(command=_directory_export)
    cmd = dir_commands.add_parser("generate", help="write an illustrative full-size city")
    cmd.add_argument("--districts", type=count, default=30)
    cmd.add_argument("--communes-per-district", type=count, default=20)
    cmd.add_argument("--departments", type=count, default=40)
    cmd.add_argument("--offices-per-district", type=count, default=0)
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--province", default="H99", help="level-1 code part (default: H99)")
    cmd.add_argument("--format", choices=("yaml", "csv"), default="yaml")
    cmd.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    cmd.set_defaults(command=_directory_generate)
    cmd = dir_commands.add_parser(
        "sync-axis", help="create or update the agencies the national axis lists (channel axis)"
    )
    cmd.add_argument(
        "--central-level", type=level, default=1, help="level of ministries, Gxx (default: 1)"
    )
    cmd.add_argument(
        "--provincial-level",
        type=level,
        default=2,
        help="level of other provinces' committees and councils (default: 2)",
    )
    cmd.add_argument(
        "--default-level", type=level, default=1, help="level of non-QCVN codes (default: 1)"
    )
    cmd.add_argument("--dry-run", action="store_true", help="report, write nothing")
    cmd.set_defaults(command=_directory_sync_axis)
    changes.register(dir_commands)


def _directory_import(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.directory import (
        DirectoryFormat,
        import_directory,
        parse_directory,
        read_directory_file,
        sample_directory,
    )

    file_format: DirectoryFormat | None = args.format
    if args.sample is not None:
        directory = read_directory_file(sample_directory(args.sample))
    elif str(args.file) == "-":
        if file_format is None:
            say("lienthong: reading stdin needs --format yaml or --format csv")
            return EXIT_USAGE
        directory = parse_directory(sys.stdin.buffer.read(), file_format, source="<stdin>")
    else:
        directory = read_directory_file(args.file, file_format)
    with (
        open_database(settings) as database,
        database.transaction(commit=not args.dry_run) as session,
    ):
        report = import_directory(session, directory)
    verb = "would import" if args.dry_run else "imported"
    say(
        f"{verb} {directory.source}: {len(report.created)} created, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged"
        + (
            f"; levels {len(report.levels_created)} created, {len(report.levels_updated)} updated"
            if report.levels_created or report.levels_updated
            else ""
        )
    )
    _log.info(
        "directory.imported",
        source=directory.source,
        dry_run=args.dry_run,
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
    )
    return EXIT_OK


def _directory_export(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.directory import dump_directory, export_directory

    with open_database(settings) as database, database.transaction() as session:
        data = export_directory(session)
    write(dump_directory(data, args.format), args.output)
    if args.output is not None:
        say(f"exported {len(data.agencies)} agencies to {args.output}")
    return EXIT_OK


def _directory_generate(args: argparse.Namespace, settings: Settings) -> int:
    from hub.directory import dump_directory
    from hub.directory.citygen import CityPlan, generate_city

    plan = CityPlan(
        districts=args.districts,
        communes_per_district=args.communes_per_district,
        departments=args.departments,
        offices_per_district=args.offices_per_district,
        seed=args.seed,
        province=args.province,
    )
    try:
        data = generate_city(plan)
    except ValueError as exc:
        raise ConfigurationError(f"cannot generate this city: {exc}") from exc
    write(dump_directory(data, args.format), args.output)
    if args.output is not None:
        say(f"wrote {len(data.agencies)} agencies to {args.output}")
    return EXIT_OK


def _directory_sync_axis(args: argparse.Namespace, settings: Settings) -> int:
    from hub.axis.errors import AxisError
    from hub.axis.sync import LevelRule, own_root, sync_axis_agencies
    from hub.bootstrap import open_upstream_of
    from hub.db.database import open_database

    upstream = open_upstream_of(settings)
    if upstream is None:
        say("lienthong: no national axis is configured: set LIENTHONG_AXIS_URL")
        return EXIT_FAILURE
    try:
        agencies = upstream.list_agencies()
    except AxisError as exc:
        say(f"lienthong: {exc}")
        return EXIT_FAILURE
    finally:
        upstream.close()
    rule = LevelRule(
        central=args.central_level, provincial=args.provincial_level, default=args.default_level
    )
    with (
        open_database(settings) as database,
        database.transaction(commit=not args.dry_run) as session,
    ):
        report = sync_axis_agencies(
            session,
            agencies,
            rule=rule,
            city_root=own_root(settings.axis.organ_id),
            settings={"system": settings.axis.kind},
        )
    for label, codes in (
        ("created", report.created),
        ("updated", report.updated),
        ("local", report.local),
        ("invalid", report.invalid),
    ):
        for code in codes:
            print(f"{label}\t{code}")
    verb = "would sync" if args.dry_run else "synced"
    say(
        f"{verb} {len(agencies)} agencies of the national axis: {len(report.created)} created, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.local)} left to the local directory, {len(report.invalid)} invalid codes"
    )
    return EXIT_OK
