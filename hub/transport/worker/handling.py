"""The handling of one message by one consumer: read it, load its delivery, attempt it,
settle it, publish what follows, record it, acknowledge it (see the package's docstring)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from hub.channels.base import DeliveryJob, HandlerRegistry
from hub.db.base import utcnow
from hub.errors import MalformedMessageError, StorageError
from hub.transport.broker import DeliveryBroker
from hub.transport.messages import (
    ERROR_CODE_HEADER,
    ERROR_HEADER,
    STATE_HEADER,
    DeliveryMessage,
    IncomingMessage,
    OutgoingMessage,
    Round,
)
from hub.transport.retries import RetryPolicy
from hub.transport.topology import Topology
from hub.transport.worker.attempts import Attempts
from hub.transport.worker.deferral import defer
from hub.transport.worker.outcome import PEER_BUSY, Result, Settlement, Skip
from hub.transport.worker.poison import poisoned
from hub.transport.worker.records import WriteNeeded, load_job, read_job, record_attempt
from hub.transport.worker.settlement import HEADER_ERROR_CHARS, settle

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["Handling"]

_log = structlog.get_logger("hub.transport.worker")

_T = TypeVar("_T")
_U = TypeVar("_U")
_PUMP_SECONDS = 0.5
_DATABASE_PATIENCE = 60.0
"""How long one database step is retried (the message held) before the message is released."""


class Handling:
    """What a consumer needs to handle its messages, one at a time."""

    def __init__(
        self,
        *,
        label: str,
        database: Database,
        topology: Topology,
        policy: RetryPolicy,
        broker: DeliveryBroker,
        handlers: HandlerRegistry,
        attempts: Attempts,
        busy_peer_wait: float,
        stopping: Callable[[], bool],
    ) -> None:
        self._label = label
        self._database = database
        self._topology = topology
        self._policy = policy
        self._broker = broker
        self._handlers = handlers
        self._attempts = attempts
        self._busy_peer_wait = busy_peer_wait
        self._stopping = stopping
        self._rng = random.Random()  # noqa: S311 - retry jitter, not a secret

    def handle(self, message: IncomingMessage) -> None:
        """Take ``message`` to its end: acknowledged, with whatever follows it published."""
        try:
            order = DeliveryMessage.decode(message.body)
            round_ = Round.of(message.headers)
        except MalformedMessageError as exc:
            self._park_message(message, exc.message, "malformed", exc.code)
            return
        # One read outside a transaction for most; a transaction for one to retarget first.
        read = self._with_database(
            self._database.autocommit, lambda connection: read_job(connection, order, round_)
        )
        prepared = (
            self._with_database(
                self._database.transaction, lambda session: load_job(session, order, round_)
            )
            if isinstance(read, WriteNeeded)
            else read
        )
        if isinstance(prepared, Skip):
            if prepared.park:
                self._park_message(message, prepared.reason, "unknown", "delivery.unknown")
                return
            _log.info(
                "delivery.duplicate_dropped",
                delivery_id=order.delivery_id,
                attempt=round_.attempt,
                reason=prepared.reason,
            )
            self._broker.ack(message)
            return
        job = prepared.job
        result = poisoned(message, utcnow())
        if result is None:
            result = self._attempts.attempt(self._handlers.get(job.channel), job)
            if result.outcome == PEER_BUSY:
                self._defer(job, round_, message)
                return
        settlement = settle(
            job,
            round_,
            result,
            policy=self._policy,
            topology=self._topology,
            now=utcnow(),
            rng=self._rng,
        )
        if settlement.message is not None:
            self._broker.publish(settlement.message)
        committed = self._with_database(
            self._database.autocommit,  # one statement on PostgreSQL, a transaction elsewhere
            lambda connection: record_attempt(connection, job, result, settlement, self._label),
        )
        self._broker.ack(message)
        _log_attempt(job, result, settlement, committed)

    def _defer(self, job: DeliveryJob, round_: Round, message: IncomingMessage) -> None:
        deferral = defer(
            job, round_, message, base_wait=self._busy_peer_wait, topology=self._topology
        )
        self._broker.publish(deferral.message)
        self._broker.ack(message)
        _log.info(
            "delivery.deferred",
            delivery_id=job.delivery_id,
            packet_id=job.packet_id,
            recipient=job.recipient,
            attempt=job.attempt,
            reason="peer-busy",
            wait=deferral.wait,
            deferrals=deferral.in_a_row,
        )

    def _with_database(
        self, unit: Callable[[], AbstractContextManager[_U]], step: Callable[[_U], _T]
    ) -> _T:
        """Run ``step`` in a unit of work of the database (a session, a connection), holding
        the message while the database is down.

        Raises:
            StorageError: the database stayed down for :data:`_DATABASE_PATIENCE` seconds.
        """
        deadline = time.monotonic() + _DATABASE_PATIENCE
        pause = 0.2
        while True:
            try:
                with unit() as opened:
                    return step(opened)
            except StorageError as exc:
                if self._stopping() or time.monotonic() > deadline:
                    raise
                _log.warning("delivery.database_failed", error=str(exc), pause=pause)
                self._hold(pause)
                pause = min(pause * 2, 5.0)

    def _hold(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self._broker.pump(min(left, _PUMP_SECONDS))

    def _park_message(self, message: IncomingMessage, reason: str, state: str, code: str) -> None:
        _log.error("delivery.message_parked", reason=reason, message_id=message.message_id)
        self._broker.publish(
            OutgoingMessage(
                exchange=self._topology.parking_exchange.name,
                routing_key="",
                body=message.body,
                message_id=message.message_id,
                headers={
                    **{key: value for key, value in message.headers.items() if key != "x-death"},
                    STATE_HEADER: state,
                    ERROR_HEADER: reason[:HEADER_ERROR_CHARS],
                    ERROR_CODE_HEADER: code,
                },
                type="delivery",
            )
        )
        self._broker.ack(message)


def _log_attempt(job: DeliveryJob, result: Result, settlement: Settlement, committed: bool) -> None:
    """One line per attempt, with the ids that join a packet's whole story."""
    fields: dict[str, Any] = {
        "packet_id": job.packet_id,
        "delivery_id": job.delivery_id,
        "recipient": job.recipient,
        "channel": job.channel.value,
        "attempt": job.attempt,
        "outcome": result.outcome,
        "state": settlement.state.value,
        "duration_ms": round(result.duration * 1000, 1),
    }
    if result.error is not None:
        fields["error"] = result.error.message
        fields["error_code"] = result.error.code
    if result.http_status is not None:
        fields["http_status"] = result.http_status
    if result.peer_code is not None:
        fields["peer_code"] = result.peer_code
    if settlement.wait is not None:
        fields["retry_in"] = round(settlement.wait, 2)
    if not committed:
        fields["superseded"] = True
    _log.info("delivery.attempt", **fields)
