"""A real RabbitMQ, a real database and a real webhook receiver for the delivery tests.

The broker is ``LIENTHONG_TEST_AMQP_URL`` (default: the local server as guest); tests are
skipped when it does not answer, and fail under ``CI=true``. Each test declares its topology
under its own prefix (inside one prefix per session) and everything it declared is deleted
after it, so a shared broker is never disturbed. Databases come from tests/integration/hub
(SQLite and PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
from sqlalchemy import select

from adapters.amqp import WindowedPublisher
from adapters.payloads.files import FileBlobStore
from hub.bootstrap import open_worker
from hub.channels import Channel
from hub.db.database import Database, open_database
from hub.db.migrate import upgrade
from hub.db.models import Delivery, DeliveryAttempt, DeliveryState, OutboxMessage
from hub.settings import Settings
from hub.transport.relay import Relay, RelayRound
from hub.transport.topology import Topology
from tests.integration.hub.conftest import (  # noqa: F401 - fixtures used by name
    IN_CI,
    clean_environment,
    database_url,
    postgres_server_url,
    postgres_url,
    sqlite_url,
)

from . import rows
from .receiver import WebhookReceiver

AMQP_URL = os.environ.get("LIENTHONG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
WAIT_SECONDS = 20.0

_test_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The broker of the tests; skip (or fail under CI=true) when it does not answer."""
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except (pika.exceptions.AMQPError, OSError) as exc:
        reason = f"RabbitMQ is not reachable at LIENTHONG_TEST_AMQP_URL: {exc!r}"
        if IN_CI:
            pytest.fail(f"RabbitMQ is required under CI=true. {reason}")
        pytest.skip(reason)
    return AMQP_URL


@pytest.fixture(scope="session")
def session_prefix() -> str:
    return f"lienthong-test-{uuid.uuid4().hex[:8]}"


class BrokerProbe:
    """The test's own view of the broker: read queues, publish raw, delete a topology."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()

    def take(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message now in ``queue``, removed from it."""
        found = []
        while True:
            method, properties, body = self.channel.basic_get(queue)
            if method is None:
                return found
            assert properties is not None
            assert body is not None
            self.channel.basic_ack(method.delivery_tag)
            found.append((properties, body))

    def count(self, queue: str) -> int:
        """Messages ready in ``queue`` (not those handed out and unacknowledged)."""
        declared = self.channel.queue_declare(queue, passive=True)
        return int(declared.method.message_count or 0)

    def consumers(self, queue: str) -> int:
        declared = self.channel.queue_declare(queue, passive=True)
        return int(declared.method.consumer_count or 0)

    def publish(self, exchange: str, routing_key: str, body: bytes, **properties: Any) -> None:
        self.channel.basic_publish(
            exchange, routing_key, body, pika.BasicProperties(**properties), mandatory=True
        )

    def delete(self, topology: Topology, agency_codes: set[str]) -> None:
        if not self.channel.is_open:
            self.channel = self.connection.channel()
        names = [queue.name for queue in topology.queues()]
        names += [topology.agency_queue(code).name for code in agency_codes]
        for name in names:
            self.channel.queue_delete(name)
        for exchange in topology.exchanges():
            self.channel.exchange_delete(exchange.name)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def broker(amqp_url: str) -> Iterator[BrokerProbe]:
    probe = BrokerProbe(amqp_url)
    yield probe
    probe.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@dataclass
class Hub:
    """One hub under test: settings, database, payload store, topology, helpers."""

    settings: Settings
    database: Database
    blobs: FileBlobStore
    broker: BrokerProbe
    agency_codes: set[str] = field(default_factory=set)

    @property
    def topology(self) -> Topology:
        return Topology.from_settings(self.settings)

    def agency(self, code: str, channel: Channel, **channel_settings: Any) -> str:
        rows.add_agency(self.database, code, channel, channel_settings)
        if channel is Channel.AMQP:
            self.agency_codes.add(code)
        return code

    def delivery(self, code: str, channel: Channel, **options: Any) -> str:
        return rows.add_delivery(self.database, self.blobs, code, channel, **options)

    def relay(self, **options: Any) -> Relay:
        publisher = WindowedPublisher(
            options.pop("url", self.settings.broker.url),
            self.topology,
            window=options.pop("window", self.settings.relay.window),
            confirm_timeout=self.settings.relay.confirm_timeout,
            reconnect_timeout=self.settings.broker.reconnect_timeout,
        )
        return Relay(self.database, publisher, self.topology, **options)

    def relay_once(self, **options: Any) -> RelayRound:
        relay = self.relay(**options)
        try:
            return relay.run_once()
        finally:
            relay.close()

    @contextmanager
    def worker(self, **overrides: Any) -> Iterator[None]:
        settings = self.settings.replace(**overrides)
        stop = threading.Event()
        failures: list[BaseException] = []
        with open_worker(settings, self.database) as worker:

            def run() -> None:
                try:
                    worker.run(stop)
                except BaseException as exc:
                    failures.append(exc)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join(WAIT_SECONDS)
        assert not thread.is_alive(), "the worker did not stop"
        if failures:
            raise failures[0]

    def payload(self, delivery_id: str) -> bytes:
        with self.database.transaction() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None
            return self.blobs.read(row.packet.sha256)

    def environment(self, **overrides: str) -> dict[str, str]:
        """Variables that give a ``lienthong`` child process these settings."""
        settings = self.settings
        variables = {
            "LIENTHONG_DATABASE_URL": settings.database.url,
            "LIENTHONG_DATA_DIR": str(settings.storage.data_dir),
            "LIENTHONG_AMQP_URL": settings.broker.url,
            "LIENTHONG_AMQP_PREFIX": settings.broker.prefix,
            "LIENTHONG_RETRY_DELAYS": ",".join(str(d) for d in settings.retries.delays),
            "LIENTHONG_RETRY_JITTER": str(settings.retries.jitter),
            "LIENTHONG_WORKER_THREADS": str(settings.worker.threads),
            "LIENTHONG_WEBHOOK_READ_TIMEOUT": str(settings.webhook.read_timeout),
            "LIENTHONG_AMQP_RECONNECT_TIMEOUT": str(settings.broker.reconnect_timeout),
            "LIENTHONG_LOG_FORMAT": "json",
            **overrides,
        }
        return {**os.environ, **variables}

    def delivery_row(self, delivery_id: str) -> Delivery:
        with self.database.transaction() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None
            return row

    def wait_state(
        self, delivery_id: str, *states: DeliveryState, timeout: float = WAIT_SECONDS
    ) -> Delivery:
        deadline = time.monotonic() + timeout
        while True:
            row = self.delivery_row(delivery_id)
            if row.state in states:
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery {delivery_id} is {row.state}, not in {states}")
            time.sleep(0.05)

    def wait_until(self, condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.05)

    def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        with self.database.transaction() as session:
            return list(
                session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery_id)
                    .order_by(DeliveryAttempt.number)
                )
            )

    def unpublished(self) -> list[str]:
        with self.database.transaction() as session:
            return list(
                session.scalars(
                    select(OutboxMessage.delivery_id)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                )
            )


def hub_settings(
    url: str, tmp_path: Path, amqp_url: str, prefix: str, **overrides: Any
) -> Settings:
    """Settings of a hub under test: tiny delays and timeouts, so the suite stays fast."""
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": tmp_path / "var",
        "amqp_url": amqp_url,
        "amqp_prefix": prefix,
        "retry_delays": (0.2, 0.4),
        "retry_jitter": 0.0,
        "max_delivery_age": timedelta(hours=1),
        "amqp_reconnect_timeout": 5.0,
        "relay_idle_seconds": 0.05,
        "relay_confirm_timeout": 5.0,
        "worker_threads": 2,
        "webhook_connect_timeout": 1.0,
        "webhook_read_timeout": 2.0,
        "breaker_threshold": 5,
        "breaker_cooldown": 1.0,
        "breaker_max_cooldown": 2.0,
        "delivery_attempt_timeout": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_hub(
    database_url: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    amqp_url: str,
    session_prefix: str,
    broker: BrokerProbe,
) -> Iterator[Callable[..., Hub]]:
    """Makes the hub under test with settings overrides; cleans the broker after the test."""
    made: list[Hub] = []
    with ExitStack() as stack:

        def make(**overrides: Any) -> Hub:
            prefix = f"{session_prefix}.{next(_test_numbers)}"
            settings = hub_settings(database_url, tmp_path, amqp_url, prefix, **overrides)
            upgrade(settings)
            database = stack.enter_context(open_database(settings))
            made.append(Hub(settings, database, FileBlobStore(settings.storage.blob_dir), broker))
            return made[-1]

        yield make
        for hub in made:
            broker.delete(hub.topology, hub.agency_codes)


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    """A hub with the default test settings."""
    return make_hub()
