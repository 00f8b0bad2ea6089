"""The broker layout: names under the prefix, quorum queues, retry tiers and their bounds."""

from __future__ import annotations

import pytest

from hub.settings import Settings
from hub.transport.topology import DELIVERY_LIMIT, POISON_REDELIVERIES, WORK_ROUTING_KEY, Topology


@pytest.fixture
def topology() -> Topology:
    return Topology(prefix="city", retry_delays=(5.0, 30.0, 120.0), retry_jitter=0.2)


def test_every_name_starts_with_the_prefix(topology: Topology) -> None:
    names = [e.name for e in topology.exchanges()] + [q.name for q in topology.queues()]
    names.append(topology.agency_queue("000.00.12.H26").name)

    assert all(name.startswith("city.") for name in names)
    assert topology.agency_queue("000.00.12.H26").name == "city.agency.000.00.12.H26"


def test_every_queue_is_a_quorum_queue(topology: Topology) -> None:
    queues = [*topology.queues(), topology.agency_queue("X")]

    assert {queue.arguments["x-queue-type"] for queue in queues} == {"quorum"}


def test_the_work_queue_parks_a_message_redelivered_past_the_limit(topology: Topology) -> None:
    arguments = topology.work_queue.arguments

    assert arguments["x-delivery-limit"] == DELIVERY_LIMIT
    assert DELIVERY_LIMIT > POISON_REDELIVERIES
    assert arguments["x-dead-letter-exchange"] == topology.parking_exchange.name
    assert arguments["x-dead-letter-strategy"] == "at-least-once"
    assert arguments["x-overflow"] == "reject-publish"


def test_each_retry_tier_holds_its_delay_plus_the_jitter_then_returns_to_work(
    topology: Topology,
) -> None:
    tiers = topology.retry_tiers

    assert [tier.queue.name for tier in tiers] == [
        "city.retry.5s",
        "city.retry.30s",
        "city.retry.120s",
    ]
    assert [tier.queue.arguments["x-message-ttl"] for tier in tiers] == [6000, 36000, 144000]
    for tier in tiers:
        assert tier.queue.arguments["x-dead-letter-exchange"] == topology.work_exchange.name
        assert tier.queue.arguments["x-dead-letter-routing-key"] == WORK_ROUTING_KEY
        assert tier.queue.arguments["x-dead-letter-strategy"] == "at-least-once"
        assert tier.queue.arguments["x-overflow"] == "reject-publish"


def test_a_wait_goes_to_the_first_tier_that_can_hold_it(topology: Topology) -> None:
    assert topology.tier_for(0).delay == 5.0
    assert topology.tier_for(6.0).delay == 5.0
    assert topology.tier_for(6.1).delay == 30.0
    assert topology.tier_for(100).delay == 120.0
    assert topology.tier_for(10_000).delay == 120.0


def test_repeated_delays_share_one_queue_and_binding() -> None:
    topology = Topology(prefix="p", retry_delays=(0.2, 0.2, 0.4))

    assert [queue.name for queue in topology.queues()] == [
        "p.deliveries",
        "p.parked",
        "p.retry.0.2s",
        "p.retry.0.4s",
    ]
    assert len(topology.bindings()) == 4


def test_every_fixed_queue_is_bound(topology: Topology) -> None:
    bound = {binding.queue for binding in topology.bindings()}

    assert bound == {queue.name for queue in topology.queues()}


def test_the_parking_queue_keeps_a_bounded_number_of_messages() -> None:
    topology = Topology.from_settings(Settings(parking_max_length=500))

    assert topology.parking_queue.arguments["x-max-length"] == 500
    assert topology.parking_queue.arguments["x-overflow"] == "drop-head"
    assert topology.prefix == "lienthong"
