"""The outbox relay against the real broker: marked only once confirmed, shared by relays."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import select, update

from adapters.amqp import WindowedPublisher
from hub.channels import Channel
from hub.db.models import Delivery, DeliveryState, OutboxMessage
from hub.transport.messages import OutgoingMessage, PublishResult
from hub.transport.relay import Relay

from .conftest import Hub
from .proxy import BrokerProxy

pytestmark = pytest.mark.integration

AGENCY = "000.00.12.H26"


def queued(hub: Hub, count: int) -> list[str]:
    hub.agency(AGENCY, Channel.INBOX)
    return [hub.delivery(AGENCY, Channel.INBOX) for _ in range(count)]


def work_messages(hub: Hub) -> list[dict[str, str]]:
    return [json.loads(body) for _props, body in hub.broker.take(hub.topology.work_queue.name)]


def test_the_relay_publishes_each_row_as_the_contract_message_and_marks_it(hub: Hub) -> None:
    (delivery_id,) = queued(hub, 1)

    outcome = hub.relay_once()

    assert (outcome.published, outcome.unconfirmed) == (1, 0)
    assert hub.unpublished() == []
    ((properties, body),) = hub.broker.take(hub.topology.work_queue.name)
    row = hub.delivery_row(delivery_id)
    assert json.loads(body) == {
        "delivery_id": delivery_id,
        "packet_id": row.packet_id,
        "recipient": AGENCY,
        "channel": "inbox",
        "blob": _sha256(hub, delivery_id),
    }
    assert properties.message_id == delivery_id
    assert properties.delivery_mode == 2
    assert properties.headers is not None
    assert properties.headers["x-lienthong-attempt"] == 1


def test_rows_whose_confirm_never_came_stay_unpublished_and_go_out_later(hub: Hub) -> None:
    ids = queued(hub, 20)
    proxy = BrokerProxy(hub.settings.broker.url, cut_after_acks=1)
    try:
        outcome = hub.relay_once(url=proxy.url, window=5, batch_size=20)
    finally:
        proxy.close()

    assert proxy.cut.is_set()
    confirmed = proxy.confirmed_tags()
    assert outcome.published == len(confirmed)
    assert outcome.unconfirmed == 20 - len(confirmed)
    assert outcome.unconfirmed >= 15
    assert hub.unpublished() == ids[len(confirmed) :]

    later = hub.relay_once()

    assert later.published == outcome.unconfirmed
    assert hub.unpublished() == []
    assert {message["delivery_id"] for message in work_messages(hub)} == set(ids)


def test_a_row_whose_delivery_is_already_under_way_is_marked_without_publishing(
    hub: Hub,
) -> None:
    (delivery_id,) = queued(hub, 1)
    with hub.database.transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state=DeliveryState.RETRYING, attempts=1)
        )

    outcome = hub.relay_once()

    assert (outcome.taken, outcome.published, outcome.skipped) == (1, 0, 1)
    assert hub.unpublished() == []


def _sha256(hub: Hub, delivery_id: str) -> str:
    with hub.database.transaction() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row.packet.sha256


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_relay_skips_rows_another_relay_holds(hub: Hub) -> None:
    ids = queued(hub, 6)
    with hub.database.sessions() as holder:
        held = holder.scalars(
            select(OutboxMessage.id)
            .order_by(OutboxMessage.id)
            .limit(2)
            .with_for_update(skip_locked=True)
        ).all()
        assert len(held) == 2

        outcome = hub.relay_once()

        assert outcome.published == 4
        holder.rollback()
    assert hub.unpublished() == ids[:2]
    assert hub.relay_once().published == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_relays_together_publish_every_row_exactly_once(hub: Hub) -> None:
    ids = queued(hub, 100)
    relays = [hub.relay(batch_size=5) for _ in range(2)]
    start = threading.Barrier(2)
    published = [0, 0]

    def drain(index: int) -> None:
        start.wait()
        while (outcome := relays[index].run_once()).taken:
            published[index] += outcome.published

    threads = [threading.Thread(target=drain, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for relay in relays:
        relay.close()

    assert sum(published) == 100
    assert hub.unpublished() == []
    delivered = [message["delivery_id"] for message in work_messages(hub)]
    assert sorted(delivered) == sorted(ids)


class _StuckChannel:
    """The real publisher, whose channel the broker refuses (nacks) until it is reopened:
    what RabbitMQ 3.10 did to a channel whose first publish met a quorum queue's election."""

    def __init__(self, real: WindowedPublisher) -> None:
        self.real = real
        self.stuck = True
        self.closed = 0

    @property
    def is_open(self) -> bool:
        return self.real.is_open

    def open(self) -> None:
        self.real.open()

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        if self.stuck:
            return [PublishResult.REFUSED] * len(messages)
        return self.real.publish(messages)

    def close(self) -> None:
        self.closed += 1
        self.stuck = False
        self.real.close()


def test_a_relay_whose_publishes_are_refused_reopens_its_channel_and_publishes_them(
    hub: Hub,
) -> None:
    ids = queued(hub, 3)
    base = hub.relay()
    channel = _StuckChannel(base._publisher)
    relay = Relay(hub.database, channel, hub.topology)  # type: ignore[arg-type]
    try:
        refused = relay.run_once()
        assert (refused.published, refused.unconfirmed) == (0, 3)
        assert hub.unpublished() == ids
        assert channel.closed == 1

        channel.open()
        later = relay.run_once()
    finally:
        relay.close()

    assert (later.published, later.unconfirmed) == (3, 0)
    assert hub.unpublished() == []
    assert {message["delivery_id"] for message in work_messages(hub)} == set(ids)
