"""A broker given as several nodes: processes use the first that answers and move to another
when theirs is lost (the real broker stands behind a cuttable proxy as the "first node")."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from hub.bootstrap import open_worker
from hub.channels import Channel
from hub.db.models import DeliveryState
from hub.errors import BrokerUnavailableError

from .conftest import WAIT_SECONDS, Hub
from .proxy import BrokerProxy

pytestmark = pytest.mark.integration

AGENCY = "000.00.12.H26"


def refused_url() -> str:
    """An AMQP URL on a local port nobody listens on: a node that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


def test_a_node_that_is_down_is_passed_over_by_the_relay_and_the_workers(hub: Hub) -> None:
    nodes = f"{refused_url()},{hub.settings.broker.url}"
    hub.agency(AGENCY, Channel.INBOX)
    delivery_id = hub.delivery(AGENCY, Channel.INBOX)

    published = hub.relay_once(url=nodes)
    with hub.worker(amqp_url=nodes):
        hub.wait_state(delivery_id, DeliveryState.AVAILABLE)

    assert published.published == 1


def test_a_worker_whose_node_is_lost_goes_on_through_another(hub: Hub) -> None:
    proxy = BrokerProxy(hub.settings.broker.url)
    hub.agency(AGENCY, Channel.INBOX)
    first = hub.delivery(AGENCY, Channel.INBOX)
    hub.relay_once()
    try:
        with hub.worker(amqp_url=f"{proxy.url},{hub.settings.broker.url}"):
            hub.wait_state(first, DeliveryState.AVAILABLE)
            proxy.close()  # the first node goes away: its connections cut, its port closed
            later = [hub.delivery(AGENCY, Channel.INBOX) for _ in range(3)]
            hub.relay_once()
            for delivery_id in later:
                hub.wait_state(delivery_id, DeliveryState.AVAILABLE)
    finally:
        proxy.close()


def test_a_worker_is_ready_only_while_its_consumers_consume(hub: Hub) -> None:
    settings = hub.settings.replace(worker_threads=2)
    stop = threading.Event()
    with open_worker(settings, hub.database) as worker:
        with pytest.raises(BrokerUnavailableError, match="2 of 2 consumers"):
            worker.check_consuming()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    worker.check_consuming()
                    break
                except BrokerUnavailableError:
                    assert time.monotonic() < deadline, "the worker never became ready"
                    time.sleep(0.1)
        finally:
            stop.set()
            thread.join(WAIT_SECONDS)
        with pytest.raises(BrokerUnavailableError):
            worker.check_consuming()
