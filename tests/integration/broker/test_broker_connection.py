"""The AMQP adapter against the real broker: idempotent topology, clear conflicts, mandatory."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.amqp import BrokerConnection
from hub.errors import TopologyError, UnroutableError
from hub.transport.messages import OutgoingMessage

from .conftest import Hub

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_declaring_the_topology_again_changes_nothing(hub: Hub) -> None:
    for _ in range(2):
        connection = BrokerConnection(hub.settings.broker.url, hub.topology, reconnect_timeout=2)
        connection.open()
        connection.close()

    assert hub.broker.count(hub.topology.work_queue.name) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_queue_with_other_arguments_stops_the_hub_with_what_to_do(hub: Hub) -> None:
    first = BrokerConnection(hub.settings.broker.url, hub.topology, reconnect_timeout=2)
    first.open()
    first.close()
    changed = dataclasses.replace(hub.topology, retry_jitter=0.5)

    with pytest.raises(TopologyError, match="LIENTHONG_AMQP_PREFIX") as caught:
        BrokerConnection(hub.settings.broker.url, changed, reconnect_timeout=2).open()

    assert "retry" in caught.value.message


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_message_no_queue_takes_is_an_error_not_silence(hub: Hub) -> None:
    connection = BrokerConnection(hub.settings.broker.url, hub.topology, reconnect_timeout=2)
    try:
        with pytest.raises(UnroutableError):
            connection.publish(
                OutgoingMessage(hub.topology.work_exchange.name, "nowhere", b"{}", "id-1")
            )
        connection.publish(OutgoingMessage(hub.topology.parking_exchange.name, "", b"{}", "id-2"))
    finally:
        connection.close()

    assert hub.broker.count(hub.topology.parking_queue.name) == 1
