"""What a worker does when things go wrong: duplicates, crashes, dead peers, bad messages."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable

import pika.exceptions
import pytest
from sqlalchemy import update

from hub.channels import Channel
from hub.db.models import DeliveryState, OutboxMessage
from hub.transport.topology import POISON_REDELIVERIES, WORK_ROUTING_KEY

from .conftest import WAIT_SECONDS, Hub
from .proxy import BrokerProxy
from .receiver import Reply, WebhookReceiver

pytestmark = pytest.mark.integration

AGENCY = "000.00.12.H26"
OTHER = "000.00.13.H26"


def worker_process(hub: Hub) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker"],
        env=hub.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_message_that_comes_twice_delivers_once(hub: Hub, receiver: WebhookReceiver) -> None:
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()
    with hub.database.transaction() as session:
        session.execute(update(OutboxMessage).values(published_at=None))
    hub.relay_once()
    work_queue = hub.topology.work_queue.name
    assert hub.broker.count(work_queue) == 2

    with hub.worker(worker_threads=1):
        hub.wait_state(delivery_id, DeliveryState.DELIVERED)
        hub.wait_until(lambda: hub.broker.count(work_queue) == 0)

    assert hub.broker.take(work_queue) == []
    assert len(receiver.requests("/in")) == 1
    assert [a.number for a in hub.attempts(delivery_id)] == [1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_killed_mid_delivery_leaves_the_message_for_another_with_the_same_id(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    held = threading.Event()
    receiver.script("/in", Reply(200, hold=held), Reply(200))
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()
    child = worker_process(hub)
    try:
        receiver.wait_for("/in", 1)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=WAIT_SECONDS)
    finally:
        held.set()
        if child.poll() is None:
            child.kill()
            child.communicate()

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    first, second = receiver.requests("/in")
    assert first.headers["x-lienthong-delivery-id"] == delivery_id
    assert second.headers["x-lienthong-delivery-id"] == delivery_id
    assert row.attempts == 1
    assert [(a.number, a.outcome) for a in hub.attempts(delivery_id)] == [(1, "delivered")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stopped_worker_finishes_the_delivery_in_flight_and_exits_cleanly(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    held = threading.Event()
    receiver.script("/in", Reply(200, hold=held))
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()
    child = worker_process(hub)
    try:
        receiver.wait_for("/in", 1)
        child.send_signal(signal.SIGTERM)
        held.set()
        _out, errors = child.communicate(timeout=WAIT_SECONDS)
    finally:
        held.set()
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == 0, errors.decode()
    assert hub.delivery_row(delivery_id).state is DeliveryState.DELIVERED
    assert len(receiver.requests("/in")) == 1


def test_a_peer_that_hangs_holds_one_consumer_while_the_others_keep_delivering(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    hung = threading.Event()
    receiver.script("/dead", Reply(200, hold=hung))
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/dead"))
    hub.agency(OTHER, Channel.WEBHOOK, url=receiver.url("/ok"))
    stuck = hub.delivery(AGENCY, Channel.WEBHOOK)
    others = [hub.delivery(OTHER, Channel.WEBHOOK) for _ in range(5)]
    hub.relay_once()

    try:
        with hub.worker(worker_threads=2, webhook_read_timeout=WAIT_SECONDS):
            receiver.wait_for("/dead", 1)
            for delivery_id in others:
                hub.wait_state(delivery_id, DeliveryState.DELIVERED)
            assert not hung.is_set()
            assert hub.delivery_row(stuck).state is DeliveryState.QUEUED
            hung.set()
            hub.wait_state(stuck, DeliveryState.DELIVERED)
    finally:
        hung.set()


def test_the_breaker_of_a_failing_peer_opens_then_closes_when_it_recovers(
    make_hub: Callable[..., Hub], receiver: WebhookReceiver
) -> None:
    hub = make_hub(
        retry_delays=(0.3,) * 12,
        breaker_threshold=2,
        breaker_cooldown=0.5,
        breaker_max_cooldown=1.0,
    )
    receiver.script("/in", Reply(500))
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    ids = [hub.delivery(AGENCY, Channel.WEBHOOK) for _ in range(3)]
    hub.relay_once()

    def skipped() -> int:
        return sum(a.outcome == "breaker-open" for i in ids for a in hub.attempts(i))

    with hub.worker(worker_threads=2):
        hub.wait_until(lambda: skipped() >= 2)
        receiver.script("/in", Reply(200))
        for delivery_id in ids:
            hub.wait_state(delivery_id, DeliveryState.DELIVERED)

    attempts = [a for delivery_id in ids for a in hub.attempts(delivery_id)]
    tried = [a for a in attempts if a.outcome != "breaker-open"]
    assert len(receiver.requests("/in")) == len(tried)
    assert len(tried) < len(attempts)
    assert all(a.http_status is None for a in attempts if a.outcome == "breaker-open")


def test_a_message_breaking_the_contract_is_parked_with_the_reason(hub: Hub) -> None:
    parking = hub.topology.parking_queue.name
    with hub.worker():
        hub.wait_until(lambda: _consuming(hub))
        hub.broker.publish(
            hub.topology.work_exchange.name, WORK_ROUTING_KEY, b"not json", delivery_mode=2
        )
        hub.wait_until(lambda: hub.broker.count(parking) == 1)

    ((properties, body),) = hub.broker.take(parking)
    assert body == b"not json"
    assert properties.headers is not None
    assert properties.headers["x-lienthong-state"] == "malformed"
    assert "not a delivery message" in properties.headers["x-lienthong-error"]


def _consuming(hub: Hub) -> bool:
    try:
        return hub.broker.consumers(hub.topology.work_queue.name) > 0
    except pika.exceptions.ChannelClosedByBroker:
        hub.broker.channel = hub.broker.connection.channel()
        return False


def test_a_worker_that_loses_the_broker_reconnects_and_goes_on(hub: Hub) -> None:
    hub.agency(AGENCY, Channel.INBOX)
    first = hub.delivery(AGENCY, Channel.INBOX)
    hub.relay_once()
    proxy = BrokerProxy(hub.settings.broker.url)
    try:
        with hub.worker(amqp_url=proxy.url):
            hub.wait_state(first, DeliveryState.AVAILABLE)
            proxy.close_connections()
            later = [hub.delivery(AGENCY, Channel.INBOX) for _ in range(3)]
            hub.relay_once()
            for delivery_id in later:
                hub.wait_state(delivery_id, DeliveryState.AVAILABLE)
    finally:
        proxy.close()

    assert proxy.cut.is_set()


def test_a_message_that_keeps_killing_workers_is_parked_without_another_try(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    hub.agency(AGENCY, Channel.WEBHOOK, url=receiver.url("/in"))
    delivery_id = hub.delivery(AGENCY, Channel.WEBHOOK)
    hub.relay_once()
    ((properties, body),) = hub.broker.take(hub.topology.work_queue.name)
    assert properties.headers is not None
    hub.broker.publish(
        hub.topology.work_exchange.name,
        WORK_ROUTING_KEY,
        body,
        headers={**properties.headers, "x-delivery-count": POISON_REDELIVERIES},
        message_id=delivery_id,
    )

    with hub.worker():
        row = hub.wait_state(delivery_id, DeliveryState.PARKED)

    assert receiver.requests("/in") == []
    assert row.last_error is not None
    assert "handed out 20 times" in row.last_error
    assert [a.outcome for a in hub.attempts(delivery_id)] == ["interrupted"]
