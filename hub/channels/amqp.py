"""The ``amqp`` channel: each packet published to the agency's own queue on the hub's broker.

The queue is ``<prefix>.agency.<code>``, declared on first use; the agency's system consumes
it. Publishing is confirmed; a returned message (the queue was deleted) or a queue declared
with other arguments is permanent, a broker that does not take the message is transient.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.channels.base import DeliveryJob, HandOver, delivery_headers
from hub.db.models import DeliveryState
from hub.errors import (
    BrokerError,
    BrokerUnavailableError,
    PermanentDeliveryError,
    TopologyError,
    TransientDeliveryError,
    UnroutableError,
)
from hub.transport.broker import AgencyQueues
from hub.transport.messages import OutgoingMessage
from hub.transport.topology import Topology

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources

__all__ = ["AgencyQueueHandler", "build", "peer_label"]


def build(resources: ChannelResources) -> AgencyQueueHandler:
    """The channel's handler; each consumer thread opens its own broker connection."""
    return AgencyQueueHandler(resources.agency_queues, resources.topology)


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: the hub's own broker."""
    return "amqp"


class AgencyQueueHandler:
    """The ``amqp`` channel: the raw packet into ``<prefix>.agency.<code>``, confirmed.

    Each thread that delivers gets its own connection, opened on first use. The message
    carries the packet bytes (``application/xml``), the delivery id as ``message_id``, the
    kind as ``type`` and the same ``X-Lienthong-*`` headers as a webhook.
    """

    needs_payload = True

    def __init__(self, connect: Callable[[], AgencyQueues], topology: Topology) -> None:
        self._connect = connect
        self._topology = topology
        self._local = threading.local()

    def peer(self, job: DeliveryJob) -> str | None:
        return None

    def _connection(self) -> AgencyQueues:
        connection: AgencyQueues | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        message = OutgoingMessage(
            exchange=self._topology.agency_exchange.name,
            routing_key=job.recipient,
            body=payload,
            message_id=job.delivery_id,
            headers=delivery_headers(job, int(time.time())),
            content_type="application/xml",
            type=job.kind,
        )
        queue = self._topology.agency_queue(job.recipient).name
        try:
            self._publish(job.recipient, message)
        except UnroutableError as exc:
            raise PermanentDeliveryError(
                f"queue {queue} of {job.recipient} is gone (the message was returned); "
                "replay the delivery to declare it again",
                code="delivery.amqp_unroutable",
            ) from exc
        except TopologyError as exc:
            raise PermanentDeliveryError(
                f"queue {queue} exists with other arguments than the hub declares: {exc}",
                code="delivery.amqp_queue",
            ) from exc
        except BrokerError as exc:
            raise TransientDeliveryError(
                f"the broker did not take the packet for {queue}: {exc}",
                code="delivery.amqp_broker",
            ) from exc
        return HandOver(DeliveryState.DELIVERED)

    def _publish(self, code: str, message: OutgoingMessage) -> None:
        try:
            self._send(code, message)
        except BrokerUnavailableError:
            self.close()
            self._send(code, message)

    def _send(self, code: str, message: OutgoingMessage) -> None:
        connection = self._connection()
        connection.ensure_agency_queue(code)
        connection.publish(message)

    def close(self) -> None:
        connection: AgencyQueues | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
