"""The broker's queue depths on the API's /metrics, read from the real RabbitMQ."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.amqp import declare_topology, queue_depths
from hub.api.app import create_app
from hub.bootstrap import broker_queue_depths
from hub.errors import BrokerUnavailableError
from simulators.hubprocess import free_port
from tests.integration.hub.pipeline.conftest import ApiClient

from .conftest import Hub

pytestmark = pytest.mark.integration


def test_metrics_show_the_messages_waiting_in_each_queue(hub: Hub) -> None:
    topology = hub.topology
    declare_topology(hub.broker.channel, topology)
    for n in range(3):
        hub.broker.publish("", topology.work_queue.name, f"m{n}".encode())
    hub.broker.publish("", topology.parking_queue.name, b"parked")
    app = create_app(
        hub.settings, hub.database, hub.blobs, queue_depths=broker_queue_depths(hub.settings)
    )

    with ApiClient(app) as client:
        text = client.get("/metrics").text
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    assert values[("lienthong_broker_up", ())] == 1
    assert values[("lienthong_queue_messages", (("queue", topology.work_queue.name),))] == 3
    assert values[("lienthong_queue_messages", (("queue", topology.parking_queue.name),))] == 1
    first_tier = topology.retry_tiers[0].queue.name
    assert values[("lienthong_queue_messages", (("queue", first_tier),))] == 0


def test_queue_depths_leave_out_queues_that_do_not_exist(hub: Hub) -> None:
    declare_topology(hub.broker.channel, hub.topology)
    missing = f"{hub.topology.prefix}.absent"

    depths = queue_depths(hub.settings.broker.url, [missing, hub.topology.work_queue.name])

    assert depths == {hub.topology.work_queue.name: 0}


def test_queue_depths_of_an_unreachable_broker_fail_within_the_timeout() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"

    with pytest.raises(BrokerUnavailableError):
        queue_depths(url, ["anything"], timeout=1.0)
