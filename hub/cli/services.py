"""The long-running processes: ``lienthong serve|worker|relay|axis poll|run``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from hub.axis.models import MessageType
from hub.axis.poller import MESSAGE_TYPES
from hub.bootstrap import build_api, open_axis_poller, server_tls
from hub.cli import processes
from hub.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Groups,
    say,
)
from hub.db.database import open_database
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    cmd = groups.add_parser("serve", help="run the HTTP API (LIENTHONG_HOST:LIENTHONG_PORT)")
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
    cmd = groups.add_parser(
        "run",
        help="relay, worker, API server (and the axis poller, evidence checkpoints) together "
        "on this machine",
    )
    cmd.add_argument("--port", type=int, help="port of the API (default: LIENTHONG_PORT)")
    cmd.set_defaults(command=_run)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    tls = server_tls(settings)
    with open_database(settings) as database:
        app = build_api(settings, database)
        mutual = " (client certificates required)" if "ssl_ca_certs" in tls else ""
        say(
            f"lienthong API on {settings.api.scheme}://{settings.api.host}:{settings.api.port}"
            f"{mutual} (OpenAPI: /openapi.json)"
        )
        uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_config=None, **tls)
    return EXIT_OK


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
                say(f"lienthong: {kind}: {report.error}")
                failed = True
    return EXIT_FAILURE if failed else EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    extra = {"axis-poll": ["axis", "poll"]} if settings.axis.configured else {}
    if settings.evidence.signing and settings.evidence.checkpoint_seconds > 0:
        every = str(settings.evidence.checkpoint_seconds)
        extra["evidence-checkpoints"] = ["evidence", "checkpoint", "--every", every]
    return processes.run_all(settings, port=args.port, extra=extra)
