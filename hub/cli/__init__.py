"""The ``lienthong`` command: database, directory, tokens, the API server, replay and audit,
the national axis (agency sync, receive loops), and the console's users.

Exit codes: 0 success, 1 failure (the message says what to fix), 2 wrong usage. Results go to
standard output, messages and logs to standard error, so output can be piped or redirected.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
import uvicorn

from adapters.axis import AxisError, MessageType
from hub.auth.callers import issue_operator_token, list_operator_tokens, revoke_operator_token
from hub.auth.tokens import issue_token, list_tokens, revoke_token
from hub.axis.poller import MESSAGE_TYPES
from hub.axis.sync import LevelRule, own_root, sync_axis_agencies
from hub.bootstrap import build_api, open_axis_poller, open_blob_store, open_upstream_of, server_tls
from hub.cli import processes
from hub.console.users import add_user, list_users, set_active, set_password, set_role
from hub.db.database import open_database
from hub.db.engine import database_url, redacted_url
from hub.db.migrate import (
    SchemaState,
    new_revision,
    schema_status,
    upgrade,
    write_upgrade_sql,
)
from hub.db.models import ConsoleRole
from hub.directory import (
    DirectoryFormat,
    children,
    dump_directory,
    export_directory,
    get_agency,
    import_directory,
    parse_directory,
    read_directory_file,
    sample_directory,
)
from hub.directory.citygen import CityPlan, generate_city
from hub.errors import ConfigurationError, HubError
from hub.known_warnings import silence_known_warnings
from hub.logging import configure_logging
from hub.records import audit
from hub.records.retention import delete_purged, purge_payloads, sweep_orphans
from hub.settings import Settings, load_settings
from hub.transport.replay import MAX_REPLAY, ReplayFilter, replay

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_Command = Callable[[argparse.Namespace, Settings], int]
_log = structlog.get_logger("hub.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lienthong`` command and return its exit code."""
    silence_known_warnings()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: _Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"lienthong: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    configure_logging(settings.log_level, settings.log_format)
    try:
        return command(args, settings)
    except HubError as exc:
        print(f"lienthong: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lienthong",
        description="Administer the lienthong edXML interchange hub.",
        epilog="Configuration comes from LIENTHONG_* environment variables.",
    )
    groups = parser.add_subparsers(title="commands", metavar="COMMAND")

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
    cmd.add_argument("--districts", type=_count, default=30)
    cmd.add_argument("--communes-per-district", type=_count, default=20)
    cmd.add_argument("--departments", type=_count, default=40)
    cmd.add_argument("--offices-per-district", type=_count, default=0)
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--province", default="H99", help="level-1 code part (default: H99)")
    cmd.add_argument("--format", choices=("yaml", "csv"), default="yaml")
    cmd.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    cmd.set_defaults(command=_directory_generate)
    cmd = dir_commands.add_parser(
        "sync-axis", help="create or update the agencies the national axis lists (channel axis)"
    )
    cmd.add_argument(
        "--central-level", type=_level, default=1, help="level of ministries, Gxx (default: 1)"
    )
    cmd.add_argument(
        "--provincial-level",
        type=_level,
        default=2,
        help="level of other provinces' committees and councils (default: 2)",
    )
    cmd.add_argument(
        "--default-level", type=_level, default=1, help="level of non-QCVN codes (default: 1)"
    )
    cmd.add_argument("--dry-run", action="store_true", help="report, write nothing")
    cmd.set_defaults(command=_directory_sync_axis)

    agency = groups.add_parser("agency", help="agencies and their API tokens")
    agency_commands = agency.add_subparsers(title="agency commands", metavar="COMMAND")
    cmd = agency_commands.add_parser("show", help="an agency and its children")
    cmd.add_argument("code")
    cmd.set_defaults(command=_agency_show)
    cmd = agency_commands.add_parser("token", help="issue an API token (shown once)")
    cmd.add_argument("code")
    cmd.add_argument("--label", default="", help="what the token is for, e.g. 'iOffice prod'")
    cmd.set_defaults(command=_agency_token)
    cmd = agency_commands.add_parser("tokens", help="list an agency's tokens")
    cmd.add_argument("code")
    cmd.set_defaults(command=_agency_tokens)
    cmd = agency_commands.add_parser("revoke-token", help="revoke one token of an agency")
    cmd.add_argument("code")
    cmd.add_argument("token_id", type=int, help="the id shown by `lienthong agency tokens`")
    cmd.set_defaults(command=_agency_revoke_token)

    operator = groups.add_parser("operator", help="operators and their API tokens")
    operator_commands = operator.add_subparsers(title="operator commands", metavar="COMMAND")
    cmd = operator_commands.add_parser("token", help="issue an operator API token (shown once)")
    cmd.add_argument("name", help="the operator's name, recorded in the audit log")
    cmd.add_argument("--label", default="", help="what the token is for")
    cmd.set_defaults(command=_operator_token)
    cmd = operator_commands.add_parser("tokens", help="list operator tokens")
    cmd.add_argument("name", nargs="?", help="only this operator's tokens")
    cmd.set_defaults(command=_operator_tokens)
    cmd = operator_commands.add_parser("revoke-token", help="revoke an operator token")
    cmd.add_argument("token_id", type=int, help="the id shown by `lienthong operator tokens`")
    cmd.set_defaults(command=_operator_revoke_token)

    user = groups.add_parser("user", help="users of the monitoring console (/console/)")
    user_commands = user.add_subparsers(title="user commands", metavar="COMMAND")
    roles = [role.value for role in ConsoleRole]
    cmd = user_commands.add_parser("add", help="create a console user")
    cmd.add_argument("name")
    cmd.add_argument("--role", choices=roles, required=True)
    cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cmd.set_defaults(command=_user_add)
    cmd = user_commands.add_parser("list", help="list console users")
    cmd.set_defaults(command=_user_list)
    cmd = user_commands.add_parser("disable", help="disable a user (ends the user's sessions)")
    cmd.add_argument("name")
    cmd.set_defaults(command=_user_disable)
    cmd = user_commands.add_parser("enable", help="enable a disabled user")
    cmd.add_argument("name")
    cmd.set_defaults(command=_user_enable)
    cmd = user_commands.add_parser("password", help="set a user's password")
    cmd.add_argument("name")
    cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cmd.set_defaults(command=_user_password)
    cmd = user_commands.add_parser("role", help="change a user's role")
    cmd.add_argument("name")
    cmd.add_argument("role", choices=roles)
    cmd.set_defaults(command=_user_role)

    cmd = groups.add_parser("serve", help="run the HTTP API (LIENTHONG_HOST:LIENTHONG_PORT)")
    cmd.set_defaults(command=_serve)

    cmd = groups.add_parser("replay", help="re-queue parked or expired deliveries (audited)")
    cmd.add_argument("--state", choices=("parked", "expired"), required=True)
    cmd.add_argument("--recipient", metavar="CODE", help="only deliveries to this agency")
    cmd.add_argument(
        "--since", type=_moment, metavar="T", help="only those in the state since T (ISO 8601)"
    )
    cmd.add_argument("--id", dest="ids", action="append", default=[], help="a delivery id")
    cmd.add_argument("--reason", default="", help="why (required unless --dry-run)")
    cmd.add_argument("--limit", type=_count, default=MAX_REPLAY)
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
    cmd.add_argument("--days", type=_count, required=True, help="keep finished packets this long")
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
    cmd.add_argument("--limit", type=_count, default=20)
    cmd.set_defaults(command=_audit_list)

    cmd = groups.add_parser(
        "worker", help="deliver queued packets (LIENTHONG_WORKER_THREADS at a time)"
    )
    cmd.add_argument("--threads", type=int, help="consumers (default: LIENTHONG_WORKER_THREADS)")
    cmd.set_defaults(command=_worker)
    cmd = groups.add_parser("relay", help="publish the outbox to RabbitMQ")
    cmd.set_defaults(command=_relay)
    axis = groups.add_parser("axis", help="the national axis (LIENTHONG_AXIS_*)")
    axis_commands = axis.add_subparsers(title="axis commands", metavar="COMMAND")
    cmd = axis_commands.add_parser(
        "poll", help="receive what the axis holds for the city (edoc and status loops)"
    )
    cmd.add_argument("--once", action="store_true", help="one round of each loop, then exit")
    cmd.add_argument(
        "--kind", choices=MESSAGE_TYPES, action="append", help="only this loop (repeatable)"
    )
    cmd.set_defaults(command=_axis_poll)
    cmd = groups.add_parser(
        "run", help="relay, worker, API server (and the axis poller) together on this machine"
    )
    cmd.add_argument("--port", type=int, help="port of the API (default: LIENTHONG_PORT)")
    cmd.set_defaults(command=_run)
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {value}")
    return value


def _level(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError("levels start at 1")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    if args.sql:
        write_upgrade_sql(settings, sys.stdout, args.revision)
        return EXIT_OK
    upgrade(settings, args.revision)
    with open_database(settings, check_schema=False) as database:
        status = schema_status(database.engine)
    _say(f"database {redacted_url(database_url(settings))} is at revision {status.current}")
    return EXIT_OK


def _db_current(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings, check_schema=False) as database:
        status = schema_status(database.engine)
    print(f"{status.current or '(empty)'} ({status.state.value}; head is {status.head})")
    return EXIT_OK if status.state is SchemaState.CURRENT else EXIT_FAILURE


def _db_revision(args: argparse.Namespace, settings: Settings) -> int:
    path = new_revision(args.message, settings, autogenerate=not args.empty)
    print(path)
    return EXIT_OK


def _directory_import(args: argparse.Namespace, settings: Settings) -> int:
    file_format: DirectoryFormat | None = args.format
    if args.sample is not None:
        directory = read_directory_file(sample_directory(args.sample))
    elif str(args.file) == "-":
        if file_format is None:
            _say("lienthong: reading stdin needs --format yaml or --format csv")
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
    _say(
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
    with open_database(settings) as database, database.transaction() as session:
        data = export_directory(session)
    _write(dump_directory(data, args.format), args.output)
    if args.output is not None:
        _say(f"exported {len(data.agencies)} agencies to {args.output}")
    return EXIT_OK


def _directory_generate(args: argparse.Namespace, settings: Settings) -> int:
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
    _write(dump_directory(data, args.format), args.output)
    if args.output is not None:
        _say(f"wrote {len(data.agencies)} agencies to {args.output}")
    return EXIT_OK


def _directory_sync_axis(args: argparse.Namespace, settings: Settings) -> int:
    upstream = open_upstream_of(settings)
    if upstream is None:
        _say("lienthong: no national axis is configured: set LIENTHONG_AXIS_URL")
        return EXIT_FAILURE
    try:
        agencies = upstream.list_agencies()
    except AxisError as exc:
        _say(f"lienthong: {exc}")
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
            city_root=own_root(settings.axis_organ_id),
            settings={"system": settings.upstream_kind},
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
    _say(
        f"{verb} {len(agencies)} agencies of the national axis: {len(report.created)} created, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.local)} left to the local directory, {len(report.invalid)} invalid codes"
    )
    return EXIT_OK


def _agency_show(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        agency = get_agency(session, args.code)
        below = children(session, args.code)
    flags = [
        flag
        for flag, present in (
            ("inactive", not agency.active),
            ("illustrative", agency.illustrative),
        )
        if present
    ]
    print(f"{agency.code}  {agency.name}" + (f"  [{', '.join(flags)}]" if flags else ""))
    print(f"  level    {agency.level} ({agency.level_name})")
    print(f"  parent   {agency.parent_code or '-'}")
    print(f"  channel  {agency.channel.value} {dict(agency.channel_settings) or ''}".rstrip())
    print(f"  children {len(below)}")
    for child in below:
        print(f"    {child.code}  {child.name}")
    return EXIT_OK


def _agency_token(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        issued = issue_token(session, args.code, args.label)
    print(issued.token)
    _say(f"token {issued.id} issued to {issued.owner}; it is shown only once, store it now")
    _log.info("token.issued", agency=issued.owner, token_id=issued.id)
    return EXIT_OK


def _agency_tokens(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        tokens = list_tokens(session, args.code)
    if not tokens:
        _say(f"{args.code} has no tokens: issue one with `lienthong agency token {args.code}`")
    for token in tokens:
        state = "active" if token.active else f"revoked {_when(token.revoked_at)}"
        used = _when(token.last_used_at) if token.last_used_at else "never used"
        print(f"{token.id}\t{token.prefix}…\t{state}\t{used}\t{token.label}")
    return EXIT_OK


def _agency_revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        token = revoke_token(session, args.code, args.token_id)
    _say(f"token {token.id} of {token.owner} revoked at {_when(token.revoked_at)}")
    _log.info("token.revoked", agency=token.owner, token_id=token.id)
    return EXIT_OK


def _operator_token(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        issued = issue_operator_token(session, args.name, args.label)
        audit.append(
            session,
            actor=_cli_actor(),
            action="operator.token-issued",
            subject=f"operator:{issued.owner}",
            details={"token_id": issued.id, "label": issued.label},
        )
    print(issued.token)
    _say(f"operator token {issued.id} issued to {issued.owner}; it is shown only once")
    _log.info("operator_token.issued", operator=issued.owner, token_id=issued.id)
    return EXIT_OK


def _operator_tokens(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        tokens = list_operator_tokens(session, args.name)
    if not tokens:
        _say("no operator tokens: issue one with `lienthong operator token NAME`")
    for token in tokens:
        state = "active" if token.active else f"revoked {_when(token.revoked_at)}"
        used = _when(token.last_used_at) if token.last_used_at else "never used"
        print(f"{token.id}\t{token.owner}\t{token.prefix}…\t{state}\t{used}\t{token.label}")
    return EXIT_OK


def _operator_revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        token = revoke_operator_token(session, args.token_id)
        audit.append(
            session,
            actor=_cli_actor(),
            action="operator.token-revoked",
            subject=f"operator:{token.owner}",
            details={"token_id": token.id},
        )
    _say(f"operator token {token.id} of {token.owner} revoked at {_when(token.revoked_at)}")
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    tls = server_tls(settings)
    with open_database(settings) as database:
        app = build_api(settings, database)
        mutual = " (client certificates required)" if "ssl_ca_certs" in tls else ""
        _say(
            f"lienthong API on {settings.api_scheme}://{settings.host}:{settings.port}{mutual} "
            "(OpenAPI: /openapi.json)"
        )
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, **tls)
    return EXIT_OK


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    if not args.dry_run and not args.reason.strip():
        raise ConfigurationError("a purge needs --reason; it is kept in the audit log")
    blobs = open_blob_store(settings)
    with open_database(settings) as database:
        with database.transaction(commit=not args.dry_run) as session:
            payloads = purge_payloads(
                session,
                blobs,
                older_than=timedelta(days=args.days),
                actor=args.actor or _cli_actor(),
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
    selection = ReplayFilter(
        state=args.state,
        recipient=args.recipient,
        since=args.since,
        delivery_ids=tuple(args.ids),
        limit=max(1, min(args.limit, MAX_REPLAY)),
    )
    with (
        open_database(settings) as database,
        database.transaction(commit=not args.dry_run) as session,
    ):
        report = replay(
            session,
            selection,
            actor=args.actor or _cli_actor(),
            reason=args.reason,
            dry_run=args.dry_run,
        )
    for item in report.deliveries:
        error = (item.last_error or "").replace("\n", " ")[:120]
        print(
            f"{item.delivery_id}\t{item.recipient}\t{item.channel.value}\t{item.state.value}"
            f"\t{item.attempts}\t{_when(item.since)}\t{error}"
        )
    verb = "would replay" if report.dry_run else "replayed"
    entry = f" (audit entry {report.audit_entry_id})" if report.audit_entry_id else ""
    _say(f"{verb} {len(report.deliveries)} {args.state} deliveries{entry}")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        result = audit.verify(session)
    if result.ok:
        print(f"audit log intact: {result.entries} entries, head {result.head_hash}")
        return EXIT_OK
    print(f"audit log BROKEN at entry {result.first_broken_id}: {result.problem}")
    print(f"{result.entries} entries before it verify")
    return EXIT_FAILURE


def _audit_list(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        entries = audit.latest(session, max(args.limit, 1))
    for entry in entries:
        reason = f"\t{entry.reason}" if entry.reason else ""
        print(
            f"{entry.id}\t{_when(entry.at)}\t{entry.actor}\t{entry.action}\t{entry.subject}"
            f"{reason}\t{entry.hash[:16]}"
        )
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    """The new password: standard input's first line, or asked twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "no terminal to ask the password on: pipe it with --password-stdin"
        )
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ConfigurationError("the two passwords differ; nothing was changed")
    return first


def _user_add(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    with open_database(settings) as database, database.transaction() as session:
        info = add_user(session, args.name, args.role, password, actor=_cli_actor())
    _say(f"console user {info.name} added with role {info.role.value}")
    return EXIT_OK


def _user_list(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        users = list_users(session)
    if not users:
        _say("no console users: add one with `lienthong user add NAME --role admin`")
    for info in users:
        state = "active" if info.active else "disabled"
        print(f"{info.name}\t{info.role.value}\t{state}\t{_when(info.last_login_at)}")
    return EXIT_OK


def _user_disable(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        info = set_active(session, args.name, False, actor=_cli_actor())
    _say(f"console user {info.name} disabled; their sessions ended")
    return EXIT_OK


def _user_enable(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        info = set_active(session, args.name, True, actor=_cli_actor())
    _say(f"console user {info.name} enabled")
    return EXIT_OK


def _user_password(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    with open_database(settings) as database, database.transaction() as session:
        info = set_password(session, args.name, password, actor=_cli_actor())
    _say(f"password of console user {info.name} changed; their sessions ended")
    return EXIT_OK


def _user_role(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as database, database.transaction() as session:
        info = set_role(session, args.name, args.role, actor=_cli_actor())
    _say(f"console user {info.name} now has role {info.role.value}")
    return EXIT_OK


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    return processes.run_worker(settings, threads=args.threads)


def _relay(args: argparse.Namespace, settings: Settings) -> int:
    return processes.run_relay(settings)


def _axis_poll(args: argparse.Namespace, settings: Settings) -> int:
    kinds = tuple(dict.fromkeys(args.kind or MESSAGE_TYPES))
    if args.once:
        return _axis_poll_once(settings, kinds)
    stop = processes.stop_on_signals()
    with open_database(settings) as database, open_axis_poller(settings, database) as poller:
        poller.run(stop, kinds)
    return EXIT_OK


def _axis_poll_once(settings: Settings, kinds: Sequence[MessageType]) -> int:
    failed = False
    with open_database(settings) as database, open_axis_poller(settings, database) as poller:
        for kind in kinds:
            report = poller.poll(kind)
            print(
                f"{kind}\tlisted {report.listed}\taccepted {report.accepted}\t"
                f"repeated {report.repeated}\trejected {report.rejected}\tleft {report.left}"
            )
            if report.error is not None:
                _say(f"lienthong: {kind}: {report.error}")
                failed = True
    return EXIT_FAILURE if failed else EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    extra = {"axis-poll": ["axis", "poll"]} if settings.axis_configured else {}
    return processes.run_all(settings, port=args.port, extra=extra)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


def _write(text: str, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HubError(f"cannot write {output}: {exc.strerror}", code="cli.output") from exc


def _say(message: str) -> None:
    print(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
