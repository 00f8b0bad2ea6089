"""One attempt: admission by the peer's breaker and slots, the handler's call on the
consumer's helper thread (heartbeats keep flowing meanwhile), its time limit, and what its
answer or error means for the peer."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from hub.channels.base import ChannelHandler, DeliveryJob, HandOver
from hub.db.base import utcnow
from hub.errors import (
    BrokerUnavailableError,
    CircuitOpenError,
    DeliveryError,
    HubError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from hub.payloads import BlobNotFoundError, BlobStore, BlobStoreError
from hub.transport.breaker import Admission, CircuitBreaker
from hub.transport.worker.outcome import PEER_BUSY, Result

__all__ = ["Attempts", "HelperThread"]

_log = structlog.get_logger("hub.transport.worker")

_T = TypeVar("_T")
_PUMP_SECONDS = 0.5
"""While an attempt runs, broker I/O (heartbeats) is processed at least this often."""


class HelperThread:
    """The thread that runs a consumer's attempts, in order; a stuck one is abandoned."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks = self._start()

    def _start(self) -> queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]:
        tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        threading.Thread(target=_run_tasks, args=(tasks,), name=self._name, daemon=True).start()
        return tasks

    def submit(self, task: Callable[[], _T]) -> Future[_T]:
        """Run ``task`` after those already submitted."""
        future: Future[_T] = Future()
        self._tasks.put((task, future))
        return future

    def replace(self) -> None:
        """Abandon a thread stuck in an attempt; later attempts get a new one."""
        self._tasks.put(None)
        self._tasks = self._start()

    def stop(self) -> None:
        """Let the thread end after what it was given."""
        self._tasks.put(None)


def _run_tasks(tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]) -> None:
    while (item := tasks.get()) is not None:
        task, future = item
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(task())
        except BaseException as exc:
            future.set_exception(exc)


@dataclass(frozen=True)
class _Answer:
    """What an attempt on the helper thread brings back."""

    handover: HandOver | None = None
    error: DeliveryError | None = None
    peer_failed: bool | None = None
    """True: the peer failed; False: it answered (even a refusal); None: not reached."""


@dataclass
class Attempts:
    """Makes the attempts of one consumer."""

    breaker: CircuitBreaker
    blobs: BlobStore
    helper: HelperThread
    pump: Callable[[float], None]
    """Processes the consumer's broker I/O for up to the given seconds."""
    timeout: float
    """Seconds after which an attempt is abandoned."""

    def attempt(self, handler: ChannelHandler, job: DeliveryJob) -> Result:
        """Attempt ``job`` through ``handler``, unless its peer's breaker or slots say not now
        (outcome ``breaker-open``, or :data:`~hub.transport.worker.outcome.PEER_BUSY`)."""
        peer = handler.peer(job)
        started_at = utcnow()
        breaker = self.breaker
        admission = Admission.GO if peer is None else breaker.acquire(peer, slot=job.recipient)
        if admission is Admission.BUSY:
            return Result(started_at=started_at, duration=0.0, outcome=PEER_BUSY)
        if admission is Admission.OPEN and peer is not None:
            return Result(
                started_at=started_at,
                duration=0.0,
                error=CircuitOpenError(
                    f"not attempted: {peer} failed repeatedly and its circuit is open "
                    f"(next probe in {breaker.retry_in(peer):.0f} s)"
                ),
                outcome="breaker-open",
            )
        clock = time.monotonic()
        answer = self._wait(self.helper.submit(lambda: self._call_holding(handler, job, peer)), job)
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
        return Result(started_at, duration, answer.handover, answer.error, outcome)

    def _call_holding(self, handler: ChannelHandler, job: DeliveryJob, peer: str | None) -> _Answer:
        """Run on the helper thread; the recipient's slot is given back when the call ends,
        even after :meth:`_wait` gave up on it (a hung call keeps its slot while it hangs)."""
        try:
            return self._call(handler, job)
        finally:
            if peer is not None:
                self.breaker.release(peer, slot=job.recipient, failed=None)

    def _call(self, handler: ChannelHandler, job: DeliveryJob) -> _Answer:
        """Run on the helper thread."""
        try:
            payload = self.blobs.read(job.blob) if handler.needs_payload else b""
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
        deadline = time.monotonic() + self.timeout
        connected = True
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                return future.result(timeout=min(remaining, _PUMP_SECONDS))
            except TimeoutError:
                pass
            if connected:
                try:
                    self.pump(0)
                except BrokerUnavailableError:
                    connected = False
        self.helper.replace()
        return _Answer(
            error=TransientDeliveryError(
                f"the {job.channel.value} attempt took longer than "
                f"{self.timeout:g} s and was abandoned",
                code="delivery.attempt_timeout",
            ),
            peer_failed=True,
        )
