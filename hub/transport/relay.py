"""The outbox relay: publishes outbox rows to the work exchange, marks them once confirmed.

Ingest (and replay) write an outbox row in the same transaction as the delivery; the relay
turns each row into a delivery message (see :mod:`hub.transport.messages`) and sets ``published_at``
only for rows whose message the broker confirmed. A crash between the publish and the commit
publishes those rows again: delivery is at least once, and workers drop the duplicates (the
attempt number in the message no longer matches the delivery).

Each round takes up to ``batch_size`` unpublished rows, oldest first. On PostgreSQL the rows
are locked ``FOR UPDATE SKIP LOCKED`` until the round commits, so several relays share the
work and never publish the same row in the same round. SQLite has no row locks: run a single
relay there; its round reads, publishes, then marks in a second short transaction, so an
ingest writing meanwhile is never blocked or refused.

Rows whose delivery has already left ``queued`` (its message went out before a crash lost the
mark) are marked without publishing again. When a round finds less than a full batch the
relay waits for news of new rows (PostgreSQL ``NOTIFY``, see :mod:`hub.transport.wakeup`) or
``idle_seconds``, whichever comes first. Between rounds it runs its chores (the composition
root gives it one: applying directory changes that came into effect).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection, bindparam, select, update

from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, OutboxMessage, Packet
from hub.errors import BrokerUnavailableError, StorageError
from hub.transport.broker import ConfirmingPublisher
from hub.transport.messages import DeliveryMessage, OutgoingMessage, PublishResult, Round
from hub.transport.topology import WORK_ROUTING_KEY, Topology
from hub.transport.wakeup import OutboxWakeup, PollingWakeup

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["Relay", "RelayRound"]

_log = structlog.get_logger(__name__)

_LONGEST_ERROR_PAUSE = 30.0
_REOPEN_AFTER = frozenset({PublishResult.UNROUTABLE, PublishResult.REFUSED})
"""Results after which the relay's next round opens a new connection and channel."""


@dataclass(frozen=True)
class RelayRound:
    """What one round did."""

    taken: int
    """Rows read (and, on PostgreSQL, locked)."""
    published: int
    """Rows published, confirmed and marked."""
    skipped: int
    """Rows marked without publishing: their delivery was already under way."""
    unconfirmed: int
    """Rows left unpublished for a later round (no confirm, refused or unroutable)."""


@dataclass(frozen=True)
class _Row:
    outbox_id: int
    message: OutgoingMessage | None


_MARK_PUBLISHED = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("at"))
)


class Relay:
    """Moves outbox rows to the broker, one round at a time."""

    def __init__(
        self,
        database: Database,
        publisher: ConfirmingPublisher,
        topology: Topology,
        *,
        batch_size: int = 200,
        idle_seconds: float = 0.5,
        wakeup: OutboxWakeup | None = None,
        chores: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._database = database
        self._chores = tuple(chores)
        self._publisher = publisher
        self._topology = topology
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wakeup = wakeup or PollingWakeup()
        self._locks_rows = database.engine.dialect.name != "sqlite"
        # Built once (plain columns, no ORM objects): the relay runs this every round.
        query = (
            select(
                OutboxMessage.id.label("outbox_id"),
                OutboxMessage.created_at,
                Delivery.id.label("delivery_id"),
                Delivery.packet_id,
                Delivery.recipient_code,
                Delivery.channel,
                Delivery.state,
                Delivery.attempts,
                Packet.sha256,
            )
            .join(Delivery, Delivery.id == OutboxMessage.delivery_id)
            .join(Packet, Packet.id == Delivery.packet_id)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(batch_size)
        )
        if self._locks_rows:
            query = query.with_for_update(of=OutboxMessage, skip_locked=True)
        self._next_rows = query

    def run_once(self) -> RelayRound:
        """Publish one batch.

        Raises:
            BrokerUnavailableError: the broker stayed unreachable for the reconnect timeout.
            StorageError: the database failed (nothing is marked).
        """
        if self._locks_rows:
            with self._database.begin() as connection:
                rows = self._take(connection)
                results = self._publish(rows)
                return self._mark(connection, rows, results)
        with self._database.begin() as connection:
            rows = self._take(connection)
        results = self._publish(rows)
        with self._database.begin() as connection:
            return self._mark(connection, rows, results)

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set; database failures are retried with growing pauses.

        Raises:
            BrokerUnavailableError: the broker stayed unreachable for the reconnect timeout.
        """
        failures = 0
        ready = False
        try:
            while not stop.is_set():
                for chore in self._chores:
                    chore()
                if not self._publisher.is_open:
                    # Connected ahead of the rows, so a lost node is replaced while idle.
                    try:
                        self._publisher.open()
                    except BrokerUnavailableError:
                        if stop.is_set():
                            break
                        raise
                    continue
                try:
                    outcome = self.run_once()
                except StorageError as exc:
                    failures += 1
                    pause = min(self._idle_seconds * 2**failures, _LONGEST_ERROR_PAUSE)
                    _log.error("relay.database_failed", error=str(exc), pause=pause)
                    stop.wait(pause)
                    continue
                failures = 0
                if not ready:
                    ready = True
                    _log.info("relay.ready")
                if outcome.published or outcome.unconfirmed:
                    _log.debug(
                        "relay.round",
                        published=outcome.published,
                        skipped=outcome.skipped,
                        unconfirmed=outcome.unconfirmed,
                    )
                if outcome.unconfirmed:
                    stop.wait(self._idle_seconds)
                elif outcome.taken < self._batch_size:
                    self._wakeup.wait(self._idle_seconds, stop)
        finally:
            self.close()

    def check_connected(self) -> None:
        """A readiness check: the publishing connection is up.

        Raises:
            BrokerUnavailableError: it is not (connecting, or lost since the last round).
        """
        if not self._publisher.is_open:
            raise BrokerUnavailableError("the relay's broker connection is not open")

    def close(self) -> None:
        """Release the broker connection and the wake-up's."""
        self._wakeup.close()
        self._publisher.close()

    def _take(self, connection: Connection) -> list[_Row]:
        rows = []
        for found in connection.execute(self._next_rows):
            message = None
            if found.state is DeliveryState.QUEUED:
                message = self._message(found)
            rows.append(_Row(found.outbox_id, message))
        return rows

    def _message(self, found: Any) -> OutgoingMessage:
        body = DeliveryMessage(
            delivery_id=found.delivery_id,
            packet_id=found.packet_id,
            recipient=found.recipient_code,
            channel=found.channel.value,
            blob=found.sha256,
        )
        attempt = found.attempts + 1
        return OutgoingMessage(
            exchange=self._topology.work_exchange.name,
            routing_key=WORK_ROUTING_KEY,
            body=body.encode(),
            message_id=found.delivery_id,
            headers=Round(attempt, attempt, found.created_at).headers(),
            type="delivery",
        )

    def _publish(self, rows: Sequence[_Row]) -> list[PublishResult | None]:
        sending = [row.message for row in rows if row.message is not None]
        results = iter(self._publisher.publish(sending))
        return [None if row.message is None else next(results) for row in rows]

    def _mark(
        self,
        connection: Connection,
        rows: Sequence[_Row],
        results: Sequence[PublishResult | None],
    ) -> RelayRound:
        done: list[int] = []
        published = skipped = 0
        for row, result in zip(rows, results, strict=True):
            if result is None:
                skipped += 1
                done.append(row.outbox_id)
            elif result is PublishResult.CONFIRMED:
                published += 1
                done.append(row.outbox_id)
            elif result is not PublishResult.UNCONFIRMED:
                _log.error("relay.not_accepted", outbox_id=row.outbox_id, result=result.value)
        if any(result in _REOPEN_AFTER for result in results):
            # A queue without its binding, or a channel a quorum queue keeps refusing: seen
            # on RabbitMQ 3.10 when the first publish of a new channel met a leader election
            # (every later publish on that channel was nacked). A new channel recovers.
            _log.warning("relay.reopening", reason="nack or return from the broker")
            self._publisher.close()
        if done:
            connection.execute(_MARK_PUBLISHED, {"ids": done, "at": utcnow()})
        unconfirmed = len(rows) - len(done)
        if unconfirmed:
            _log.warning("relay.unconfirmed", rows=unconfirmed, published=published)
        return RelayRound(
            taken=len(rows), published=published, skipped=skipped, unconfirmed=unconfirmed
        )
