"""The long-running processes: ``lienthong serve|worker|relay|axis poll|run``, and ``lienthong
axis reconcile`` (what the axis says it carried, against the hub's deliveries)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from hub.axis.models import MESSAGE_TYPES, MessageType
from hub.cli import processes
from hub.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Groups,
    say,
    when,
)
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    cmd = groups.add_parser(
        "serve",
        help="run the HTTP API (LIENTHONG_HOST:LIENTHONG_PORT)",
        description="Serve the agency and operator API and the console. The database and the "
        "broker are checked first: a process that cannot work says so and exits.",
    )
    cmd.add_argument("--no-banner", action="store_true", help=argparse.SUPPRESS)
    cmd.set_defaults(command=_serve)

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
    cmd = axis_commands.add_parser(
        "reconcile",
        help="compare what the axis says it carried (getSentEdocList) with the hub's deliveries",
    )
    cmd.add_argument(
        "--days",
        type=float,
        default=7.0,
        help="how far back the hub's deliveries are compared (default: 7)",
    )
    cmd.set_defaults(command=_axis_reconcile)
    cmd = groups.add_parser(
        "run",
        help="relay, worker, API server (and the axis poller, evidence checkpoints) together "
        "on this machine",
    )
    cmd.add_argument("--port", type=int, help="port of the API (default: LIENTHONG_PORT)")
    cmd.set_defaults(command=_run)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from hub.api.serving import http_protocol
    from hub.bootstrap import (
        api_listening,
        broker_reachable,
        build_api,
        check_broker,
        check_port,
        database_answers,
        reporting_health,
        server_tls,
    )
    from hub.db.database import open_database

    tls = server_tls(settings)
    check_broker(settings)
    check_port(settings)
    with open_database(settings) as database:
        app = build_api(settings, database)
        mutual = " (client certificates required)" if "ssl_ca_certs" in tls else ""
        if not args.no_banner:
            say(
                f"lienthong API on {settings.api.scheme}://{settings.api.host}:"
                f"{settings.api.port}{mutual} (OpenAPI: /openapi.json)"
            )
        checks = {
            "database": database_answers(database),
            "broker": broker_reachable(settings),
            "http": api_listening(settings),
        }
        with reporting_health(settings, checks):
            processes.quiet_collector()
            uvicorn.run(
                app,
                host=settings.api.host,
                port=settings.api.port,
                log_config=None,
                http=http_protocol(settings.api.header_timeout),
                forwarded_allow_ips=settings.api.trusted_proxies,
                **tls,
            )
    return EXIT_OK


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    return processes.run_worker(settings, threads=args.threads)


def _relay(args: argparse.Namespace, settings: Settings) -> int:
    return processes.run_relay(settings)


def _axis_poll(args: argparse.Namespace, settings: Settings) -> int:
    from hub.bootstrap import database_answers, open_axis_poller, reporting_health
    from hub.db.database import open_database

    kinds = tuple(dict.fromkeys(args.kind or MESSAGE_TYPES))
    if args.once:
        return _axis_poll_once(settings, kinds)
    stop = processes.stop_on_signals()
    with (
        open_database(settings) as database,
        open_axis_poller(settings, database) as poller,
        reporting_health(settings, {"database": database_answers(database)}),
    ):
        poller.run(stop, kinds)
    return EXIT_OK


def _axis_poll_once(settings: Settings, kinds: Sequence[MessageType]) -> int:
    from hub.bootstrap import open_axis_poller
    from hub.db.database import open_database

    failed = False
    with open_database(settings) as database, open_axis_poller(settings, database) as poller:
        for kind in kinds:
            report = poller.poll(kind)
            print(
                f"{kind}\tlisted {report.listed}\taccepted {report.accepted}\t"
                f"repeated {report.repeated}\trejected {report.rejected}\tleft {report.left}"
            )
            if report.error is not None:
                say(f"lienthong: {kind}: {report.error}")
                failed = True
    return EXIT_FAILURE if failed else EXIT_OK


def _axis_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from hub.axis.errors import AxisError
    from hub.axis.reconcile import reconcile
    from hub.bootstrap import open_upstream_of
    from hub.db.base import utcnow
    from hub.db.database import open_database

    if args.days <= 0:
        say("lienthong: --days must be positive")
        return EXIT_FAILURE
    upstream = open_upstream_of(settings)
    if upstream is None:
        say("lienthong: no national axis is configured: set LIENTHONG_AXIS_URL")
        return EXIT_FAILURE
    try:
        listed = upstream.list_sent()
    except AxisError as exc:
        say(f"lienthong: the axis did not list what it carried: {exc}")
        return EXIT_FAILURE
    finally:
        upstream.close()
    with open_database(settings) as database, database.transaction() as session:
        outcome, _ = reconcile(session, upstream.name, listed, now=utcnow(), days=args.days)
    for doc_id, code in outcome.unknown:
        print(f"unknown\t{doc_id}\t{code}")
    for item in outcome.missing:
        print(f"missing\t{item.doc_id}\t{item.recipient}\t{item.delivery_id}")
    states = ", ".join(f"{state} {count}" for state, count in outcome.receive_states.items())
    say(
        f"{upstream.name} since {when(outcome.since)}: the axis lists {outcome.listed} "
        f"receivers; {outcome.matched} match a delivery of the hub ({states or 'none'}), "
        f"{len(outcome.unknown)} are unknown to the hub, {len(outcome.missing)} deliveries of "
        "the hub are not listed"
    )
    return EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    extra = {"axis-poll": ["axis", "poll"]} if settings.axis.configured else {}
    if settings.evidence.signing and settings.evidence.checkpoint_seconds > 0:
        every = str(settings.evidence.checkpoint_seconds)
        extra["evidence-checkpoints"] = ["evidence", "checkpoint", "--every", every]
    return processes.run_all(settings, port=args.port, extra=extra)
