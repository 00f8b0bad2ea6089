"""A running system per database backend and hub settings, on a real broker and database.

Tests run grouped by backend; modules with the same settings share one running hub (each
test works on packets of its own), and one system runs at a time. RabbitMQ is
``LIENTHONG_TEST_AMQP_URL`` (default: the local server as guest) and PostgreSQL
``LIENTHONG_TEST_POSTGRES_URL`` (default: the local server, user postgres); the tests are
skipped when a service does not answer, and fail under ``CI=true``. Each hub gets its own
broker prefix (under one per session), deleted after it, and on PostgreSQL a database of its
own, dropped after it; on SQLite it uses its default file under its data directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import count

import pika
import pika.exceptions
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub.transport.topology import Topology
from tests.conftest import IN_CI

from .system import HUB_SETTINGS, System, running_system

AMQP_URL = os.environ.get("LIENTHONG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
POSTGRES_ADMIN_URL = os.environ.get(
    "LIENTHONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The broker; skip (or fail under CI=true) when it does not answer."""
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except (pika.exceptions.AMQPError, OSError) as exc:
        _unavailable(f"RabbitMQ is not reachable at LIENTHONG_TEST_AMQP_URL: {exc!r}")
    return AMQP_URL


@pytest.fixture(scope="session")
def session_prefix() -> str:
    return f"lienthong-e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database of the hub: its default SQLite file, or PostgreSQL."""
    return str(request.param)


@pytest.fixture(scope="module")
def hub_settings() -> dict[str, str]:
    """Extra LIENTHONG_* settings of the module's hub (modules override this)."""
    return {}


class Hubs:
    """The one running system at a time: modules asking for the same backend and settings
    share it, and asking for others stops it and starts those."""

    def __init__(self, amqp_url: str, prefix: str, factory: pytest.TempPathFactory) -> None:
        self._amqp_url = amqp_url
        self._prefix = prefix
        self._factory = factory
        self._numbers = count(1)
        self._key: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self._system: System | None = None
        self._stack = ExitStack()

    def running(self, backend: str, settings: dict[str, str]) -> System:
        """The system on ``backend`` with ``settings``, started if it is not the current one."""
        key = (backend, tuple(sorted(settings.items())))
        if self._system is not None and self._key == key:
            return self._system
        self.close()
        prefix = f"{self._prefix}.{next(self._numbers)}"
        with ExitStack() as stack:
            stack.callback(_delete_topology, self._amqp_url, prefix)
            database = stack.enter_context(throwaway_database(backend))
            variables = {
                "LIENTHONG_AMQP_URL": self._amqp_url,
                "LIENTHONG_AMQP_PREFIX": prefix,
                **database,
                **settings,
            }
            root = self._factory.mktemp("hub")
            self._system = stack.enter_context(running_system(root, variables))
            self._key = key
            self._stack = stack.pop_all()
        return self._system

    def close(self) -> None:
        """Stop the current system, if any."""
        self._system = self._key = None
        self._stack.close()


@pytest.fixture(scope="session")
def hubs(
    amqp_url: str, session_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hubs]:
    registry = Hubs(amqp_url, session_prefix, tmp_path_factory)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def system(backend: str, hub_settings: dict[str, str], hubs: Hubs) -> System:
    """The city around a running hub, shared by the modules with the same settings."""
    return hubs.running(backend, hub_settings)


@pytest.fixture(autouse=True)
def _no_problems(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test ends with no agency having noticed anything wrong and the hub still up."""
    if "system" not in request.fixturenames:
        yield
        return
    system: System = request.getfixturevalue("system")
    system.forget_problems()
    yield
    problems = system.problems()
    assert not problems, "\n".join(problems)


@contextmanager
def throwaway_database(backend: str) -> Iterator[dict[str, str]]:
    """No setting for SQLite (the hub's default file); else a throwaway PostgreSQL database."""
    if backend == "sqlite":
        yield {}
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL)!r}: {exc}")
    name = f"lienthong_e2e_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        yield {"LIENTHONG_DATABASE_URL": url.render_as_string(hide_password=False)}
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _delete_topology(amqp_url: str, prefix: str) -> None:
    delays = tuple(float(part) for part in HUB_SETTINGS["LIENTHONG_RETRY_DELAYS"].split(","))
    topology = Topology(prefix=prefix, retry_delays=delays, retry_jitter=0.0)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for queue in topology.queues():
            channel.queue_delete(queue.name)
        for exchange in topology.exchanges():
            channel.exchange_delete(exchange.name)
    finally:
        connection.close()
