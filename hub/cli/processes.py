"""The long-running processes: delivery workers, the outbox relay, and ``run`` for one machine.

Each process stops gracefully on SIGTERM or SIGINT: it stops taking work, finishes the
attempts in flight, closes its connections and exits 0. A second signal of the same kind
ends it at once. ``run`` starts a relay, a worker, (when the API is installed) the API
server and any extra command asked for (the axis poller, the evidence checkpoints) as child
processes, forwards the stop to them, and stops them all when one of them ends by itself (a
supervisor such as systemd restarts the whole set).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType

import structlog

from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = ["quiet_collector", "run_all", "run_relay", "run_worker", "stop_on_signals"]

_log = structlog.get_logger(__name__)

_POLL_SECONDS = 0.5
_SHUTDOWN_MARGIN = 15.0
_YOUNG_COLLECTION = 10_000
"""Allocations between collections of the youngest generation (Python's default is 700)."""


def quiet_collector() -> None:
    """Set the garbage collector for a long-running process, once it is built.

    What start-up made (modules, settings, the app) lives as long as the process: it is
    frozen out of every later collection. The youngest generation is collected every
    :data:`_YOUNG_COLLECTION` allocations rather than 700: a packet's handling allocates
    thousands of short-lived objects, freed by reference counting anyway, and each collection
    walked them for nothing (about 6 % of ingest's CPU).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(_YOUNG_COLLECTION, middle, old)


def stop_on_signals(
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> threading.Event:
    """An event set by the first SIGTERM or SIGINT; the second of a kind is not caught."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        _log.info("process.stopping", signal=signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)

    for kind in signals:
        signal.signal(kind, handle)
    return stop


def run_worker(settings: Settings, *, threads: int | None = None) -> int:
    """Deliver until stopped.

    Raises:
        BrokerUnavailableError: the broker stayed unreachable for the reconnect timeout.
    """
    from hub.bootstrap import check_broker, database_answers, open_worker, reporting_health
    from hub.db.database import open_database

    if threads is not None:
        if threads < 1:
            raise ConfigurationError("--threads must be at least 1")
        settings = settings.replace(worker_threads=threads)
    stop = stop_on_signals()
    check_broker(settings)
    with open_database(settings) as database, open_worker(settings, database) as worker:
        checks = {"database": database_answers(database), "broker": worker.check_consuming}
        with reporting_health(settings, checks):
            quiet_collector()
            worker.run(stop)
    return 0


def run_relay(settings: Settings) -> int:
    """Publish the outbox until stopped.

    Raises:
        BrokerUnavailableError: the broker stayed unreachable for the reconnect timeout.
    """
    from hub.bootstrap import build_relay, check_broker, database_answers, reporting_health
    from hub.db.database import open_database

    stop = stop_on_signals()
    check_broker(settings)
    with open_database(settings) as database:
        relay = build_relay(settings, database, stop)
        _log.info("relay.started", batch=settings.relay.batch_size, window=settings.relay.window)
        checks = {"database": database_answers(database), "broker": relay.check_connected}
        with reporting_health(settings, checks):
            quiet_collector()
            relay.run(stop)
    _log.info("relay.stopped")
    return 0


def _child_environment(
    environment: Mapping[str, str], settings: Settings, name: str
) -> dict[str, str]:
    """A child's environment: its own health file (``ready`` → ``ready.relay``…) if any."""
    child = dict(environment)
    health = settings.health.file
    if health is not None:
        child["LIENTHONG_HEALTH_FILE"] = str(health.with_name(f"{health.name}.{name}"))
    return child


def api_installed() -> bool:
    """Whether this installation has the HTTP API (``hub.api``)."""
    return importlib.util.find_spec("hub.api") is not None


def run_all(
    settings: Settings,
    *,
    port: int | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Run a relay, a worker, the API server and ``extra`` children until stopped or one ends.

    ``extra`` names more ``lienthong`` commands to run, each by its arguments.
    """
    from hub.bootstrap import check_broker, check_port
    from hub.db.database import open_database

    check_broker(settings)
    if api_installed():
        check_port(settings, port)
    with open_database(settings):
        pass
    environment = dict(os.environ)
    # The children are not the service systemd watches; each reports to a file of its own.
    environment.pop("NOTIFY_SOCKET", None)
    if port is not None:
        environment["LIENTHONG_PORT"] = str(port)
    commands: dict[str, list[str]] = {"relay": ["relay"], "worker": ["worker"]}
    if api_installed():
        commands["serve"] = ["serve", "--no-banner"]
    commands.update((name, list(arguments)) for name, arguments in (extra or {}).items())
    stop = stop_on_signals()
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "hub.cli", *arguments],
            env=_child_environment(environment, settings, name),
            start_new_session=True,
        )
        for name, arguments in commands.items()
    }
    if "serve" in children:
        print(
            f"lienthong: API on {settings.api.scheme}://{settings.api.host}:"
            f"{port or settings.api.port}",
            flush=True,
        )
    _log.info("run.started", children={name: child.pid for name, child in children.items()})
    ended: tuple[str, int] | None = None
    while ended is None and not stop.wait(_POLL_SECONDS):
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                ended = (name, code)
                break
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    grace = settings.webhook.connect_timeout + settings.webhook.read_timeout + _SHUTDOWN_MARGIN
    deadline = time.monotonic() + grace
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _log.warning("run.killed", child=name, grace=grace)
            child.kill()
            child.wait()
    if ended is not None:
        _log.error("run.child_ended", child=ended[0], exit_code=ended[1])
        return 1
    _log.info("run.stopped")
    return 0
