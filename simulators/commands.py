"""The ``lienthong-sim`` commands that play agencies against a running hub.

- ``setup``: prepare a hub for simulated agencies (directory with a webhook port and secret
  per agency, tokens, the simulated axis's systems file) and write the deployment file;
- ``agencies``: run the simulated agency systems of the deployment's directory, each with
  its profile, until stopped (``--play`` plays a scenario's traffic first);
- ``scenario``: play a scenario, check its expectations, print the summary; exit 1 when an
  expectation failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TextIO

import yaml

from hub.directory import DirectoryData
from hub.logging import configure_logging
from simulators.hubprocess import HubProcess, free_port
from simulators.profiles import PROFILES, Profile, build_profile
from simulators.scenario.cast import Cast, open_cast
from simulators.scenario.deployment import (
    AxisLink,
    axis_systems,
    load_deployment,
    ports_from,
    read_directory,
    set_up,
    simulated_directory,
)
from simulators.scenario.plan import Member, Roster
from simulators.scenario.runner import Progress, ScenarioRunner, profile_assignment
from simulators.scenario.spec import load_scenario

__all__ = ["ProgressLine", "add_commands", "wait_for_stop"]

DEFAULT_DEPLOYMENT = Path(".demo") / "deployment.yaml"


class ProgressLine:
    """A live progress line: rewritten in place on a terminal, else a line every few seconds."""

    def __init__(self, stream: TextIO | None = None, *, every: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.live = self.stream.isatty()
        self._last = 0.0
        self._shown = False

    def update(self, progress: Progress) -> None:
        """Show where the run stands."""
        text = progress.line()
        if self.live:
            self.stream.write("\r\033[K" + text[:200])
            self.stream.flush()
            self._shown = True
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(text, file=self.stream, flush=True)

    def done(self) -> None:
        """End the live line."""
        if self.live and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def wait_for_stop(report: Callable[[], str] | None = None, *, every: float = 60.0) -> None:
    """Block until SIGINT or SIGTERM; print ``report()`` every ``every`` seconds meanwhile."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {kind: signal.signal(kind, handle) for kind in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(every):
            if report is not None:
                print(report(), flush=True)
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)


def cast_summary(cast: Cast) -> str:
    """One line: how many systems run on which channel, and what they did."""
    channels: dict[str, int] = {}
    for player in cast.players.values():
        channels[player.member.channel] = channels.get(player.member.channel, 0) + 1
    received = sum(len(player.agency.received) for player in cast.players.values())
    answered = sum(len(player.agency.answers) for player in cast.players.values())
    shown = ", ".join(f"{count} {channel}" for channel, count in sorted(channels.items()))
    return (
        f"{len(cast.players)} simulated agencies ({shown}): {received} packets taken, "
        f"{answered} statuses posted"
    )


# -- setup -----------------------------------------------------------------------------------


def cmd_setup(args: argparse.Namespace) -> int:
    """Prepare the hub of the current LIENTHONG_* environment for simulated agencies."""
    configure_logging(args.log_level.upper())
    out = Path(args.out)
    data = read_directory(args.directory)
    webhooks = [entry.code for entry in data.agencies if entry.channel.value == "webhook"]
    if args.webhook_port_base:
        ports = ports_from(args.webhook_port_base, webhooks)
    else:
        ports = {code: free_port() for code in webhooks}
    data = simulated_directory(data, webhook_host=args.webhook_host, port_of=ports.__getitem__)
    axis = None
    if args.axis_url:
        city = args.city or os.environ.get("LIENTHONG_AXIS_ORGAN_ID") or _root_of(data)
        systems = axis_systems(
            data, hub_system=args.axis_system, city_root=city, hub_secret_env=args.axis_secret_env
        )
        out.mkdir(parents=True, exist_ok=True)
        (out / "axis-systems.yaml").write_text(
            "# Written by lienthong-sim setup: the simulated axis's systems and secrets.\n"
            + yaml.safe_dump(systems, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        axis = AxisLink(
            url=args.axis_url, systems=Path("axis-systems.yaml"), hub_system=args.axis_system
        )
    settings = {k: v for k, v in os.environ.items() if k.upper().startswith("LIENTHONG_")}
    hub = HubProcess(out, settings, command=("serve",), log_path=out / "setup.log")
    deployment = set_up(
        hub,
        out,
        data,
        hub_url=args.hub_url,
        webhook_bind=args.webhook_bind,
        axis=axis,
        migrate=not args.no_migrate,
    )
    print(
        f"set up {len(deployment.tokens)} agencies; deployment written to "
        f"{out / 'deployment.yaml'}",
        flush=True,
    )
    return 0


def _root_of(data: DirectoryData) -> str:
    for entry in data.agencies:
        if entry.parent is None and entry.channel.value != "axis":
            return entry.code
    raise ValueError("the directory has no root agency: give --city CODE")


# -- agencies --------------------------------------------------------------------------------


def cmd_agencies(args: argparse.Namespace) -> int:
    """Run the simulated agency systems until stopped."""
    configure_logging(args.log_level.upper())
    deployment = load_deployment(Path(args.deployment))
    if args.play and not args.scenario:
        raise ValueError("--play needs --scenario")
    runner: ScenarioRunner | None = None
    if args.play:
        runner = ScenarioRunner(load_scenario(args.scenario), deployment, scale=args.scale)
        cast = runner.open_cast()
    else:
        roster = Roster.from_directory(deployment.directory_data())
        assign: Callable[[Member], Profile]
        if args.scenario:
            assign = profile_assignment(load_scenario(args.scenario), roster, scale=args.scale)
        else:
            profile = build_profile(args.profile).scaled(args.scale)
            assign = lambda member: profile  # noqa: E731 - everyone plays the same
        cast = open_cast(deployment, roster, assign)
    with cast:
        print(cast_summary(cast), flush=True)
        print(f"hub: {deployment.hub_url}; stop with Ctrl-C", flush=True)
        if runner is not None:
            line = ProgressLine()
            runner.progress = line.update
            report = runner.run(cast)
            line.done()
            print(report.render(), flush=True)
        wait_for_stop(lambda: cast_summary(cast), every=args.report_every)
    return 0


# -- scenario --------------------------------------------------------------------------------


def cmd_scenario(args: argparse.Namespace) -> int:
    """Play a scenario and check it; 0 when every expectation held."""
    configure_logging(args.log_level.upper())
    scenario = load_scenario(args.file)
    deployment = load_deployment(Path(args.deployment))
    line = ProgressLine(every=args.progress_every)
    runner = ScenarioRunner(scenario, deployment, scale=args.scale, progress=line.update)
    print(
        f"playing {scenario.name} (scale {args.scale:g}): {len(runner.plan.sends)} documents, "
        f"{len(runner.plan.changes)} changes, {len(runner.plan.faults)} faults over "
        f"{runner.plan.duration:.0f} s against {deployment.hub_url}",
        flush=True,
    )
    try:
        report = runner.run()
    finally:
        line.done()
    print(report.render(), flush=True)
    return 0 if report.ok else 1


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``setup``, ``agencies`` and ``scenario``."""
    s = sub.add_parser(
        "setup",
        help="prepare the hub (LIENTHONG_* environment) for simulated agencies",
        description=(
            "Import a directory with a webhook port and secret per agency, issue every agency "
            "a token and the simulators an operator token, write the simulated axis's systems "
            "file, and write OUT/deployment.yaml for `agencies` and `scenario`."
        ),
    )
    s.add_argument("--directory", default="hanoi", help="sample name or file (default: hanoi)")
    s.add_argument("--out", required=True, help="folder for the deployment files")
    s.add_argument("--hub-url", required=True, help="the hub's API as the agencies reach it")
    s.add_argument("--webhook-host", default="127.0.0.1", help="host of the webhook URLs")
    s.add_argument(
        "--webhook-bind", default="127.0.0.1", help="address the agencies' webhooks listen on"
    )
    s.add_argument(
        "--webhook-port-base",
        type=int,
        default=0,
        help="first webhook port, one per agency (default: free ports now)",
    )
    s.add_argument("--axis-url", default="", help="the simulated axis (none: no ministries)")
    s.add_argument("--axis-system", default="hanoi.hub", help="the hub's system id at the axis")
    s.add_argument(
        "--axis-secret-env",
        default="LIENTHONG_AXIS_SECRET",
        help="variable holding the hub's axis secret (the axis node reads it)",
    )
    s.add_argument("--city", help="the city's root agency (default: LIENTHONG_AXIS_ORGAN_ID)")
    s.add_argument("--no-migrate", action="store_true", help="do not run `lienthong db upgrade`")
    s.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level of the simulators (stderr; default: warning)",
    )
    s.set_defaults(func=cmd_setup)

    a = sub.add_parser(
        "agencies",
        help="run simulated agency systems for a deployment's directory until stopped",
        description=(
            "Local agencies answer on their webhook or poll their inbox; ministries poll the "
            "simulated axis; each behaves as its profile says."
        ),
    )
    a.add_argument("--deployment", default=str(DEFAULT_DEPLOYMENT), help="deployment file")
    a.add_argument("--scenario", help="take each agency's profile from this scenario")
    a.add_argument(
        "--profile",
        default="prompt",
        choices=sorted(PROFILES),
        help="everyone's profile without --scenario (default: prompt)",
    )
    a.add_argument("--play", action="store_true", help="play the scenario's traffic once first")
    a.add_argument("--scale", type=_positive, default=1.0, help="time and count factor")
    a.add_argument(
        "--report-every", type=_positive, default=60.0, help="seconds between status lines"
    )
    a.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level of the simulators (stderr; default: warning)",
    )
    a.set_defaults(func=cmd_agencies)

    c = sub.add_parser(
        "scenario",
        help="play a scenario against a running hub and check its expectations",
        description=(
            "Exit 0 when every expectation held, 1 when one failed, 2 on a bad scenario or "
            "deployment file."
        ),
    )
    c.add_argument("file", help="scenario file, or a shipped name (city-day, axis-outage, …)")
    c.add_argument("--deployment", default=str(DEFAULT_DEPLOYMENT), help="deployment file")
    c.add_argument(
        "--scale", type=_positive, default=1.0, help="multiplies times and counts (e.g. 0.2)"
    )
    c.add_argument(
        "--progress-every",
        type=_positive,
        default=10.0,
        help="seconds between progress lines when not on a terminal",
    )
    c.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level of the simulators (stderr; default: warning)",
    )
    c.set_defaults(func=cmd_scenario)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value
