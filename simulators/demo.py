"""The one-command demo of the whole hub (``make demo``, ``lienthong-sim demo``).

On this machine, in a working directory (``.demo/`` by default; everything it writes stays
there): make sure a RabbitMQ answers (:mod:`simulators.broker`), write a directory from the
Hà Nội sample where each webhook agency has a local port and secret, start the simulated
national axis (one system for the hub, one per ministry), set the hub up (migrations,
directory, tokens, a self-signed evidence key kept under ``evidence/``) and start it
(``lienthong run``: relay, worker, API, axis poller and evidence checkpoints, on SQLite and a
local payload folder), start the simulated agency systems with the profiles of
the scenario (``city-day``), play it with a live progress line, and print the summary per
level with the address of the web console. Then everything keeps running until Ctrl-C;
``--once`` stops after the summary and exits 0 when the scenario met its expectations, 1
when not, 2 when something could not be started.

Each run starts from a fresh database; the broker topology of the demo's prefix
(``LIENTHONG_AMQP_PREFIX``, default ``lienthong-demo``) is deleted before and after it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import sys
import traceback
from contextlib import ExitStack, suppress
from pathlib import Path
from types import FrameType

import yaml

from hub.evidence.signing import self_signed
from hub.logging import configure_logging
from hub.vxp.secrets import new_key
from simulators.agencies import WebhookServer
from simulators.broker import (
    DEFAULT_AMQP_URL,
    BrokerUnavailableError,
    delete_topology,
    ensure_broker,
)
from simulators.commands import ProgressLine, cast_summary, wait_for_stop
from simulators.helptext import plain
from simulators.hubprocess import (
    HubProcess,
    HubProcessError,
    ManagedProcess,
    free_port,
    http_ready,
    hub_environment,
    simulator_argv,
)
from simulators.scenario.deployment import (
    AxisLink,
    axis_systems,
    read_directory,
    set_up,
    simulated_directory,
)
from simulators.scenario.runner import ScenarioRunner
from simulators.scenario.spec import load_scenario

__all__ = ["DEMO_SETTINGS", "add_demo_command", "run_demo"]

DEMO_SETTINGS = {
    "LIENTHONG_RETRY_DELAYS": "1,2,4,8,15,30,60",
    "LIENTHONG_RETRY_JITTER": "0.1",
    "LIENTHONG_RELAY_IDLE_SECONDS": "0.1",
    "LIENTHONG_WORKER_THREADS": "6",
    "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT": "2",
    "LIENTHONG_WEBHOOK_READ_TIMEOUT": "3",
    "LIENTHONG_BREAKER_COOLDOWN": "2",
    "LIENTHONG_BREAKER_MAX_COOLDOWN": "10",
    "LIENTHONG_AXIS_POLL_EDOC_SECONDS": "1",
    "LIENTHONG_AXIS_POLL_STATUS_SECONDS": "1",
    "LIENTHONG_AXIS_HTTP_ATTEMPTS": "2",
    "LIENTHONG_AXIS_READ_TIMEOUT": "10",
    "LIENTHONG_AMQP_RECONNECT_TIMEOUT": "30",
    "LIENTHONG_LOG_FORMAT": "json",
    "LIENTHONG_EVIDENCE_CHECKPOINT_SECONDS": "10",
}
"""Hub settings of the demo: a compressed day needs retries in seconds, not hours."""

CITY = "000.00.00.H26"
HUB_SYSTEM = "hanoi.hub"
DEFAULT_PREFIX = "lienthong-demo"


def _say(text: str) -> None:
    print(f"» {text}", flush=True)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (shorter to read)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _port(wanted: int) -> int:
    """``wanted`` when it is free on localhost, else another free port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            return free_port()
    return wanted


def _delete_topology(amqp_url: str, prefix: str) -> None:
    delays = [float(part) for part in DEMO_SETTINGS["LIENTHONG_RETRY_DELAYS"].split(",")]
    delete_topology(amqp_url, prefix, delays, float(DEMO_SETTINGS["LIENTHONG_RETRY_JITTER"]))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_demo(args: argparse.Namespace) -> int:
    """The demo; its exit status."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return _demo(args)
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
        return 130
    except (BrokerUnavailableError, HubProcessError, OSError) as exc:
        if os.environ.get("LIENTHONG_SIM_TRACEBACK"):
            traceback.print_exc()
        print(f"lienthong-sim demo: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


def _demo(args: argparse.Namespace) -> int:
    work = Path(args.workdir).resolve()
    amqp_url = os.environ.get("LIENTHONG_AMQP_URL") or DEFAULT_AMQP_URL
    prefix = os.environ.get("LIENTHONG_AMQP_PREFIX") or DEFAULT_PREFIX
    scenario = load_scenario(args.scenario)

    outcome = ensure_broker(amqp_url, say=_say)
    _say(outcome.detail)
    logs = work / "logs"

    for stale in ("var", "logs", "deployment.yaml", "directory.yaml", "axis-systems.yaml"):
        target = work / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    logs.mkdir(parents=True, exist_ok=True)
    _delete_topology(amqp_url, prefix)

    with ExitStack() as stack:
        log_file = stack.enter_context(open(logs / "simulators.log", "a", encoding="utf-8"))
        configure_logging("INFO", "json", stream=log_file)
        stack.callback(_delete_topology, amqp_url, prefix)
        data = read_directory(args.directory)
        servers = {
            entry.code: WebhookServer(host="127.0.0.1")
            for entry in data.agencies
            if entry.channel.value == "webhook"
        }
        for server in servers.values():
            stack.callback(server.close)
        data = simulated_directory(
            data, webhook_host="127.0.0.1", port_of=lambda code: servers[code].port
        )
        hub_secret = secrets.token_urlsafe(24)
        systems = axis_systems(data, hub_system=HUB_SYSTEM, city_root=CITY, hub_secret=hub_secret)
        systems_file = work / "axis-systems.yaml"
        systems_file.write_text(
            "# Written by the demo: the simulated axis's systems and their secrets.\n"
            + yaml.safe_dump(systems, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )

        axis_port = _port(args.axis_port)
        axis_url = f"http://127.0.0.1:{axis_port}"
        axis = ManagedProcess(
            [
                *simulator_argv(),
                "axis",
                "--port",
                str(axis_port),
                "--systems",
                str(systems_file),
                "--log-level",
                "warning",
            ],
            root=work,
            environment=hub_environment({}),
            log_path=logs / "axis.log",
            ready=http_ready(f"{axis_url}/_sim/health"),
            name="simulated axis",
        )
        stack.callback(_stop, axis)
        axis.start(wait=False)

        port = _port(args.port)
        evidence_key, evidence_cert = _evidence_pair(work / "evidence")
        settings = {
            **DEMO_SETTINGS,
            "LIENTHONG_EVIDENCE_KEY_FILE": str(evidence_key),
            "LIENTHONG_EVIDENCE_CERT_FILE": str(evidence_cert),
            "LIENTHONG_DATA_DIR": str(work / "var"),
            "LIENTHONG_AMQP_URL": amqp_url,
            "LIENTHONG_AMQP_PREFIX": prefix,
            "LIENTHONG_AXIS_URL": axis_url,
            "LIENTHONG_AXIS_SYSTEM_ID": HUB_SYSTEM,
            "LIENTHONG_AXIS_SECRET": hub_secret,
            "LIENTHONG_AXIS_ORGAN_ID": CITY,
            # A key of this run only (var/ is rebuilt each run): the VXP endpoint for agency
            # systems on the official SDK works, its secrets encrypted with it.
            "LIENTHONG_VXP_KEYS": new_key(),
        }
        hub = HubProcess(work, settings, port, log_path=logs / "hub.log")
        stack.callback(_stop, hub)
        deployment = set_up(
            hub,
            work,
            data,
            hub_url=hub.url,
            axis=AxisLink(url=axis_url, systems=Path(systems_file.name), hub_system=HUB_SYSTEM),
        )
        _say(
            f"hub set up in {_shown(work)}: {len(deployment.tokens)} agencies of {args.directory} "
            "imported (SQLite), a token for each"
        )
        console_password = _console_account(hub)
        axis.wait_ready()
        _say(
            f"simulated national axis on {axis_url} ({len(systems['systems'])} systems: the hub "
            f"and {len(systems['systems']) - 1} ministries; faults: {axis_url}/_sim/docs)"
        )
        hub.start()
        _say(
            f"hub running (lienthong run: relay, worker, API, axis poller) on {hub.url}; "
            f"logs in {_shown(logs)}"
        )

        runner = ScenarioRunner(scenario, deployment, scale=args.scale)
        cast = stack.enter_context(
            runner.open_cast(servers={server.port: server for server in servers.values()})
        )
        _say(cast_summary(cast))
        _say(
            f"playing {scenario.name} (scale {args.scale:g}): {len(runner.plan.sends)} "
            f"documents, {len(runner.plan.changes)} changes over {runner.plan.duration:.0f} s"
        )
        line = ProgressLine(sys.stdout, every=args.progress_every)
        runner.progress = line.update
        try:
            report = runner.run(cast)
        finally:
            line.done()
        print(flush=True)
        print(report.render(), flush=True)
        print(flush=True)
        _say(
            f"web console: {hub.url}/console/  user {CONSOLE_USER}, password {console_password}"
            f"   API: {hub.url}/docs"
        )
        _say(
            f"VXP endpoint for systems on the axis's SDK: {hub.url}/vxp (a system id and secret: "
            "`lienthong agency vxp-secret CODE` with the hub's settings)"
        )
        deployment_file = _shown(work / "deployment.yaml")
        _say(f"operator token (reads every timeline): operator_token in {deployment_file}")
        _say(
            "evidence receipts: GET /api/v1/packets/<id>/evidence, or `lienthong evidence "
            f"export <id> -o receipt.xml`; check one with `lienthong evidence verify receipt.xml "
            f"--cert {_shown(evidence_cert)}`"
        )
        if args.once:
            return 0 if report.ok else 1
        _say("the hub, the axis and the agencies keep running; Ctrl-C stops them")
        wait_for_stop(lambda: "» " + cast_summary(cast), every=60.0)
        print("stopping", flush=True)
        return 0 if report.ok else 1


CONSOLE_USER = "demo"
"""The demo's console account (an admin), with a fresh random password each run."""


def _console_account(hub: HubProcess) -> str:
    """Create the demo's console account; its password.

    Raises:
        HubProcessError: the account could not be created.
    """
    password = secrets.token_urlsafe(12)
    done = hub.lienthong(
        "user", "add", CONSOLE_USER, "--role", "admin", "--password-stdin", stdin=password + "\n"
    )
    if done.returncode != 0:
        raise HubProcessError(f"cannot create the console account: {done.stderr.strip()}")
    return password


def _evidence_pair(folder: Path) -> tuple[Path, Path]:
    """The demo hub's evidence key and self-signed certificate, made on the first run."""
    key, cert = folder / "hub-evidence.key", folder / "hub-evidence.pem"
    if not (key.is_file() and cert.is_file()):
        key_pem, cert_pem = self_signed("lienthong demo hub (illustrative)")
        folder.mkdir(parents=True, exist_ok=True)
        key.write_bytes(key_pem)
        key.chmod(0o600)
        cert.write_bytes(cert_pem)
    return key, cert


def _stop(process: ManagedProcess) -> None:
    with suppress(Exception):
        process.stop(timeout=40)


def add_demo_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    d = sub.add_parser(
        "demo",
        help="the whole hub with a simulated city, axis and ministries (make demo)",
        description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("--once", action="store_true", help="stop after the summary; exit 0 if met")
    d.add_argument("--scale", type=float, default=1.0, help="time and count factor (e.g. 0.2)")
    d.add_argument("--scenario", default="city-day", help="scenario name or file")
    d.add_argument("--directory", default="hanoi", help="directory sample or file")
    d.add_argument("--workdir", default=".demo", help="where everything is written (.demo)")
    d.add_argument("--port", type=int, default=8080, help="API port (another if taken)")
    d.add_argument("--axis-port", type=int, default=8090, help="axis port (another if taken)")
    d.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        help="seconds between progress lines when not on a terminal",
    )
    d.set_defaults(func=run_demo)
