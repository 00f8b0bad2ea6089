"""The ``lienthong-sim`` command: simulated peers and generated traffic.

``packets`` writes generated packet traffic to files; ``axis`` serves a simulated national
axis node (see :mod:`simulators.axis`); ``setup``, ``agencies`` and ``scenario`` run simulated
agency systems and scenarios against a running hub (:mod:`simulators.commands`); ``demo`` is
the one-command demo of the whole hub (:mod:`simulators.demo`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hub.known_warnings import silence_known_warnings
from simulators.commands import add_commands
from simulators.demo import add_demo_command
from simulators.packets import documents, statuses

DEFAULT_AGENCIES = ("000.00.00.H26", "000.00.12.H26", "000.05.12.H26", "000.00.00.G22")


def cmd_packets(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    agencies = args.agency or list(DEFAULT_AGENCIES)
    written = 0
    for index, doc in enumerate(
        documents(agencies, args.count, seed=args.seed, attachment_bytes=args.size), start=1
    ):
        (out / f"edoc-{index:05d}.edxml").write_bytes(doc.data)
        written += 1
        if args.statuses:
            for n, status in enumerate(statuses(doc.packet), start=1):
                (out / f"status-{index:05d}-{n:02d}.edxml").write_bytes(status)
                written += 1
    print(f"wrote {written} packets to {out}")
    return 0


def cmd_axis(args: argparse.Namespace) -> int:
    import uvicorn

    from simulators.axis import AxisSimulator, load_systems

    systems = load_systems(Path(args.systems))
    simulator = AxisSimulator(
        systems,
        max_clock_skew=args.max_clock_skew,
        refusals_as_200=args.refusals_as_200,
    )
    ids = ", ".join(system.id for system in systems) or "none"
    print(f"simulated axis node on http://{args.host}:{args.port} (systems: {ids})", flush=True)
    print(f"operator endpoints: http://{args.host}:{args.port}/_sim/docs", flush=True)
    uvicorn.run(simulator.app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    """Check an agency system against the hub's contract; exit 0 only when every check passes."""
    from simulators.conformance.command import run_command

    return run_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    silence_known_warnings()
    parser = argparse.ArgumentParser(
        prog="lienthong-sim",
        description="Simulated peers of the lienthong hub and generated traffic: packets, a "
        "simulated national axis node, simulated agency systems and scenarios against a "
        "running hub, the conformance kit for an agency system, and the one-command demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("packets", help="write generated document (and status) packets")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--size", type=int, default=12_000, help="attachment bytes per document")
    p.add_argument("--agency", action="append", help="agency code (repeat; default: a few)")
    p.add_argument("--statuses", action="store_true", help="also write 01 and 03 replies")
    p.add_argument("--out", required=True, help="folder to write to")
    p.set_defaults(func=cmd_packets)
    a = sub.add_parser("axis", help="serve a simulated national axis (VXP) node")
    a.add_argument("--systems", required=True, help="YAML/JSON file of systems and secrets")
    a.add_argument("--port", type=int, default=8090)
    a.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost)")
    a.add_argument(
        "--max-clock-skew",
        type=float,
        default=None,
        metavar="SECONDS",
        help="refuse signed timestamps further than this from the clock (default: unchecked)",
    )
    a.add_argument(
        "--refusals-as-200",
        action="store_true",
        help="answer FAIL with HTTP 200, as some gateways do (default: 4xx)",
    )
    a.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    a.set_defaults(func=cmd_axis)
    c = sub.add_parser(
        "conformance",
        help="check an agency system (webhook, inbox or VXP SDK) the way the hub will use it",
        description="Play the hub towards an agency system and print a pass/fail report: "
        "timely 01, revoke and update answers, valid and rightly addressed statuses, "
        "deduplication, webhook signatures, inbox acknowledgements, or a system built on the "
        "national axis's SDK calling the hub's VXP endpoint. Exit 0 when every check passes, "
        "1 otherwise.",
    )
    c.add_argument("--url", metavar="URL", help="the system's webhook URL (webhook channel)")
    c.add_argument("--agency", required=True, metavar="CODE", help="the agency under test")
    c.add_argument(
        "--secret",
        metavar="S",
        help="the webhook secret the hub signs with (webhook channel); the secret the system's "
        "SDK signs with (vxp channel; default: generated)",
    )
    c.add_argument("--channel", choices=["webhook", "inbox", "vxp"], default="webhook")
    c.add_argument(
        "--system-id",
        metavar="ID",
        help="the VXP system id the system's SDK sends (vxp channel; default: the agency code)",
    )
    c.add_argument(
        "--listen",
        default="127.0.0.1:8089",
        metavar="HOST:PORT",
        help="where the kit serves the hub API the system calls (default 127.0.0.1:8089)",
    )
    c.add_argument(
        "--token", metavar="T", help="the bearer token the system uses (default: generated)"
    )
    c.add_argument(
        "--deadline",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time the system has to answer each document (default 30)",
    )
    c.add_argument("--report", choices=["text", "json"], default="text")
    c.add_argument(
        "--sender",
        default="000.00.00.H26",
        metavar="CODE",
        help="the agency the kit's documents come from (default 000.00.00.H26)",
    )
    c.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="quiet time waited for late or repeated statuses (default 2)",
    )
    c.add_argument(
        "--start-after",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long after printing the kit's address and token (default 0)",
    )
    c.set_defaults(func=cmd_conformance)
    add_commands(sub)
    add_demo_command(sub)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ValueError as exc:
        print(f"lienthong-sim: error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
