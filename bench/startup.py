"""Start-up time of each hub process kind: from exec to ready, on this machine.

Ready means: ``serve`` answers ``/readyz`` with 200; ``worker`` has every consumer connected
with the topology declared (its ``worker.ready`` log line); ``relay`` has finished its first
round with its publisher connected (``relay.ready``). Each kind is started ``--runs`` times
on a migrated database (SQLite in a temporary folder unless ``--database-url``) and the
shared RabbitMQ under a throwaway prefix; the median and the slowest are printed.
Prints numbers; asserts nothing. ``make bench-startup``; ``make bench`` prints them too.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("LIENTHONG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
KINDS = ("serve", "worker", "relay")
_READY_EVENTS = {"worker": "worker.ready", "relay": "relay.ready"}
_PATIENCE = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready_http(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def start_once(kind: str, environment: Mapping[str, str]) -> float:
    """Seconds from exec to ready of one ``lienthong <kind>`` process (stopped afterwards)."""
    env = dict(environment)
    port = _free_port()
    env["LIENTHONG_PORT"] = str(port)
    env["LIENTHONG_LOG_FORMAT"] = "json"
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", kind],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        if kind == "serve":
            while not _ready_http(port):
                if child.poll() is not None or time.monotonic() - started > _PATIENCE:
                    raise RuntimeError(f"lienthong {kind} did not become ready")
                time.sleep(0.01)
            return time.monotonic() - started
        assert child.stderr is not None
        wanted = _READY_EVENTS[kind]
        watch = selectors.DefaultSelector()
        watch.register(child.stderr, selectors.EVENT_READ)
        while time.monotonic() - started < _PATIENCE:
            if not watch.select(timeout=0.5):
                continue
            line = child.stderr.readline()
            if not line:
                break
            if json.loads(line).get("event") == wanted if line.startswith("{") else False:
                return time.monotonic() - started
        raise RuntimeError(f"lienthong {kind} did not become ready")
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def measure(
    environment: Mapping[str, str], *, runs: int, kinds: Sequence[str] = KINDS
) -> dict[str, list[float]]:
    """Start-up seconds of each kind, ``runs`` times (after one unmeasured warm-up start)."""
    results: dict[str, list[float]] = {}
    for kind in kinds:
        start_once(kind, environment)
        results[kind] = [start_once(kind, environment) for _ in range(runs)]
    return results


def render(results: Mapping[str, Sequence[float]]) -> str:
    """The table of start-up times."""
    lines = ["start-up (exec → ready)   median    slowest   runs"]
    for kind, seconds in results.items():
        median, slowest = statistics.median(seconds), max(seconds)
        lines.append(f"  {kind:<22} {median:6.2f} s  {slowest:6.2f} s   {len(seconds)}")
    return "\n".join(lines)


def hub_environment(database_url: str, data_dir: Path, prefix: str) -> dict[str, str]:
    """The environment of a hub on ``database_url`` and the shared broker."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    environment.update(
        LIENTHONG_DATABASE_URL=database_url,
        LIENTHONG_DATA_DIR=str(data_dir),
        LIENTHONG_AMQP_URL=AMQP_URL,
        LIENTHONG_AMQP_PREFIX=prefix,
        LIENTHONG_AUTO_MIGRATE="always",
        LIENTHONG_WORKER_THREADS="4",
    )
    return environment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args(argv)
    prefix = f"lienthong-startup-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "var"
        url = args.database_url or f"sqlite:///{(data / 'lienthong.db').as_posix()}"
        environment = hub_environment(url, data, prefix)
        subprocess.run(
            [sys.executable, "-m", "hub.cli", "db", "upgrade"],
            env=environment,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        try:
            print(render(measure(environment, runs=args.runs)))
        finally:
            forget_topology(prefix)
    return 0


def forget_topology(prefix: str) -> None:
    """Delete the throwaway prefix's exchanges and queues."""
    sys.path.insert(0, str(ROOT))
    from hub.settings import Settings
    from simulators.broker import delete_topology

    settings = Settings(amqp_prefix=prefix)
    delete_topology(AMQP_URL, prefix, settings.retries.delays, settings.retries.jitter)


if __name__ == "__main__":
    sys.exit(main())
