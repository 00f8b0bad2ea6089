"""The ``lienthong-sim`` command: simulated peers and generated traffic.

For now it generates packet traffic to files; the simulated axis, agencies and scenarios
arrive with the simulator issue.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="lienthong-sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("packets", help="write generated document (and status) packets")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--size", type=int, default=12_000, help="attachment bytes per document")
    p.add_argument("--agency", action="append", help="agency code (repeat; default: a few)")
    p.add_argument("--statuses", action="store_true", help="also write 01 and 03 replies")
    p.add_argument("--out", required=True, help="folder to write to")
    p.set_defaults(func=cmd_packets)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ValueError as exc:
        print(f"lienthong-sim: error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
