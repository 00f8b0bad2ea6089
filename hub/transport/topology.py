"""Names and arguments of every exchange and queue the hub uses: the one place for them.

For the prefix ``P`` (``LIENTHONG_AMQP_PREFIX``)::

    P.deliveries  direct exchange ──"deliver"──▶ P.deliveries  quorum work queue
    P.retry       direct exchange ──tier key───▶ P.retry.<delay>s  one quorum queue per delay;
                                                 expired messages dead-letter back to
                                                 P.deliveries (at-least-once)
    P.parked      fanout exchange ─────────────▶ P.parked  quorum parking queue (inspection)
    P.agencies    direct exchange ──agency code▶ P.agency.<code>  one quorum queue per agency
                                                 on the ``amqp`` channel

Retry tiers hold messages for a time, then hand them back. Every message in a tier carries its
own expiration, never longer than the tier's ``x-message-ttl`` (its delay plus the largest
jitter): queues expire messages only at their head, so this bound is what guarantees that a
message never waits longer than its tier allows, whatever is queued ahead of it.

The work queue dead-letters to the parking exchange after :data:`DELIVERY_LIMIT` deliveries
(a message that kills workers again and again); workers park such a message themselves,
with its error, a few deliveries earlier (:data:`POISON_REDELIVERIES`).

Everything is declared durable and idempotently, at start and after every reconnect (on
whichever node of a cluster the connection went to: quorum queues, exchanges and bindings
belong to the whole cluster). Changing the retry delays or the jitter creates new tier queues
(names carry the delay); changing a tier's jitter, or the number of quorum replicas, under the
same name is refused by the broker (:class:`~hub.errors.TopologyError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.settings import Settings

__all__ = [
    "DELIVERY_LIMIT",
    "POISON_REDELIVERIES",
    "WORK_ROUTING_KEY",
    "Binding",
    "Exchange",
    "Queue",
    "RetryTier",
    "Topology",
]

WORK_ROUTING_KEY = "deliver"
"""Routing key of delivery messages on the work exchange."""

POISON_REDELIVERIES = 20
"""Deliveries of one message after which a worker parks it without trying again."""

DELIVERY_LIMIT = POISON_REDELIVERIES + 5
"""Broker-side backstop: the work queue dead-letters a message redelivered this often."""

ExchangeKind = Literal["direct", "fanout"]


@dataclass(frozen=True)
class Exchange:
    """A durable exchange."""

    name: str
    kind: ExchangeKind


@dataclass(frozen=True)
class Queue:
    """A durable queue and its ``x-`` arguments."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    """A queue bound to an exchange under a routing key."""

    queue: str
    exchange: str
    routing_key: str


@dataclass(frozen=True)
class RetryTier:
    """A retry queue: messages wait in it up to ``longest`` seconds, then go back to work."""

    index: int
    delay: float
    """The configured delay of this retry."""
    longest: float
    """The delay plus the largest jitter: the queue's message TTL, the bound of every wait."""
    queue: Queue
    routing_key: str


def _seconds_label(delay: float) -> str:
    return f"{delay:g}s"


def _milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


@dataclass(frozen=True)
class Topology:
    """The broker layout of one hub, derived from its prefix and retry settings."""

    prefix: str = "lienthong"
    retry_delays: tuple[float, ...] = (5.0,)
    retry_jitter: float = 0.0
    parking_max_length: int = 100_000
    quorum_replicas: int = 0
    """Replicas of each quorum queue; 0 leaves it to the broker."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Topology:
        """The topology the settings describe."""
        return cls(
            prefix=settings.broker.prefix,
            retry_delays=settings.retries.delays,
            retry_jitter=settings.retries.jitter,
            parking_max_length=settings.broker.parking_max_length,
            quorum_replicas=settings.broker.quorum_replicas,
        )

    def _quorum(self, **arguments: Any) -> dict[str, Any]:
        replicas = (
            {"x-quorum-initial-group-size": self.quorum_replicas} if self.quorum_replicas else {}
        )
        return {"x-queue-type": "quorum", **replicas, **arguments}

    @property
    def work_exchange(self) -> Exchange:
        """Where the relay and the retry tiers send delivery messages."""
        return Exchange(f"{self.prefix}.deliveries", "direct")

    @property
    def parking_exchange(self) -> Exchange:
        """Where given-up messages go, by the workers or by the broker's delivery limit."""
        return Exchange(f"{self.prefix}.parked", "fanout")

    @property
    def retry_exchange(self) -> Exchange:
        """Where workers send a message to wait in a retry tier."""
        return Exchange(f"{self.prefix}.retry", "direct")

    @property
    def agency_exchange(self) -> Exchange:
        """Where the ``amqp`` channel publishes packets, routed by agency code."""
        return Exchange(f"{self.prefix}.agencies", "direct")

    @property
    def work_queue(self) -> Queue:
        """The quorum queue delivery workers consume."""
        return Queue(
            f"{self.prefix}.deliveries",
            self._quorum(
                **{
                    "x-delivery-limit": DELIVERY_LIMIT,
                    "x-dead-letter-exchange": self.parking_exchange.name,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                }
            ),
        )

    @property
    def parking_queue(self) -> Queue:
        """Parked and expired messages with their last error, for operators to inspect."""
        return Queue(
            f"{self.prefix}.parked",
            self._quorum(**{"x-max-length": self.parking_max_length, "x-overflow": "drop-head"}),
        )

    @property
    def retry_tiers(self) -> tuple[RetryTier, ...]:
        """One tier per configured delay, in the order of the retries."""
        tiers = []
        for index, delay in enumerate(self.retry_delays):
            longest = delay * (1 + self.retry_jitter)
            label = _seconds_label(delay)
            queue = Queue(
                f"{self.prefix}.retry.{label}",
                self._quorum(
                    **{
                        "x-message-ttl": _milliseconds(longest),
                        "x-dead-letter-exchange": self.work_exchange.name,
                        "x-dead-letter-routing-key": WORK_ROUTING_KEY,
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                    }
                ),
            )
            tiers.append(
                RetryTier(index=index, delay=delay, longest=longest, queue=queue, routing_key=label)
            )
        return tuple(tiers)

    def tier_for(self, wait: float) -> RetryTier:
        """The first tier that can hold a message for ``wait`` seconds (else the longest)."""
        tiers = self.retry_tiers
        for tier in tiers:
            if tier.longest >= wait:
                return tier
        return max(tiers, key=lambda tier: tier.longest)

    def agency_queue(self, code: str) -> Queue:
        """The queue an agency on the ``amqp`` channel consumes."""
        return Queue(f"{self.prefix}.agency.{code}", self._quorum())

    def agency_binding(self, code: str) -> Binding:
        """How packets for ``code`` reach its queue."""
        return Binding(self.agency_queue(code).name, self.agency_exchange.name, code)

    def exchanges(self) -> tuple[Exchange, ...]:
        """Every exchange, declared before the queues bound to them."""
        return (
            self.work_exchange,
            self.parking_exchange,
            self.retry_exchange,
            self.agency_exchange,
        )

    def queues(self) -> tuple[Queue, ...]:
        """The fixed queues (agency queues are declared when first used)."""
        seen: dict[str, Queue] = {}
        for queue in (
            self.work_queue,
            self.parking_queue,
            *(tier.queue for tier in self.retry_tiers),
        ):
            seen.setdefault(queue.name, queue)
        return tuple(seen.values())

    def bindings(self) -> tuple[Binding, ...]:
        """The bindings of the fixed queues."""
        found = [
            Binding(self.work_queue.name, self.work_exchange.name, WORK_ROUTING_KEY),
            Binding(self.parking_queue.name, self.parking_exchange.name, ""),
        ]
        for tier in self.retry_tiers:
            binding = Binding(tier.queue.name, self.retry_exchange.name, tier.routing_key)
            if binding not in found:
                found.append(binding)
        return tuple(found)
