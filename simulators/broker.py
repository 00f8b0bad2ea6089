"""Make sure a RabbitMQ answers before the demo starts a hub on it.

In order: the broker of ``LIENTHONG_AMQP_URL`` (default ``127.0.0.1:5672``) already answers;
else, when that URL is on this machine, a ``rabbitmq-server`` found here is started with
``-detached``; else Debian's ``rabbitmq-server`` package is installed with ``apt-get`` —
only as root and only with consent (``LIENTHONG_DEMO_INSTALL=1``, or a ``y`` typed at the
prompt when standard input is a terminal; ``LIENTHONG_DEMO_INSTALL=0`` never installs) — and
started. Otherwise :class:`BrokerUnavailableError` says what to do. Nothing here stops or
reconfigures a broker that already runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

import pika
import pika.exceptions

__all__ = [
    "DEFAULT_AMQP_URL",
    "BrokerOutcome",
    "BrokerUnavailableError",
    "Consent",
    "broker_problem",
    "delete_topology",
    "ensure_broker",
    "find_server",
    "install_consent",
    "is_local",
]

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
INSTALL_VARIABLE = "LIENTHONG_DEMO_INSTALL"
START_SECONDS = 90.0
"""How long a freshly started node may take to accept connections."""
SERVER_PLACES = ("/usr/sbin", "/usr/lib/rabbitmq/bin", "/usr/local/sbin")

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})  # noqa: S104


class BrokerUnavailableError(RuntimeError):
    """Raised when no broker answers and none could be started or installed here."""


class Consent(StrEnum):
    """Whether the demo may install RabbitMQ with apt-get."""

    YES = "yes"
    NO = "no"
    ASK = "ask"


@dataclass(frozen=True)
class BrokerOutcome:
    """How a broker came to answer."""

    url: str
    how: Literal["answering", "started", "installed"]
    detail: str


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parameters = pika.URLParameters(url)
    return f"amqp://{parameters.host}:{parameters.port}{'/' + parameters.virtual_host.lstrip('/')}"


def broker_problem(url: str, *, timeout: float = 3.0) -> str | None:
    """None when a broker answers at ``url`` (an AMQP connection opens), else why not."""
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout
    parameters.connection_attempts = 1
    parameters.blocked_connection_timeout = timeout
    try:
        pika.BlockingConnection(parameters).close()
    except (pika.exceptions.AMQPError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}".rstrip(": ")
    return None


def is_local(url: str) -> bool:
    """Whether the broker of ``url`` would run on this machine."""
    return pika.URLParameters(url).host in _LOCAL_HOSTS


def find_server(path: str | None = None) -> Path | None:
    """The ``rabbitmq-server`` program of this machine, if installed."""
    found = shutil.which("rabbitmq-server", path=path)
    if found:
        return Path(found)
    for folder in SERVER_PLACES:
        candidate = Path(folder) / "rabbitmq-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def install_consent(environ: Mapping[str, str], *, interactive: bool) -> Consent:
    """What ``LIENTHONG_DEMO_INSTALL`` says (1/yes/true, 0/no/false), else ask on a
    terminal and refuse otherwise."""
    value = environ.get(INSTALL_VARIABLE, "").strip().lower()
    if value in {"1", "yes", "true", "y"}:
        return Consent.YES
    if value in {"0", "no", "false", "n"}:
        return Consent.NO
    return Consent.ASK if interactive else Consent.NO


def _wait_for(
    url: str,
    probe: Callable[[str], str | None],
    seconds: float,
    sleep: Callable[[float], None],
) -> str | None:
    deadline = time.monotonic() + seconds
    problem = probe(url)
    while problem is not None and time.monotonic() < deadline:
        sleep(1.0)
        problem = probe(url)
    return problem


def _run(argv: list[str], say: Callable[[str], None]) -> None:
    say(f"$ {' '.join(argv)}")
    finished = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL)
    if finished.returncode != 0:
        raise BrokerUnavailableError(f"`{' '.join(argv)}` exited {finished.returncode}")


def ensure_broker(
    url: str = DEFAULT_AMQP_URL,
    *,
    environ: Mapping[str, str] | None = None,
    say: Callable[[str], None] = print,
    ask: Callable[[str], str] | None = None,
    interactive: bool | None = None,
    is_root: bool | None = None,
    probe: Callable[[str], str | None] = broker_problem,
    run: Callable[[list[str], Callable[[str], None]], None] = _run,
    server: Path | Literal["find"] | None = "find",
    apt_get: str | Literal["find"] | None = "find",
    start_seconds: float = START_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> BrokerOutcome:
    """A broker answering at ``url``: as it was, started here, or installed and started.

    The keyword arguments after ``say`` are for tests (defaults: this machine).

    Raises:
        BrokerUnavailableError: none answers and none could be started or installed; the
            message says what to do.
    """
    env = os.environ if environ is None else environ
    problem = probe(url)
    where = redacted(url)
    if problem is None:
        return BrokerOutcome(url, "answering", f"RabbitMQ answers at {where}")
    if not is_local(url):
        raise BrokerUnavailableError(
            f"no RabbitMQ answers at {where} ({problem}); start it there, or point "
            "LIENTHONG_AMQP_URL at a broker that runs"
        )
    program = find_server() if server == "find" else server
    if program is not None:
        say(f"RabbitMQ does not answer at {where} ({problem}); starting {program} -detached")
        run([str(program), "-detached"], say)
        late = _wait_for(url, probe, start_seconds, sleep)
        if late is None:
            return BrokerOutcome(url, "started", f"started {program} -detached")
        raise BrokerUnavailableError(
            f"started {program} -detached but nothing answers at {where} after "
            f"{start_seconds:.0f} s ({late}); see /var/log/rabbitmq/"
        )
    root = (os.geteuid() == 0) if is_root is None else is_root
    apt = shutil.which("apt-get") if apt_get == "find" else apt_get
    manual = (
        "install and start it (Debian: `sudo apt-get install rabbitmq-server`), or set "
        "LIENTHONG_AMQP_URL to a broker that runs"
    )
    if apt is None or not root:
        why = "apt-get is not available" if apt is None else "installing needs root"
        raise BrokerUnavailableError(
            f"no RabbitMQ answers at {where} and rabbitmq-server is not installed ({why}): "
            + manual
        )
    terminal = sys.stdin.isatty() if interactive is None else interactive
    consent = install_consent(env, interactive=terminal)
    if consent is Consent.ASK:
        answer = (ask or input)(
            "RabbitMQ is not installed. Install Debian's rabbitmq-server with apt-get now? [y/N] "
        )
        consent = Consent.YES if answer.strip().lower() in {"y", "yes"} else Consent.NO
    if consent is not Consent.YES:
        raise BrokerUnavailableError(
            f"no RabbitMQ answers at {where} and rabbitmq-server is not installed: {manual}; "
            f"or let the demo install it: {INSTALL_VARIABLE}=1 make demo (as root)"
        )
    say("installing rabbitmq-server with apt-get")
    run([apt, "update"], say)
    run([apt, "install", "-y", "--no-install-recommends", "rabbitmq-server"], say)
    late = probe(url)
    if late is not None:
        program = find_server()
        if program is None:
            raise BrokerUnavailableError("apt-get installed rabbitmq-server but it is not found")
        run([str(program), "-detached"], say)
        late = _wait_for(url, probe, start_seconds, sleep)
    if late is not None:
        raise BrokerUnavailableError(
            f"rabbitmq-server was installed but nothing answers at {where} ({late})"
        )
    return BrokerOutcome(url, "installed", "installed rabbitmq-server with apt-get")


def delete_topology(
    url: str, prefix: str, retry_delays: Sequence[float], retry_jitter: float = 0.0
) -> None:
    """Delete the exchanges and queues a hub with this prefix and these retry settings
    declares (a demo's or a test's own, never another's); quietly when the broker is gone."""
    from hub.transport.topology import Topology

    topology = Topology(prefix=prefix, retry_delays=tuple(retry_delays), retry_jitter=retry_jitter)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except (pika.exceptions.AMQPError, OSError):
        return
    try:
        channel = connection.channel()
        for queue in topology.queues():
            channel.queue_delete(queue.name)
        for exchange in topology.exchanges():
            channel.exchange_delete(exchange.name)
    except pika.exceptions.AMQPError:
        pass
    finally:
        if connection.is_open:
            connection.close()
