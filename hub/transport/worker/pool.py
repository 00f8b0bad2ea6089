"""A worker process: ``threads`` consumers of the work queue, each with its own broker
connection, channel handlers and helper thread; it stops them together."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from hub.channels.base import HandlerRegistry
from hub.errors import BrokerError, BrokerUnavailableError, StorageError
from hub.payloads import BlobStore
from hub.transport.breaker import CircuitBreaker
from hub.transport.broker import DeliveryBroker
from hub.transport.retries import RetryPolicy
from hub.transport.topology import Topology
from hub.transport.worker.attempts import Attempts, HelperThread
from hub.transport.worker.handling import Handling

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["Worker", "WorkerOptions"]

_log = structlog.get_logger("hub.transport.worker")

_IDLE_SECONDS = 0.2
_READY_POLL_SECONDS = 0.02
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
    _consumers: list[_Consumer] = field(default_factory=list, init=False, repr=False)

    def check_consuming(self) -> None:
        """A readiness check: every consumer is connected to the broker and consuming.

        Raises:
            BrokerUnavailableError: a consumer is not (connecting, or the worker not started).
        """
        consumers = list(self._consumers)
        idle = [consumer.label for consumer in consumers if not consumer.consuming]
        if not consumers or idle:
            waiting = len(idle) if consumers else self.options.threads
            raise BrokerUnavailableError(
                f"{waiting} of {self.options.threads} consumers are not consuming "
                f"{self.topology.work_queue.name}"
            )

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
        self._consumers[:] = consumers
        missing = self.handlers().missing
        if missing:
            _log.warning(
                "worker.channels_without_adapter", channels=[channel.value for channel in missing]
            )
        for consumer in consumers:
            consumer.start()
        _log.info("worker.started", threads=len(consumers), queue=self.topology.work_queue.name)
        ready = False
        while not stop.wait(_IDLE_SECONDS if ready else _READY_POLL_SECONDS):
            if any(not consumer.is_alive() for consumer in consumers):
                stop.set()
            if not ready and all(consumer.consuming for consumer in consumers):
                ready = True
                _log.info("worker.ready", threads=len(consumers))
        for consumer in consumers:
            consumer.join()
        _log.info("worker.stopped")
        for consumer in consumers:
            if consumer.failure is not None:
                raise consumer.failure


class _Consumer(threading.Thread):
    """One consumer: its broker connection, its handlers, its helper thread."""

    def __init__(self, worker: Worker, stop: threading.Event, label: str) -> None:
        super().__init__(name=f"consumer-{label}", daemon=True)
        self.worker = worker
        self.stopping = stop
        self.label = label
        self.helper = HelperThread(f"attempt-{label}")
        self.failure: BaseException | None = None
        self.consuming = False
        """Whether this consumer's broker connection is up and consuming (its readiness)."""

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
            self.consuming = False
            try:
                self.helper.submit(handlers.close).exception(timeout=_CLOSE_SECONDS)
            except TimeoutError:
                _log.warning("worker.handlers_not_closed", consumer=self.label)
            self.helper.stop()
            broker.close()

    def _handling(self, broker: DeliveryBroker, handlers: HandlerRegistry) -> Handling:
        worker = self.worker
        return Handling(
            label=self.label,
            database=worker.database,
            topology=worker.topology,
            policy=worker.policy,
            broker=broker,
            handlers=handlers,
            attempts=Attempts(
                breaker=worker.breaker,
                blobs=worker.blobs,
                helper=self.helper,
                pump=broker.pump,
                timeout=worker.options.attempt_timeout,
            ),
            busy_peer_wait=worker.options.busy_peer_wait,
            stopping=self.stopping.is_set,
        )

    def _consume(self, broker: DeliveryBroker, handlers: HandlerRegistry) -> None:
        options = self.worker.options
        work_queue = self.worker.topology.work_queue.name
        handling = self._handling(broker, handlers)
        broker.open()
        while not self.stopping.is_set():
            try:
                with closing(
                    broker.consume(work_queue, prefetch=options.prefetch, idle=_IDLE_SECONDS)
                ) as messages:
                    for message in messages:
                        self.consuming = True
                        if self.stopping.is_set():
                            break
                        if message is not None:
                            handling.handle(message)
            except BrokerError as exc:
                self.consuming = False
                if self.stopping.is_set():
                    break
                _log.warning("worker.broker_failed", consumer=self.label, error=str(exc))
                broker.close()
                broker.open()
            except StorageError as exc:
                self.consuming = False
                _log.error("worker.database_down", consumer=self.label, error=str(exc))
                broker.close()
                self.stopping.wait(_DATABASE_PAUSE)
                if not self.stopping.is_set():
                    broker.open()
