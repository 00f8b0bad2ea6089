"""The hub recovers from a killed worker, a restarted broker and a database outage.

The hub runs as real processes against a private RabbitMQ node and PostgreSQL instance
(conftest.py) while packets flow; after each fault, every accepted packet's deliveries reach
their webhooks and end ``delivered``, and no recipient gets the same document under two
delivery ids. The same delivery id twice is allowed (delivery is at least once).
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from simulators.load import FastReceiver, Posted, Reply, post_documents

from .conftest import (
    RECIPIENTS,
    SENDER,
    HubProcesses,
    PostgresInstance,
    RabbitNode,
    assert_nothing_lost,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def start_hub(hub: HubProcesses, *, workers: int = 1) -> None:
    hub.start("api", "serve")
    hub.start("relay", "relay")
    for number in range(1, workers + 1):
        hub.start(f"worker{number}", "worker")
    hub.wait_ready(consumers=4 * workers)


def post_in_background(
    hub: HubProcesses, count: int, rate: float, first_number: int = 1
) -> tuple[threading.Thread, list[Posted]]:
    documents = hub.documents(count, first_number)
    results: list[Posted] = []

    def run() -> None:
        results.extend(post_documents(hub.api_url, hub.tokens, documents, concurrency=4, rate=rate))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def test_a_worker_killed_with_deliveries_in_flight_loses_none_and_repeats_only_their_ids(
    hub: HubProcesses, receiver: FastReceiver
) -> None:
    for code in RECIPIENTS:
        receiver.reply(f"/{code}", Reply(delay=0.5))
    start_hub(hub)
    posted = post_documents(hub.api_url, hub.tokens, hub.documents(60), concurrency=4)
    assert receiver.wait_for(8, timeout=30)

    hub.kill("worker1")
    for code in RECIPIENTS:
        receiver.reply(f"/{code}", None)
    hub.start("worker2", "worker")

    assert_nothing_lost(hub, receiver, posted)
    assert receiver.duplicates >= 1, "the kill interrupted no delivery"


def test_a_broker_restart_while_packets_flow_loses_nothing(
    hub: HubProcesses, receiver: FastReceiver, rabbit: RabbitNode
) -> None:
    start_hub(hub)
    thread, posted = post_in_background(hub, count=120, rate=15)
    assert receiver.wait_for(15, timeout=30)

    rabbit.restart(down_for=2)
    thread.join(90)

    assert not thread.is_alive()
    assert len(posted) == 120
    assert_nothing_lost(hub, receiver, posted)
    assert hub.ended() == {}, "a hub process gave up during the restart"


def test_a_database_outage_answers_503_then_loses_nothing(
    hub: HubProcesses, receiver: FastReceiver, postgres: PostgresInstance
) -> None:
    start_hub(hub)
    thread, posted = post_in_background(hub, count=120, rate=15)
    assert receiver.wait_for(15, timeout=30)

    postgres.stop()
    try:
        during = httpx.post(
            f"{hub.api_url}/api/v1/packets",
            content=hub.documents(1, first_number=1000)[0].data,
            headers={"Authorization": f"Bearer {hub.tokens[SENDER]}"},
            timeout=30,
        )
        ready = httpx.get(f"{hub.api_url}/readyz", timeout=30)
        time.sleep(2)
    finally:
        postgres.start()
    thread.join(90)

    assert during.status_code == 503
    assert during.headers.get("retry-after") == "30"
    assert ready.status_code == 503
    assert not thread.is_alive()
    assert len(posted) == 120
    assert any(p.unavailable for p in posted), "no post met the outage"
    assert_nothing_lost(hub, receiver, posted)
    assert hub.ended() == {}, "a hub process gave up during the outage"


def test_a_peer_that_never_answers_does_not_hold_up_the_other_recipients(
    hub: HubProcesses, receiver: FastReceiver
) -> None:
    silent, healthy = RECIPIENTS[0], RECIPIENTS[1:]
    receiver.reply(f"/{silent}", Reply(delay=3600))
    hub.environment["LIENTHONG_WEBHOOK_READ_TIMEOUT"] = "10"
    hub.start("api", "serve")
    _wait_for_api(hub)
    stuck = post_documents(
        hub.api_url, hub.tokens, hub.documents(8 * len(RECIPIENTS))[:: len(RECIPIENTS)]
    )
    others = post_documents(
        hub.api_url,
        hub.tokens,
        [d for d in hub.documents(40, first_number=100) if d.recipient in healthy],
    )
    assert all(p.accepted for p in stuck + others)
    hub.start("relay", "relay")
    hub.start("worker1", "worker")
    deadline = time.monotonic() + 30
    while receiver.received(f"/{silent}") == 0:
        assert time.monotonic() < deadline, "the silent peer never got a request"
        time.sleep(0.05)
    began = time.monotonic()

    def delivered() -> int:
        return sum(receiver.delivered(f"/{code}") for code in healthy)

    while delivered() < len(others) and time.monotonic() - began < 6:
        time.sleep(0.05)

    assert delivered() == len(others), (
        f"{delivered()} of {len(others)} delivered to the healthy recipients "
        f"{time.monotonic() - began:.1f} s after the silent peer took its first request"
    )


def _wait_for_api(hub: HubProcesses) -> None:
    deadline = time.monotonic() + 60
    while not hub.ready():
        assert time.monotonic() < deadline, hub.log_tail("api")
        time.sleep(0.1)
