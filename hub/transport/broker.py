"""The broker contract: what the relay, the workers and the ``amqp`` channel need from a
message broker. ``adapters/amqp.py`` implements it on RabbitMQ; tests can stand in for it.

The messages themselves, and their headers, are in :mod:`hub.transport.messages`; the names
of exchanges and queues in :mod:`hub.transport.topology`. Implementations raise the broker
errors of :mod:`hub.errors` (``BrokerError`` and its kinds), translated from their library's.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Protocol

from hub.transport.messages import IncomingMessage, OutgoingMessage, PublishResult

__all__ = ["AgencyQueues", "ConfirmingPublisher", "DeliveryBroker"]


class ConfirmingPublisher(Protocol):
    """Publishes messages and reports, for each, whether the broker confirmed it."""

    @property
    def is_open(self) -> bool:
        """Whether the publishing connection is up."""
        ...

    def open(self) -> None:
        """Connect (bounded retries) and declare the topology."""
        ...

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        """The result of each message, in order."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class DeliveryBroker(Protocol):
    """What a consumer needs from its own broker connection."""

    def open(self) -> None:
        """Connect (bounded retries) and declare the topology."""
        ...

    def consume(
        self, queue: str, *, prefetch: int, idle: float
    ) -> Generator[IncomingMessage | None, None, None]:
        """Messages of ``queue``; None after ``idle`` seconds without one; close to cancel."""
        ...

    def ack(self, message: IncomingMessage) -> None:
        """Acknowledge a message taken on this connection."""
        ...

    def publish(self, message: OutgoingMessage) -> None:
        """Publish and wait for the confirm."""
        ...

    def pump(self, seconds: float) -> None:
        """Process broker I/O (heartbeats) for up to ``seconds``."""
        ...

    def close(self) -> None:
        """Close the connection; unacknowledged messages are redelivered."""
        ...


class AgencyQueues(Protocol):
    """One connection of the ``amqp`` channel: agencies' own queues, confirmed publishing."""

    def ensure_agency_queue(self, code: str) -> str:
        """Declare the queue of agency ``code`` (idempotent); its name."""
        ...

    def publish(self, message: OutgoingMessage) -> None:
        """Publish and wait for the confirm."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...
