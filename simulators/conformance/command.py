"""``lienthong-sim conformance``: start the kit's hub API (and VXP endpoint), run the checks,
print the report."""

from __future__ import annotations

import argparse
import secrets
import sys
import time

from simulators.conformance.kit import KitHub
from simulators.conformance.runner import Options, run_conformance

__all__ = ["parse_listen", "run_command"]


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8089`` for IPv6) as a host and a port; port 0 picks a free one."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen must be HOST:PORT, e.g. 127.0.0.1:8089, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _say(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    """Run the kit as the command line asks; 0 when every check passes, 1 otherwise."""
    vxp = args.channel == "vxp"
    secret = args.secret or (f"ltv_{secrets.token_urlsafe(32)}" if vxp else None)
    options = Options(
        agency=args.agency,
        channel=args.channel,
        url=args.url,
        secret=secret,
        system_id=args.system_id,
        sender=args.sender,
        deadline=args.deadline,
        settle=args.settle,
    )
    options.validate()
    host, port = parse_listen(args.listen)
    token = args.token or secrets.token_urlsafe(24)
    system_id = options.system_id or options.agency
    try:
        kit = KitHub(
            agency=options.agency,
            sender=options.sender,
            token=token,
            host=host,
            port=port,
            vxp_system=system_id if vxp else None,
            vxp_secret=secret if vxp else None,
        )
    except OSError as exc:
        raise ValueError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from exc
    with kit:
        _say(f"the kit plays the hub for agency {options.agency} at {kit.url}")
        if vxp:
            _say(f"the system's SDK is configured with the endpoint {kit.vxp_url},")
            _say(f"  system id {system_id} and secret {secret}")
            if not args.secret:
                _say("  (the secret was generated; pass --secret to choose)")
            _say("it polls getReceivedEdocList and sends its statuses with sendEdoc")
        else:
            _say(f"token: {token}" + ("" if args.token else " (generated; pass --token to choose)"))
            _say(f"the system posts its status packets to {kit.url}/api/v1/packets with")
            _say(f"  'Authorization: Bearer {token}'")
            if options.channel == "inbox":
                _say(f"and polls {kit.url}/api/v1/inbox with the same token")
            else:
                _say(f"deliveries are pushed to {options.url}, signed with the secret given")
        if args.start_after > 0:
            _say(f"starting in {args.start_after:g} s")
            time.sleep(args.start_after)
        report = run_conformance(options, kit, progress=_say)
    print(report.to_json() if args.report == "json" else report.to_text(), flush=True)
    return 0 if report.passed else 1
