"""The services of a lab, each on a host of its own: RabbitMQ nodes forming a cluster,
PostgreSQL, and HAProxy as the TCP balancer in front of several API hosts.

Everything is private to the lab: each RabbitMQ node has its own Erlang cookie file (shared
by the cluster), epmd, data and configuration (the machine's ``/etc/rabbitmq`` is not read);
PostgreSQL runs from a fresh ``initdb`` as an unprivileged user (``initdb`` refuses root).
Binaries are found in ``LIENTHONG_TEST_RABBITMQ_BIN`` / ``LIENTHONG_TEST_PG_BIN`` when set,
else in Debian's places, else on the PATH.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from simulators.lab.network import Host

__all__ = [
    "Balancer",
    "Postgres",
    "RabbitCluster",
    "RabbitNode",
    "find_binary",
    "wait_until",
]

START_SECONDS = 90.0
AMQP_PORT = 5672
POSTGRES_PORT = 5432


def find_binary(name: str, variable: str, places: Sequence[str]) -> Path | None:
    """``name`` in the folder of ``$variable``, else in ``places``, else on the PATH."""
    for folder in filter(None, [os.environ.get(variable, ""), *places]):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.2 s; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached in {timeout:.0f} s")
        time.sleep(0.2)


def accepts(address: str, port: int) -> bool:
    """Whether ``address:port`` takes a TCP connection."""
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


# -- RabbitMQ --------------------------------------------------------------------------------


class RabbitNode:
    """A RabbitMQ node on a host: named after the host's address (long names)."""

    def __init__(self, host: Host, folder: Path, bin_dir: Path, cookie: str) -> None:
        self.host = host
        self.folder = folder
        self.bin_dir = bin_dir
        self.name = f"rabbit@{host.address}"
        home = folder / "home"
        home.mkdir(parents=True)
        cookie_file = home / ".erlang.cookie"
        cookie_file.write_text(cookie)
        cookie_file.chmod(0o400)
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq-env.conf").write_text(f"ERL_EPMD_ADDRESS={host.address},127.0.0.1\n")
        self.environment = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_USE_LONGNAME": "true",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_PID_FILE": str(folder / "node.pid"),
            "RABBITMQ_DIST_PORT": "25672",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{self.host.address}:{AMQP_PORT}/%2F"

    def configure(self, peers: Sequence[str]) -> None:
        """Listen on the host's address and join ``peers`` (node names) on first start."""
        lines = [
            f"listeners.tcp.default = {self.host.address}:{AMQP_PORT}",
            "loopback_users = none",
            "cluster_partition_handling = pause_minority",
            "cluster_formation.peer_discovery_backend = classic_config",
            *(
                f"cluster_formation.classic_config.nodes.{n} = {peer}"
                for n, peer in enumerate(peers, start=1)
            ),
            "disk_free_limit.absolute = 50MB",
            "log.console = false",
        ]
        (self.folder / "rabbitmq.conf").write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start the node (not waiting for it: see :meth:`wait`)."""
        self.process = self.host.start(
            [str(self.bin_dir / "rabbitmq-server")],
            log=self.folder / "server.out",
            env=self.environment,
            cwd=self.folder,
        )

    def answers(self) -> bool:
        """Whether the node takes AMQP connections (fails if the server process ended)."""
        if self.process is not None and self.process.poll() is not None:
            tail = (self.folder / "server.out").read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{self.name} ended with {self.process.returncode}: {tail}")
        return accepts(self.host.address, AMQP_PORT)

    def wait(self) -> None:
        wait_until(self.answers, START_SECONDS, f"RabbitMQ node {self.name} answering")

    def kill(self) -> None:
        """kill -9 of the node (and everything else on its host, epmd included)."""
        self.host.kill_all()
        if self.process is not None:
            self.process.wait(10)
            self.process = None

    def ctl(self, *arguments: str, timeout: float = 60) -> str:
        """``rabbitmqctl`` against this node, run on its host; the output."""
        done = self.host.run(
            [str(self.bin_dir / "rabbitmqctl"), "--longnames", "-n", self.name, *arguments],
            env=self.environment,
            timeout=timeout,
        )
        return done.stdout

    def running_nodes(self) -> list[str]:
        status = json.loads(self.ctl("cluster_status", "--formatter", "json"))
        return sorted(str(name) for name in status.get("running_nodes", []))

    def connections(self) -> list[dict[str, str]]:
        """The cluster's client connections: the node address each went to, and its name."""
        rows = json.loads(
            self.ctl("list_connections", "host", "client_properties", "--formatter", "json")
        )
        found = []
        for row in rows:
            properties = row.get("client_properties") or []
            name = ""
            for item in properties:
                if isinstance(item, list) and item and item[0] == "connection_name":
                    name = str(item[-1])
            host = row.get("host", "")
            if isinstance(host, list):  # an address as Erlang's tuple of numbers
                host = ".".join(str(part) for part in host)
            found.append({"host": str(host), "name": name})
        return found


class RabbitCluster:
    """Nodes on the given hosts forming one cluster (the first starts, the others join it)."""

    def __init__(self, hosts: Sequence[Host], folder: Path, bin_dir: Path) -> None:
        cookie = secrets.token_hex(16).upper()
        self.nodes = [
            RabbitNode(host, folder / f"rabbit-{host.name}", bin_dir, cookie) for host in hosts
        ]
        names = [node.name for node in self.nodes]
        for node in self.nodes:
            node.configure(names)

    @property
    def url(self) -> str:
        """``LIENTHONG_AMQP_URL`` of the cluster: every node, in order."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        first, *others = self.nodes
        first.start()
        first.wait()
        for node in others:
            node.start()
        for node in others:
            node.wait()
        wait_until(
            lambda: len(first.running_nodes()) == len(self.nodes),
            START_SECONDS,
            "every RabbitMQ node in one cluster",
        )

    def node_of(self, address: str) -> RabbitNode:
        return next(node for node in self.nodes if node.host.address == address)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


# -- PostgreSQL -----------------------------------------------------------------------------


def postgres_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest Debian version first)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    found = find_binary("pg_ctl", "LIENTHONG_TEST_PG_BIN", [str(p) for p in reversed(versions)])
    if found is None or not (found.parent / "initdb").exists():
        return None
    return found.parent


class Postgres:
    """A PostgreSQL instance on a host, trusting the lab's addresses; superuser ``lienthong``."""

    superuser = "lienthong"

    def __init__(self, host: Host, folder: Path, bin_dir: Path, run_as: str = "nobody") -> None:
        self.host = host
        self.folder = folder
        self.bin_dir = bin_dir
        self.run_as = run_as
        account = pwd.getpwnam(run_as)
        folder.mkdir(parents=True)
        os.chown(folder, account.pw_uid, account.pw_gid)
        self.data = folder / "data"

    def url(self, database: str = "postgres") -> str:
        return (
            f"postgresql+psycopg://{self.superuser}@{self.host.address}:{POSTGRES_PORT}/{database}"
        )

    def start(self) -> None:
        self.host.run(
            [
                str(self.bin_dir / "initdb"),
                *("-D", str(self.data), "-U", self.superuser, "-A", "trust", "-E", "UTF8"),
                "--no-sync",
            ],
            user=self.run_as,
        )
        with open(self.data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host all all {self.host.network.prefix}0/24 trust\n")
        options = (
            f"-p {POSTGRES_PORT} -k {self.folder} -c listen_addresses={self.host.address} "
            "-c fsync=off -c synchronous_commit=off -c max_connections=300"
        )
        self.host.run(
            [
                str(self.bin_dir / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.folder / "server.log")),
                *("-w", "-t", str(int(START_SECONDS)), "-o", options, "start"),
            ],
            user=self.run_as,
        )

    def create_database(self, name: str) -> str:
        """Create a database; its URL."""
        self.host.run(
            [
                str(self.bin_dir / "createdb"),
                *("-h", self.host.address, "-p", str(POSTGRES_PORT), "-U", self.superuser, name),
            ],
            user=self.run_as,
        )
        return self.url(name)


# -- HAProxy --------------------------------------------------------------------------------


class Balancer:
    """HAProxy in TCP mode on a host, spreading connections over API hosts that answer
    ``/readyz`` (checked every half second; a host failing twice is taken out)."""

    def __init__(self, host: Host, folder: Path, binary: Path, port: int = 8080) -> None:
        self.host = host
        self.folder = folder
        self.binary = binary
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host.address}:{self.port}"

    def start(self, backends: Sequence[tuple[str, str, int]]) -> None:
        """Balance over ``backends`` (name, address, port)."""
        servers = "\n".join(
            f"    server {name} {address}:{port} check" for name, address, port in backends
        )
        config = f"""global
    maxconn 2000

defaults
    mode tcp
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch

frontend api
    bind {self.host.address}:{self.port}
    default_backend apis

backend apis
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "haproxy.cfg"
        path.write_text(config)
        self.host.run([str(self.binary), "-c", "-q", "-f", str(path)])
        self.process = self.host.start(
            [str(self.binary), "-db", "-f", str(path)], log=self.folder / "haproxy.log"
        )
        wait_until(lambda: accepts(self.host.address, self.port), 30, "HAProxy listening")
