"""A private RabbitMQ node and PostgreSQL instance that the fault tests may stop and restart.

Nothing here touches the machine's shared services: the node (``rabbitmq-server`` under its
own node name, ports, data and log directories, no plugins) and the PostgreSQL instance
(``initdb`` into a temporary directory, its own port and socket directory) are started for
each test module and removed after it. As root, PostgreSQL runs as the unprivileged
``LIENTHONG_TEST_PG_USER`` (default ``nobody``) through ``runuser``, since ``initdb`` refuses
root. When the binaries (or ``runuser``) are missing the tests are skipped, and fail under
``CI=true``. Binaries are looked up in ``LIENTHONG_TEST_RABBITMQ_BIN`` and
``LIENTHONG_TEST_PG_BIN`` when set, else in the Debian locations, else on the PATH.

Each test gets its own database and topology prefix, a fresh :class:`FastReceiver` and the
hub as real ``lienthong serve``, ``relay`` and ``worker`` processes (:class:`HubProcesses`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pika
import pika.exceptions
import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from hub.auth.tokens import issue_token
from hub.db.database import open_database
from hub.db.migrate import upgrade
from hub.db.models import Delivery
from hub.directory import import_directory, parse_directory
from hub.settings import Settings
from hub.transport.topology import Topology
from simulators.load import Document, FastReceiver, Posted, prepare_documents
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[3]
SENDER = "000.00.01.H98"
RECIPIENTS = tuple(f"000.00.{n:02d}.H98" for n in range(2, 8))
START_SECONDS = 60.0
SETTLE_SECONDS = 60.0


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the fault tests need this under CI=true: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _find(name: str, variable: str, places: Sequence[str]) -> Path | None:
    folders = [os.environ.get(variable, ""), *places]
    for folder in filter(None, folders):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s")
        time.sleep(0.1)


# -- RabbitMQ ------------------------------------------------------------------------------


class RabbitNode:
    """A private RabbitMQ node: its own name, ports, data, logs and Erlang cookie."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.name = f"lienthong-faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        (folder / "home").mkdir()
        (folder / "enabled_plugins").write_text("[].\n")
        self.environment = {
            **os.environ,
            "HOME": str(folder / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_PID_FILE": str(folder / "node.pid"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self) -> None:
        self._output = open(self.folder / "server.out", "ab")  # noqa: SIM115 - closed in stop
        self.process = subprocess.Popen(
            [str(self.bin_dir / "rabbitmq-server")],
            env=self.environment,
            cwd=self.folder,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ctl("await_startup", "--timeout", str(int(START_SECONDS)), check=False)
        _wait(self.answers, START_SECONDS, f"RabbitMQ node {self.name} answering")

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            tail = (self.folder / "server.out").read_text(errors="replace")[-2000:]
            raise AssertionError(f"rabbitmq-server ended with {self.process.returncode}: {tail}")
        try:
            pika.BlockingConnection(pika.URLParameters(self.url)).close()
        except (pika.exceptions.AMQPError, OSError):
            return False
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        self.ctl("stop", check=False)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def restart(self, down_for: float) -> None:
        """Stop the node, wait ``down_for`` seconds, start it again with its data."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def ctl(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "rabbitmqctl"), "-n", self.name, *arguments],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=START_SECONDS + 10,
            check=check,
        )


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitNode]:
    """A private RabbitMQ node for the test module."""
    server = _find("rabbitmq-server", "LIENTHONG_TEST_RABBITMQ_BIN", ["/usr/lib/rabbitmq/bin"])
    control = server.parent / "rabbitmqctl" if server is not None else None
    if server is None or control is None or not control.exists():
        _unavailable("rabbitmq-server and rabbitmqctl are not installed")
    assert server is not None
    folder = Path(tempfile.mkdtemp(prefix="lienthong-rabbit-"))
    node = RabbitNode(server.parent, folder)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- PostgreSQL ------------------------------------------------------------------------------


class PostgresInstance:
    """A private PostgreSQL instance in a temporary directory, on its own port."""

    superuser = "lienthong"

    def __init__(self, bin_dir: Path, folder: Path, run_as: str | None) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.run_as = run_as
        self.port = free_port()
        self.data = folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def initialise(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            str(int(START_SECONDS)),
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def engine(self, database: str = "postgres") -> Engine:
        return create_engine(self.url(database), isolation_level="AUTOCOMMIT")


def _postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    places = [str(path) for path in reversed(versions)]
    found = _find("pg_ctl", "LIENTHONG_TEST_PG_BIN", places)
    if found is None or not (found.parent / "initdb").exists():
        return None
    return found.parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    """A private PostgreSQL instance for the test module."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert bin_dir is not None
    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = os.environ.get("LIENTHONG_TEST_PG_USER", "nobody")
        if shutil.which("runuser") is None:
            _unavailable("running as root, PostgreSQL needs `runuser` to start as another user")
        try:
            account = pwd.getpwnam(run_as)
        except KeyError:
            _unavailable(f"running as root, PostgreSQL needs the user {run_as!r}")
    folder = Path(tempfile.mkdtemp(prefix="lienthong-pg-"))
    if run_as is not None:
        folder.chmod(0o755)
        os.chown(folder, account.pw_uid, account.pw_gid)
    instance = PostgresInstance(bin_dir, folder, run_as)
    try:
        instance.initialise()
        instance.start()
        yield instance
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            instance.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- the hub as processes ------------------------------------------------------------------


@dataclass
class HubProcesses:
    """A hub on the private services: its settings, tokens and running processes."""

    settings: Settings
    environment: dict[str, str]
    tokens: dict[str, str]
    port: int
    logs: Path
    rabbit: RabbitNode
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def topology(self) -> Topology:
        return Topology.from_settings(self.settings)

    def start(self, name: str, command: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", command],
            env=self.environment,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def ended(self) -> dict[str, int]:
        """Processes that ended, with their exit codes."""
        return {
            name: code
            for name, process in self.processes.items()
            if (code := process.poll()) is not None
        }

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def consumers(self) -> int:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.rabbit.url))
        except (pika.exceptions.AMQPError, OSError):
            return 0
        try:
            declared = connection.channel().queue_declare(
                self.topology.work_queue.name, passive=True
            )
            return int(declared.method.consumer_count or 0)
        except pika.exceptions.AMQPError:
            return 0
        finally:
            if connection.is_open:
                connection.close()

    def ready(self) -> bool:
        try:
            return httpx.get(self.api_url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, consumers: int) -> None:
        def up() -> bool:
            ended = self.ended()
            if ended:
                name = next(iter(ended))
                raise AssertionError(f"{name} ended with {ended[name]}: {self.log_tail(name)}")
            return self.ready() and self.consumers() >= consumers

        _wait(up, START_SECONDS, "the hub ready")

    def documents(self, count: int, first_number: int = 1) -> list[Document]:
        return prepare_documents(
            SENDER, RECIPIENTS, count, size=4000, first_number=first_number, statuses=False
        )

    def deliveries(self, packet_ids: Sequence[str]) -> list[Delivery]:
        with open_database(self.settings) as database, database.transaction() as session:
            return list(session.scalars(select(Delivery).where(Delivery.packet_id.in_(packet_ids))))


def directory_yaml(receiver: FastReceiver, secret: str) -> str:
    agencies: list[dict[str, Any]] = [
        {"code": "000.00.00.H98", "name": "UBND (thử lỗi)", "level": 1, "channel": "inbox"},
        {"code": SENDER, "name": "Văn phòng (thử lỗi)", "level": 2, "channel": "inbox"},
    ]
    agencies += [
        {
            "code": code,
            "name": f"Sở thử lỗi {code[7:9]}",
            "level": 2,
            "channel": "webhook",
            "settings": {"url": receiver.url(f"/{code}"), "secret": secret},
        }
        for code in RECIPIENTS
    ]
    levels = [{"level": 1, "name": "Thành phố"}, {"level": 2, "name": "Sở, ngành"}]
    return yaml.safe_dump({"levels": levels, "agencies": agencies}, allow_unicode=True)


@pytest.fixture
def receiver() -> Iterator[FastReceiver]:
    with FastReceiver() as server:
        yield server


@pytest.fixture
def hub(
    rabbit: RabbitNode,
    postgres: PostgresInstance,
    receiver: FastReceiver,
    tmp_path: Path,
) -> Iterator[HubProcesses]:
    """The hub on the private services, with a fresh database and prefix; not yet started."""
    database = f"faults_{uuid.uuid4().hex[:10]}"
    admin = postgres.engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()
    prefix = f"lienthong-faults-{uuid.uuid4().hex[:8]}"
    port = free_port()
    values = {
        "LIENTHONG_DATABASE_URL": postgres.url(database),
        "LIENTHONG_DATA_DIR": str(tmp_path / "var"),
        "LIENTHONG_AMQP_URL": rabbit.url,
        "LIENTHONG_AMQP_PREFIX": prefix,
        "LIENTHONG_AMQP_HEARTBEAT": "10",
        "LIENTHONG_AMQP_RECONNECT_TIMEOUT": "60",
        "LIENTHONG_PORT": str(port),
        "LIENTHONG_RETRY_DELAYS": "0.5,1,2,2,2,2,2,2,2,2",
        "LIENTHONG_RETRY_JITTER": "0",
        "LIENTHONG_RELAY_IDLE_SECONDS": "0.1",
        "LIENTHONG_RELAY_CONFIRM_TIMEOUT": "5",
        "LIENTHONG_WORKER_THREADS": "4",
        "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT": "2",
        "LIENTHONG_WEBHOOK_READ_TIMEOUT": "5",
        "LIENTHONG_BREAKER_COOLDOWN": "0.5",
        "LIENTHONG_BREAKER_MAX_COOLDOWN": "1",
        "LIENTHONG_AUTO_MIGRATE": "never",
        "LIENTHONG_LOG_FORMAT": "json",
    }
    environment = {
        **{k: v for k, v in os.environ.items() if not k.upper().startswith("LIENTHONG_")},
        **values,
    }
    settings = Settings(
        database_url=values["LIENTHONG_DATABASE_URL"],
        data_dir=tmp_path / "var",
        amqp_prefix=prefix,
    )
    upgrade(settings)
    secret = uuid.uuid4().hex
    with open_database(settings) as opened, opened.transaction() as session:
        import_directory(session, parse_directory(directory_yaml(receiver, secret), "yaml"))
        tokens = {SENDER: issue_token(session, SENDER, "faults").token}
    logs = tmp_path / "logs"
    logs.mkdir()
    made = HubProcesses(settings, environment, tokens, port, logs, rabbit)
    try:
        yield made
    finally:
        made.stop_all()
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            _delete_topology(rabbit.url, made.topology)
        admin = postgres.engine()
        with contextlib.suppress(Exception), admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def _delete_topology(url: str, topology: Topology) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for queue in topology.queues():
        channel.queue_delete(queue.name)
    for exchange in topology.exchanges():
        channel.exchange_delete(exchange.name)
    connection.close()


# -- what every scenario checks ----------------------------------------------------------------


def assert_nothing_lost(hub: HubProcesses, receiver: FastReceiver, posted: list[Posted]) -> None:
    """Every packet accepted, every delivery delivered, no document new twice at a recipient."""
    refused = [p for p in posted if not p.accepted]
    assert not refused, (
        f"{len(refused)} posts refused, first: {refused[0].status} {refused[0].error}"
    )
    packet_ids = [p.packet_id for p in posted]
    assert len(set(packet_ids)) == len(posted), "two posts got the same packet id"
    expected = {delivery_id for p in posted for delivery_id in p.delivery_ids}

    def settled() -> bool:
        rows = hub.deliveries(packet_ids)
        return len(rows) == len(expected) and all(row.state.value == "delivered" for row in rows)

    try:
        _wait(settled, SETTLE_SECONDS, "every delivery delivered")
    except AssertionError as exc:
        states: dict[str, int] = {}
        for row in hub.deliveries(packet_ids):
            states[row.state.value] = states.get(row.state.value, 0) + 1
        logs = {name: hub.log_tail(name, 1500) for name in hub.processes}
        raise AssertionError(
            f"deliveries by state: {states}; ended: {hub.ended()}; {logs}"
        ) from exc
    seen = {arrival.delivery_id for arrival in receiver.arrivals()}
    assert expected <= seen, f"{len(expected - seen)} deliveries never reached their webhook"
    assert receiver.conflicts() == {}, "a document reached a recipient as new twice"
