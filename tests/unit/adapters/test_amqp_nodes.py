"""Broker nodes: the first that answers takes the connection, a lost node is tried last."""

from __future__ import annotations

from typing import Any

import pika
import pika.exceptions
import pytest

import adapters.amqp
from adapters.amqp import BrokerNodes, redacted_amqp_url
from hub.errors import BrokerUnavailableError

URLS = "amqp://hub:pw@n1:5672/%2F,amqp://hub:pw@n2:5672/%2F,amqp://hub:pw@n3:5672/%2F"


class FakeConnections:
    """Stands in for pika's BlockingConnection: refuses the hosts listed in ``down``."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.tried: list[str] = []

    def __call__(self, parameters: pika.URLParameters) -> Any:
        self.tried.append(parameters.host)
        if parameters.host in self.down:
            raise pika.exceptions.AMQPConnectionError("refused")
        return object()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> FakeConnections:
    fake = FakeConnections()
    monkeypatch.setattr(adapters.amqp, "BlockingConnection", fake)
    return fake


def test_every_password_of_a_list_is_hidden() -> None:
    assert redacted_amqp_url(URLS) == (
        "amqp://hub:***@n1:5672/%2F,amqp://hub:***@n2:5672/%2F,amqp://hub:***@n3:5672/%2F"
    )


def test_the_first_node_that_answers_takes_the_connection(connections: FakeConnections) -> None:
    connections.down = {"n1"}
    nodes = BrokerNodes(URLS, jitter=0)

    _, index = nodes.connect()

    assert index == 1
    assert connections.tried == ["n1", "n2"]
    assert nodes.current == "amqp://hub:***@n2:5672/%2F"


def test_the_next_connection_goes_back_to_the_node_in_use(connections: FakeConnections) -> None:
    nodes = BrokerNodes(URLS, jitter=0)
    nodes.connect()

    nodes.connect()

    assert connections.tried == ["n1", "n1"]


def test_after_a_loss_the_following_nodes_are_tried_first(connections: FakeConnections) -> None:
    nodes = BrokerNodes(URLS, jitter=0)
    nodes.connect()

    nodes.lost()
    nodes.connect()

    assert connections.tried == ["n1", "n2"]


def test_the_lost_node_is_still_tried_when_the_others_are_down(
    connections: FakeConnections,
) -> None:
    nodes = BrokerNodes(URLS, jitter=0)
    nodes.connect()
    connections.down = {"n2", "n3"}

    nodes.lost()
    _, index = nodes.connect()

    assert index == 0
    assert connections.tried == ["n1", "n2", "n3", "n1"]


def test_no_node_answering_names_every_node_without_passwords(
    connections: FakeConnections,
) -> None:
    connections.down = {"n1", "n2", "n3"}

    with pytest.raises(BrokerUnavailableError) as raised:
        BrokerNodes(URLS, jitter=0).connect()

    assert all(f"@{host}:5672" in raised.value.message for host in ("n1", "n2", "n3"))
    assert ":pw@" not in raised.value.message


def test_each_node_gets_the_connect_timeout() -> None:
    nodes = BrokerNodes(URLS, connect_timeout=2.5)

    assert {parameters.socket_timeout for _, parameters, _ in nodes.in_turn()} == {2.5}
