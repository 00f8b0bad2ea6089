"""The hub spread over hosts made of network namespaces (``simulators.lab``).

Three RabbitMQ nodes in one cluster, one PostgreSQL, two API hosts behind HAProxy, two worker
hosts and two relay hosts, each a namespace with its own address; the webhook receiver and
the load generator run on this machine, a host of the lab too. The hub's processes get the
three nodes' URLs in LIENTHONG_AMQP_URL and the database payload store, so no host shares a
folder with another. Needs root, iproute2, rabbitmq-server, PostgreSQL's server binaries,
``runuser`` and HAProxy (`make balancer`); without them the tests are skipped, and fail
under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pika
import pika.exceptions
import pytest
import yaml
from sqlalchemy import select

from hub.auth.tokens import issue_token
from hub.db.database import open_database
from hub.db.migrate import upgrade
from hub.db.models import Delivery
from hub.directory import import_directory, parse_directory
from hub.settings import Settings
from hub.transport.topology import Topology
from simulators.lab.network import Host, Network, lab_unavailable
from simulators.lab.services import (
    Balancer,
    Postgres,
    RabbitCluster,
    find_binary,
    postgres_binaries,
    wait_until,
)
from simulators.load import FastReceiver
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
SENDER = "000.00.01.H98"
RECIPIENTS = tuple(f"000.00.{n:02d}.H98" for n in range(2, 8))
API_PORT = 8080
READY_SECONDS = 90.0
PG_USER = os.environ.get("LIENTHONG_TEST_PG_USER", "nobody")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the multi-host tests need this under CI=true: {reason}")
    pytest.skip(reason)


@dataclass
class HubHost:
    """A host running one process of the hub."""

    host: Host
    command: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def health_file(self) -> Path:
        return self.folder / "ready"

    @property
    def log(self) -> Path:
        return self.folder / "hub.log"

    def fresh(self, seconds: float = 3.0) -> bool:
        """Whether the process reported itself ready within ``seconds``."""
        try:
            return time.time() - self.health_file.stat().st_mtime < seconds
        except FileNotFoundError:
            return False


@dataclass
class Lab:
    """The lab's hosts and services, and the hub on them."""

    network: Network
    folder: Path
    cluster: RabbitCluster
    postgres: Postgres
    balancer: Balancer
    receiver: FastReceiver
    settings: Settings
    environment: dict[str, str]
    tokens: dict[str, str]
    hub: dict[str, HubHost] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.balancer.url

    @property
    def topology(self) -> Topology:
        return Topology.from_settings(self.settings)

    def start(self, name: str, command: str) -> HubHost:
        host = self.network.host(name)
        folder = self.folder / name
        folder.mkdir()
        made = HubHost(host, command, folder)
        environment = {
            **self.environment,
            "LIENTHONG_HOST": host.address,
            "LIENTHONG_PORT": str(API_PORT),
            "LIENTHONG_DATA_DIR": str(folder / "var"),
            "LIENTHONG_HEALTH_FILE": str(made.health_file),
        }
        made.process = host.start(
            [sys.executable, "-m", "hub.cli", command], log=made.log, env=environment, cwd=ROOT
        )
        self.hub[name] = made
        return made

    def kill_host(self, name: str) -> None:
        """kill -9 of every process on a hub host."""
        made = self.hub[name]
        made.host.kill_all()
        if made.process is not None:
            made.process.wait(10)

    def ended(self) -> dict[str, int]:
        return {
            name: code
            for name, made in self.hub.items()
            if made.process is not None and (code := made.process.poll()) is not None
        }

    def log_tail(self, name: str, chars: int = 2000) -> str:
        path = self.hub[name].log
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def consumers(self) -> int:
        """Consumers of the work queue, as any node that answers tells."""
        for node in self.cluster.nodes:
            if node.process is None:
                continue
            try:
                connection = pika.BlockingConnection(pika.URLParameters(node.url))
            except (pika.exceptions.AMQPError, OSError):
                continue
            try:
                frame = connection.channel().queue_declare(
                    self.topology.work_queue.name, passive=True
                )
                return int(frame.method.consumer_count or 0)
            except pika.exceptions.AMQPError:
                return 0
            finally:
                if connection.is_open:
                    connection.close()
        return 0

    def balanced_ready(self) -> bool:
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
            return (
                self.balanced_ready()
                and self.consumers() >= consumers
                and all(made.fresh() for made in self.hub.values())
            )

        wait_until(up, READY_SECONDS, "the hub ready on every host")

    def deliveries(self, packet_ids: list[str]) -> list[Delivery]:
        with open_database(self.settings) as database, database.transaction() as session:
            return list(session.scalars(select(Delivery).where(Delivery.packet_id.in_(packet_ids))))

    def worker_node(self) -> str:
        """The address of the broker node most of the workers' connections went to."""
        counts: dict[str, int] = {}
        for node in self.cluster.nodes:
            if node.process is None:
                continue
            for connection in node.connections():
                if connection["name"].startswith("lienthong-worker"):
                    counts[connection["host"]] = counts.get(connection["host"], 0) + 1
            break
        assert counts, "no worker is connected to the broker"
        return max(counts, key=lambda address: counts[address])


def _directory(receiver: FastReceiver, secret: str) -> str:
    agencies: list[dict[str, Any]] = [
        {"code": "000.00.00.H98", "name": "UBND (nhiều máy)", "level": 1, "channel": "inbox"},
        {"code": SENDER, "name": "Văn phòng (nhiều máy)", "level": 2, "channel": "inbox"},
    ]
    agencies += [
        {
            "code": code,
            "name": f"Sở nhiều máy {code[7:9]}",
            "level": 2,
            "channel": "webhook",
            "settings": {"url": receiver.url(f"/{code}"), "secret": secret},
        }
        for code in RECIPIENTS
    ]
    levels = [{"level": 1, "name": "Thành phố"}, {"level": 2, "name": "Sở, ngành"}]
    return yaml.safe_dump({"levels": levels, "agencies": agencies}, allow_unicode=True)


def _requirements() -> tuple[Path, Path, Path]:
    """The RabbitMQ, PostgreSQL and HAProxy binaries (or skip/fail)."""
    reason = lab_unavailable()
    if reason is not None:
        _unavailable(reason)
    server = find_binary(
        "rabbitmq-server", "LIENTHONG_TEST_RABBITMQ_BIN", ["/usr/lib/rabbitmq/bin"]
    )
    if server is None or not (server.parent / "rabbitmqctl").exists():
        _unavailable("rabbitmq-server and rabbitmqctl are not installed")
    postgres = postgres_binaries()
    if postgres is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    haproxy = find_binary("haproxy", "LIENTHONG_TEST_HAPROXY_BIN", ["/usr/sbin"])
    if haproxy is None:
        _unavailable("HAProxy is not installed (`make balancer` installs it)")
    if shutil.which("runuser") is None:
        _unavailable("PostgreSQL needs `runuser` to start as another user than root")
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        _unavailable(f"PostgreSQL needs the user {PG_USER!r}")
    assert server is not None
    assert postgres is not None
    assert haproxy is not None
    return server.parent, postgres, haproxy


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """The lab with the hub running on it: two API, two worker and two relay hosts."""
    rabbit_bin, postgres_bin, haproxy = _requirements()
    folder = Path(tempfile.mkdtemp(prefix="lienthong-lab-"))
    folder.chmod(0o755)
    network = Network()
    receiver: FastReceiver | None = None
    made: Lab | None = None
    try:
        cluster = RabbitCluster([network.host(f"rabbit{n}") for n in (1, 2, 3)], folder, rabbit_bin)
        postgres = Postgres(network.host("postgres"), folder / "postgres", postgres_bin, PG_USER)
        postgres.start()
        cluster.start()
        database_url = postgres.create_database("lienthong")
        receiver = FastReceiver(host=network.address)
        prefix = f"lienthong-lab-{uuid.uuid4().hex[:8]}"
        values = {
            "LIENTHONG_DATABASE_URL": database_url,
            "LIENTHONG_PAYLOAD_STORE": "database",
            "LIENTHONG_DATABASE_POOL_SIZE": "6",
            "LIENTHONG_AMQP_URL": cluster.url,
            "LIENTHONG_AMQP_PREFIX": prefix,
            "LIENTHONG_AMQP_HEARTBEAT": "5",
            "LIENTHONG_AMQP_CONNECT_TIMEOUT": "2",
            "LIENTHONG_AMQP_RECONNECT_TIMEOUT": "120",
            "LIENTHONG_RETRY_DELAYS": "0.5,1,2,2,2,2,2,2,2,2",
            "LIENTHONG_RETRY_JITTER": "0",
            "LIENTHONG_RELAY_IDLE_SECONDS": "0.1",
            "LIENTHONG_RELAY_CONFIRM_TIMEOUT": "5",
            "LIENTHONG_WORKER_THREADS": "4",
            "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT": "2",
            "LIENTHONG_WEBHOOK_READ_TIMEOUT": "5",
            "LIENTHONG_BREAKER_COOLDOWN": "0.5",
            "LIENTHONG_BREAKER_MAX_COOLDOWN": "1",
            "LIENTHONG_CONSOLE_ENABLED": "false",
            "LIENTHONG_HEALTH_INTERVAL": "1",
            "LIENTHONG_AUTO_MIGRATE": "never",
            "LIENTHONG_LOG_FORMAT": "json",
        }
        environment = {
            **{k: v for k, v in os.environ.items() if not k.upper().startswith("LIENTHONG_")},
            **values,
        }
        environment.pop("NOTIFY_SOCKET", None)
        settings = Settings(
            database_url=database_url,
            data_dir=folder / "var",
            amqp_url=cluster.url,
            amqp_prefix=prefix,
            payload_store="database",
        )
        upgrade(settings)
        with open_database(settings) as opened, opened.transaction() as session:
            directory = _directory(receiver, uuid.uuid4().hex)
            import_directory(session, parse_directory(directory, "yaml"))
            tokens = {SENDER: issue_token(session, SENDER, "multihost").token}
        made = Lab(
            network,
            folder,
            cluster,
            postgres,
            Balancer(network.host("balancer"), folder / "balancer", haproxy),
            receiver,
            settings,
            environment,
            tokens,
        )
        for name, command in (
            ("api1", "serve"),
            ("api2", "serve"),
            ("worker1", "worker"),
            ("worker2", "worker"),
            ("relay1", "relay"),
            ("relay2", "relay"),
        ):
            made.start(name, command)
        made.balancer.start(
            [(name, made.hub[name].host.address, API_PORT) for name in ("api1", "api2")]
        )
        made.wait_ready(consumers=8)
        yield made
    finally:
        if receiver is not None:
            receiver.close()
        network.close()
        if made is not None and os.environ.get("LIENTHONG_TEST_KEEP_LAB"):
            print(f"lab logs kept in {folder}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder, ignore_errors=True)
