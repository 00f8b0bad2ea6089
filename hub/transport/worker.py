"""Delivery workers: take delivery messages, attempt them through their channel, record it all.

For each message of the work queue:

1. read it (a message that breaks the contract, or names an unknown delivery, goes to the
   parking queue with the reason);
2. load the delivery; when it is no longer ``queued``/``retrying``, or has not had exactly one
   attempt fewer than the message is for, the message is a duplicate or stale: acknowledged
   and dropped. This is what makes redeliveries harmless: a delivered delivery is never
   delivered again because its message came twice;
3. attempt it: unless the peer's circuit breaker is open, the channel handler runs (on the
   consumer's helper thread, so the broker connection keeps its heartbeats meanwhile);
4. decide: success → ``delivered`` (push channels) or ``available`` (inbox); a failure goes
   through the retry policy (:mod:`hub.transport.retries`) → ``retrying`` with the message
   sent to the retry tier that holds it for the wait, or ``parked``/``expired`` with the
   message sent to the parking queue with its error;
5. publish that message (confirmed), then commit the delivery's new state and the attempt row
   in one transaction (guarded: only if the delivery is still where step 2 found it), then
   acknowledge. A crash anywhere before the acknowledgement redelivers the message; step 2
   then drops it if the commit happened, or the attempt is made again if it did not.

A breaker-open skip is an attempt of the round like any other (outcome ``breaker-open``): a
delivery gets the same number of turns whatever its peer does, and is parked with the
breaker's error when they run out. A message handed out
:data:`~hub.transport.topology.POISON_REDELIVERIES` times (its attempts keep killing
workers) is parked without another try.

Concurrency: ``worker_threads`` consumers, each with its own broker connection, prefetch and
helper thread, so one slow or dead peer holds at most the consumers attempting it, for at
most the channel's timeouts, until its breaker opens.
"""

from __future__ import annotations

import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from adapters.blobstore import BlobNotFoundError, BlobStore, BlobStoreError
from hub.channels.base import ChannelHandler, DeliveryJob, HandlerRegistry, HandOver
from hub.db.base import utcnow
from hub.db.models import Agency, Delivery, DeliveryAttempt, DeliveryState, Packet
from hub.errors import (
    BrokerError,
    BrokerUnavailableError,
    CircuitOpenError,
    DeliveryError,
    HubError,
    MalformedMessageError,
    PermanentDeliveryError,
    StorageError,
    TransientDeliveryError,
)
from hub.transport.breaker import Admission, CircuitBreaker
from hub.transport.broker import DeliveryBroker
from hub.transport.messages import (
    DEFERRALS_HEADER,
    ERROR_CODE_HEADER,
    ERROR_HEADER,
    STATE_HEADER,
    DeliveryMessage,
    IncomingMessage,
    OutgoingMessage,
    Round,
)
from hub.transport.retries import RetryPolicy, Verdict
from hub.transport.topology import POISON_REDELIVERIES, Topology

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["Worker", "WorkerOptions"]

_log = structlog.get_logger(__name__)

_T = TypeVar("_T")
_ACTIVE = (DeliveryState.QUEUED, DeliveryState.RETRYING)
_HEADER_ERROR_CHARS = 1000
_PUMP_SECONDS = 0.5
"""While an attempt runs, broker I/O (heartbeats) is processed at least this often."""
_IDLE_SECONDS = 0.2
_DATABASE_PATIENCE = 60.0
"""How long one database step is retried (the message held) before the message is released."""
_CLOSE_SECONDS = 10.0
_DATABASE_PAUSE = 5.0
"""Pause of a consumer that released its messages because the database is down."""


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker process runs."""

    threads: int = 4
    prefetch: int = 1
    attempt_timeout: float = 300.0
    busy_peer_wait: float = 1.0
    """Seconds a delivery waits when its peer has no free slot (not an attempt)."""


@dataclass(frozen=True)
class _Skip:
    reason: str
    park: bool = False


@dataclass(frozen=True)
class _Plan:
    job: DeliveryJob


@dataclass(frozen=True)
class _Answer:
    """What an attempt on the helper thread brings back."""

    handover: HandOver | None = None
    error: DeliveryError | None = None
    peer_failed: bool | None = None
    """True: the peer failed; False: it answered (even a refusal); None: not reached."""


@dataclass(frozen=True)
class _Result:
    started_at: datetime
    duration: float
    handover: HandOver | None = None
    error: DeliveryError | None = None
    outcome: str = ""

    @property
    def http_status(self) -> int | None:
        """The HTTP status the peer answered, if it answered over HTTP."""
        if self.handover is not None:
            return self.handover.http_status
        return self.error.http_status if self.error is not None else None


@dataclass(frozen=True)
class _Settlement:
    state: DeliveryState
    outcome: str
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    message: OutgoingMessage | None = None
    wait: float | None = None


@dataclass
class Worker:
    """A worker process: ``options.threads`` consumers of the work queue."""

    database: Database
    blobs: BlobStore
    topology: Topology
    policy: RetryPolicy
    breaker: CircuitBreaker
    connect: Callable[[threading.Event, str], DeliveryBroker]
    """Makes the broker connection of one consumer (given the stop event and its name)."""
    handlers: Callable[[], HandlerRegistry]
    """Makes the channel handlers of one consumer."""
    options: WorkerOptions = field(default_factory=WorkerOptions)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then finish the attempts in flight and return.

        Raises:
            BrokerUnavailableError: a consumer lost the broker for longer than the reconnect
                timeout (the others are stopped first).
        """
        base = f"{socket.gethostname()}:{os.getpid()}"
        consumers = [
            _Consumer(self, stop, f"{base}:{index}"[:64]) for index in range(self.options.threads)
        ]
        missing = self.handlers().missing
        if missing:
            _log.warning(
                "worker.channels_without_adapter", channels=[channel.value for channel in missing]
            )
        for consumer in consumers:
            consumer.start()
        _log.info("worker.started", threads=len(consumers), queue=self.topology.work_queue.name)
        while not stop.wait(_IDLE_SECONDS):
            if any(not consumer.is_alive() for consumer in consumers):
                stop.set()
        for consumer in consumers:
            consumer.join()
        _log.info("worker.stopped")
        for consumer in consumers:
            if consumer.failure is not None:
                raise consumer.failure


class _Runner:
    """One helper thread that runs attempts for one consumer, in order."""

    def __init__(self, name: str) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, task: Callable[[], _T]) -> Future[_T]:
        future: Future[_T] = Future()
        self._tasks.put((task, future))
        return future

    def _loop(self) -> None:
        while (item := self._tasks.get()) is not None:
            task, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(task())
            except BaseException as exc:
                future.set_exception(exc)

    def stop(self) -> None:
        self._tasks.put(None)


class _Consumer(threading.Thread):
    """One consumer: its broker connection, its handlers, its helper thread."""

    def __init__(self, worker: Worker, stop: threading.Event, label: str) -> None:
        super().__init__(name=f"consumer-{label}", daemon=True)
        self.worker = worker
        self.stopping = stop
        self.label = label
        self.rng = random.Random()  # noqa: S311 - retry jitter, not a secret
        self.runner = _Runner(f"attempt-{label}")
        self.failure: BaseException | None = None

    def replace_runner(self) -> None:
        """Abandon a helper thread stuck in an attempt; later attempts get a new one."""
        self.runner.stop()
        self.runner = _Runner(f"attempt-{self.label}")

    def run(self) -> None:
        broker = self.worker.connect(self.stopping, self.label)
        handlers = self.worker.handlers()
        try:
            self._consume(broker, handlers)
        except Exception as exc:
            if not self.stopping.is_set():
                self.failure = exc
                _log.error("worker.consumer_failed", consumer=self.label, error=str(exc))
        finally:
            try:
                self.runner.submit(handlers.close).exception(timeout=_CLOSE_SECONDS)
            except TimeoutError:
                _log.warning("worker.handlers_not_closed", consumer=self.label)
            self.runner.stop()
            broker.close()

    def _consume(self, broker: DeliveryBroker, handlers: HandlerRegistry) -> None:
        options = self.worker.options
        work_queue = self.worker.topology.work_queue.name
        broker.open()
        while not self.stopping.is_set():
            try:
                with closing(
                    broker.consume(work_queue, prefetch=options.prefetch, idle=_IDLE_SECONDS)
                ) as messages:
                    for message in messages:
                        if self.stopping.is_set():
                            break
                        if message is not None:
                            _Delivery(self, broker, handlers, message).handle()
            except BrokerError as exc:
                if self.stopping.is_set():
                    break
                _log.warning("worker.broker_failed", consumer=self.label, error=str(exc))
                broker.close()
                broker.open()
            except StorageError as exc:
                _log.error("worker.database_down", consumer=self.label, error=str(exc))
                broker.close()
                self.stopping.wait(_DATABASE_PAUSE)
                if not self.stopping.is_set():
                    broker.open()


_MAX_DEFERRAL_DOUBLINGS = 6


def _deferrals(headers: Mapping[str, Any]) -> int:
    """The deferrals in a row a message carries (0 when absent or unreadable)."""
    try:
        return max(0, int(headers.get(DEFERRALS_HEADER, 0)))
    except (TypeError, ValueError):
        return 0


_PEER_BUSY = "peer-busy"
"""The outcome of an attempt not made because its peer had no free slot (see _defer)."""
_DELIVERIES = Delivery.metadata.tables[Delivery.__tablename__]
_UPDATE_DELIVERY = update(_DELIVERIES)
_INSERT_ATTEMPT = insert(DeliveryAttempt.metadata.tables[DeliveryAttempt.__tablename__])
"""Plain statements for the two writes every delivery makes (no ORM bookkeeping)."""


class _Delivery:
    """The handling of one message by one consumer."""

    def __init__(
        self,
        consumer: _Consumer,
        broker: DeliveryBroker,
        handlers: HandlerRegistry,
        message: IncomingMessage,
    ) -> None:
        self._consumer = consumer
        self._worker = consumer.worker
        self._broker = broker
        self._handlers = handlers
        self._message = message

    def handle(self) -> None:
        message = self._message
        try:
            order = DeliveryMessage.decode(message.body)
            round_ = Round.of(message.headers)
        except MalformedMessageError as exc:
            self._park_message(exc.message, "malformed", exc.code)
            return
        prepared = self._with_database(lambda session: self._prepare(session, order, round_))
        if isinstance(prepared, _Skip):
            if prepared.park:
                self._park_message(prepared.reason, "unknown", "delivery.unknown")
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
        if message.delivery_count >= POISON_REDELIVERIES:
            result = _Result(
                started_at=utcnow(),
                duration=0.0,
                error=PermanentDeliveryError(
                    f"the message was handed out {message.delivery_count} times without an "
                    "outcome (each attempt stopped its worker); parked without another try",
                    code="delivery.interrupted",
                ),
                outcome="interrupted",
            )
        else:
            result = self._attempt(job)
            if result.outcome == _PEER_BUSY:
                self._defer(job, round_)
                return
        settlement = self._settle(job, round_, result)
        if settlement.message is not None:
            self._broker.publish(settlement.message)
        committed = self._with_database(
            lambda session: self._record(session, job, result, settlement)
        )
        self._broker.ack(message)
        self._log(job, result, settlement, committed)

    def _prepare(self, session: Session, order: DeliveryMessage, round_: Round) -> _Plan | _Skip:
        found = session.execute(
            select(
                Delivery.packet_id,
                Delivery.recipient_code,
                Delivery.channel,
                Delivery.state,
                Delivery.attempts,
                Packet.sha256,
                Packet.kind,
                Agency.channel_settings,
            )
            .join(Packet, Packet.id == Delivery.packet_id)
            .outerjoin(Agency, Agency.code == Delivery.recipient_code)
            .where(Delivery.id == order.delivery_id)
        ).first()
        if found is None:
            return _Skip(f"delivery {order.delivery_id} is unknown to this database", park=True)
        packet_id, recipient, channel, state, attempts, sha256, kind, channel_settings = found
        if state not in _ACTIVE:
            return _Skip(f"delivery is {state.value}")
        if attempts != round_.attempt - 1:
            return _Skip(f"message is for attempt {round_.attempt}, {attempts} made")
        return _Plan(
            DeliveryJob(
                delivery_id=order.delivery_id,
                packet_id=packet_id,
                recipient=recipient,
                channel=channel,
                blob=sha256,
                kind=kind,
                attempt=round_.attempt,
                settings=dict(channel_settings or {}),
            )
        )

    def _attempt(self, job: DeliveryJob) -> _Result:
        handler = self._handlers.get(job.channel)
        peer = handler.peer(job)
        started_at = utcnow()
        breaker = self._worker.breaker
        admission = Admission.GO if peer is None else breaker.acquire(peer, slot=job.recipient)
        if admission is Admission.BUSY:
            return _Result(started_at=started_at, duration=0.0, outcome=_PEER_BUSY)
        if admission is Admission.OPEN and peer is not None:
            return _Result(
                started_at=started_at,
                duration=0.0,
                error=CircuitOpenError(
                    f"not attempted: {peer} failed repeatedly and its circuit is open "
                    f"(next probe in {breaker.retry_in(peer):.0f} s)"
                ),
                outcome="breaker-open",
            )
        clock = time.monotonic()
        answer = self._wait(
            self._consumer.runner.submit(lambda: self._call_holding(handler, job, peer)), job
        )
        duration = time.monotonic() - clock
        if peer is not None and answer.peer_failed is not None:
            if answer.peer_failed:
                breaker.failed(peer, slot=job.recipient)
            else:
                breaker.succeeded(peer, slot=job.recipient)
        if answer.handover is not None:
            outcome = answer.handover.state.value
        elif isinstance(answer.error, PermanentDeliveryError):
            outcome = "permanent"
        else:
            outcome = "transient"
        return _Result(started_at, duration, answer.handover, answer.error, outcome)

    def _call_holding(self, handler: ChannelHandler, job: DeliveryJob, peer: str | None) -> _Answer:
        """Run on the helper thread; the recipient's slot is given back when the call ends,
        even after :meth:`_wait` gave up on it (a hung call keeps its slot while it hangs)."""
        try:
            return self._call(handler, job)
        finally:
            if peer is not None:
                self._worker.breaker.release(peer, slot=job.recipient, failed=None)

    def _call(self, handler: ChannelHandler, job: DeliveryJob) -> _Answer:
        """Run on the helper thread."""
        try:
            payload = self._worker.blobs.read(job.blob) if handler.needs_payload else b""
        except BlobNotFoundError:
            return _Answer(
                error=PermanentDeliveryError(
                    f"the packet bytes ({job.blob}) are missing from the payload store",
                    code="delivery.payload_missing",
                )
            )
        except BlobStoreError as exc:
            return _Answer(
                error=TransientDeliveryError(
                    f"the payload store failed: {exc}", code="delivery.payload_store"
                )
            )
        try:
            return _Answer(handover=handler.deliver(job, payload), peer_failed=False)
        except PermanentDeliveryError as exc:
            return _Answer(error=exc, peer_failed=False)
        except TransientDeliveryError as exc:
            return _Answer(error=exc, peer_failed=True)
        except HubError as exc:
            return _Answer(error=TransientDeliveryError(exc.message, code=exc.code))
        except Exception as exc:
            _log.exception("delivery.handler_crashed", delivery_id=job.delivery_id)
            return _Answer(
                error=TransientDeliveryError(
                    f"internal error in the {job.channel.value} handler: {exc!r}",
                    code="delivery.internal",
                )
            )

    def _wait(self, future: Future[_Answer], job: DeliveryJob) -> _Answer:
        deadline = time.monotonic() + self._worker.options.attempt_timeout
        connected = True
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                return future.result(timeout=min(remaining, _PUMP_SECONDS))
            except TimeoutError:
                pass
            if connected:
                try:
                    self._broker.pump(0)
                except BrokerUnavailableError:
                    connected = False
        self._consumer.replace_runner()
        return _Answer(
            error=TransientDeliveryError(
                f"the {job.channel.value} attempt took longer than "
                f"{self._worker.options.attempt_timeout:g} s and was abandoned",
                code="delivery.attempt_timeout",
            ),
            peer_failed=True,
        )

    def _defer(self, job: DeliveryJob, round_: Round) -> None:
        """Put the delivery back for a moment without attempting it: its recipient already
        has as many attempts under way as it may. Not an attempt: nothing is recorded.

        The wait doubles with each deferral in a row (up to 2^6 times the base), so the
        deliveries of a recipient that hangs for minutes do not come back every second."""
        deferrals = _deferrals(self._message.headers)
        wait = self._worker.options.busy_peer_wait * 2 ** min(deferrals, _MAX_DEFERRAL_DOUBLINGS)
        topology = self._worker.topology
        self._broker.publish(
            OutgoingMessage(
                exchange=topology.retry_exchange.name,
                routing_key=topology.tier_for(wait).routing_key,
                body=self._message.body,
                message_id=job.delivery_id,
                headers={**round_.headers(), DEFERRALS_HEADER: deferrals + 1},
                type="delivery",
                expiration_ms=max(0, round(wait * 1000)),
            )
        )
        self._broker.ack(self._message)
        _log.info(
            "delivery.deferred",
            delivery_id=job.delivery_id,
            packet_id=job.packet_id,
            recipient=job.recipient,
            attempt=job.attempt,
            reason="peer-busy",
            wait=wait,
            deferrals=deferrals + 1,
        )

    def _settle(self, job: DeliveryJob, round_: Round, result: _Result) -> _Settlement:
        now = utcnow()
        if result.handover is not None:
            state = result.handover.state
            return _Settlement(
                state=state,
                outcome=result.outcome,
                delivered_at=now if state is DeliveryState.DELIVERED else None,
            )
        error = result.error
        assert error is not None
        decision = self._worker.policy.decide(
            error,
            round_attempt=round_.number,
            queued_at=round_.queued_at,
            now=now,
            rng=self._consumer.rng,
        )
        topology = self._worker.topology
        body = DeliveryMessage(
            delivery_id=job.delivery_id,
            packet_id=job.packet_id,
            recipient=job.recipient,
            channel=job.channel.value,
            blob=job.blob,
        ).encode()
        if decision.verdict is Verdict.RETRY:
            assert decision.wait is not None
            tier = topology.tier_for(decision.wait)
            return _Settlement(
                state=DeliveryState.RETRYING,
                outcome=result.outcome,
                last_error=error.message,
                next_attempt_at=now + timedelta(seconds=decision.wait),
                wait=decision.wait,
                message=OutgoingMessage(
                    exchange=topology.retry_exchange.name,
                    routing_key=tier.routing_key,
                    body=body,
                    message_id=job.delivery_id,
                    headers=round_.next().headers(),
                    type="delivery",
                    expiration_ms=max(0, round(decision.wait * 1000)),
                ),
            )
        state = (
            DeliveryState.EXPIRED if decision.verdict is Verdict.EXPIRE else DeliveryState.PARKED
        )
        last_error = error.message
        if not isinstance(error, PermanentDeliveryError):
            last_error = f"{decision.reason}; last error: {error.message}"
        return _Settlement(
            state=state,
            outcome=result.outcome,
            last_error=last_error,
            message=OutgoingMessage(
                exchange=topology.parking_exchange.name,
                routing_key="",
                body=body,
                message_id=job.delivery_id,
                headers={
                    **round_.headers(),
                    STATE_HEADER: state.value,
                    ERROR_HEADER: last_error[:_HEADER_ERROR_CHARS],
                    ERROR_CODE_HEADER: error.code,
                },
                type="delivery",
            ),
        )

    def _record(
        self, session: Session, job: DeliveryJob, result: _Result, settlement: _Settlement
    ) -> bool:
        now = utcnow()
        values: dict[str, Any] = {
            "state": settlement.state,
            "attempts": job.attempt,
            "last_error": settlement.last_error,
            "next_attempt_at": settlement.next_attempt_at,
            "updated_at": now,
        }
        if settlement.delivered_at is not None:
            values["delivered_at"] = settlement.delivered_at
        connection = session.connection()
        changed = connection.execute(
            _UPDATE_DELIVERY.where(
                _DELIVERIES.c.id == job.delivery_id,
                _DELIVERIES.c.attempts == job.attempt - 1,
                _DELIVERIES.c.state.in_(_ACTIVE),
            ).values(**values)
        )
        if changed.rowcount != 1:
            return False
        error = result.error
        connection.execute(
            _INSERT_ATTEMPT,
            {
                "delivery_id": job.delivery_id,
                "number": job.attempt,
                "started_at": result.started_at,
                "finished_at": now,
                "outcome": result.outcome,
                "error": None if error is None else f"[{error.code}] {error.message}",
                "http_status": result.http_status,
                "worker": self._consumer.label,
            },
        )
        return True

    def _with_database(self, step: Callable[[Session], _T]) -> _T:
        """Run ``step`` in a transaction, holding the message while the database is down.

        Raises:
            StorageError: the database stayed down for :data:`_DATABASE_PATIENCE` seconds.
        """
        deadline = time.monotonic() + _DATABASE_PATIENCE
        pause = 0.2
        while True:
            try:
                with self._worker.database.transaction() as session:
                    return step(session)
            except StorageError as exc:
                if self._consumer.stopping.is_set() or time.monotonic() > deadline:
                    raise
                _log.warning("delivery.database_failed", error=str(exc), pause=pause)
                self._hold(pause)
                pause = min(pause * 2, 5.0)

    def _hold(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self._broker.pump(min(left, _PUMP_SECONDS))

    def _park_message(self, reason: str, state: str, code: str) -> None:
        message = self._message
        _log.error("delivery.message_parked", reason=reason, message_id=message.message_id)
        self._broker.publish(
            OutgoingMessage(
                exchange=self._worker.topology.parking_exchange.name,
                routing_key="",
                body=message.body,
                message_id=message.message_id,
                headers={
                    **{key: value for key, value in message.headers.items() if key != "x-death"},
                    STATE_HEADER: state,
                    ERROR_HEADER: reason[:_HEADER_ERROR_CHARS],
                    ERROR_CODE_HEADER: code,
                },
                type="delivery",
            )
        )
        self._broker.ack(message)

    def _log(
        self, job: DeliveryJob, result: _Result, settlement: _Settlement, committed: bool
    ) -> None:
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
        if settlement.wait is not None:
            fields["retry_in"] = round(settlement.wait, 2)
        if not committed:
            fields["superseded"] = True
        _log.info("delivery.attempt", **fields)
