"""The ``axis`` channel: packets for agencies outside the city, handed to the national axis once.

A packet addressed to several agencies behind the axis has one delivery per agency (its own
message, attempts and state), but the axis takes a packet once, with the list of its
recipients (``to``). So the first attempt of any of them sends the packet for every axis
delivery of the packet still waiting (``queued``/``retrying``) and records the axis
transaction id (``DocId``) as their ``external_ref``; the others, when their message comes,
find it and are delivered without a second send, and so are redelivered messages. The
``messagetype`` is the packet's kind (``edoc`` or ``status``), ``from`` its sender.

Sending once between threads and processes: before sending, an attempt *claims* the waiting
axis deliveries of the packet, in one short transaction, with a compare-and-set per row
(``UPDATE … SET external_ref = <claim> WHERE id = … AND external_ref IS <what was read>``),
in the order of their ids; it sends only if its own delivery is among the rows it claimed, and
otherwise rolls back and looks again. PostgreSQL re-checks the condition against a row another
transaction has just committed, SQLite runs write transactions one at a time, and the common
order keeps two attempts from holding each other's rows: one attempt claims, the others see
its claim. No lock is held while the axis is called. An attempt that finds a claim waits for
its outcome (bounded, then it fails transiently to be retried); a claim carries an expiry,
after which another attempt takes it over (its claimer died). After the send the claim is
replaced by the DocId; after a failure it is cleared and the error raised, translated by
:mod:`hub.axis.delivery_errors`: transient → the retry schedule; permanent (refused packet,
unknown recipient, wrong credentials) → parked, the axis's message as the delivery's
``last_error``, which the sender sees on the document's timeline. When the axis refuses a
send naming several recipients (not the credentials), the attempt gives the others back and
sends for its own recipient alone: one refused recipient does not hold back the rest, and
each delivery gets its own verdict, whichever attempt came first.

What remains at least once: a send whose answer was lost after the packet went out (a read
timeout, a crash before the DocId is recorded) may have reached the axis and is sent again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from hub.axis.delivery_errors import to_delivery_error
from hub.axis.errors import AxisError, AxisRefusedError
from hub.axis.models import MessageType
from hub.axis.upstream import Upstream
from hub.channels import Channel
from hub.channels.base import DeliveryJob, HandOver
from hub.db.models import Delivery, DeliveryState, Packet
from hub.errors import (
    DeliveryError,
    PermanentDeliveryError,
    StorageError,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["CLAIM_PREFIX", "AxisDeliveryHandler"]

CLAIM_PREFIX = "claim:"
"""Start of an ``external_ref`` that is a claim in progress, not an axis transaction id."""

_log = structlog.get_logger(__name__)

_WAITING = (DeliveryState.QUEUED, DeliveryState.RETRYING)
_MESSAGE_TYPES: dict[str, MessageType] = {"edoc": "edoc", "status": "status"}
_RECORD_TRIES = 3
_RECORD_PAUSE = 0.5


@dataclass(frozen=True)
class _Claim:
    """A claim on a packet's axis deliveries: ``claim:<expiry, Unix seconds>:<token>``."""

    marker: str
    expires_at: float

    @classmethod
    def new(cls, now: float, lease: float) -> _Claim:
        expires_at = int(now + lease) + 1
        return cls(f"{CLAIM_PREFIX}{expires_at}:{secrets.token_hex(8)}", float(expires_at))

    @classmethod
    def read(cls, ref: str | None) -> _Claim | None:
        if ref is None or not ref.startswith(CLAIM_PREFIX):
            return None
        expiry, _, _token = ref.removeprefix(CLAIM_PREFIX).partition(":")
        try:
            return cls(ref, float(expiry))
        except ValueError:
            return cls(ref, 0.0)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class _Sent:
    doc_id: str


@dataclass(frozen=True)
class _Busy:
    claim: _Claim


@dataclass(frozen=True)
class _Claimed:
    claim: _Claim
    sender: str
    deliveries: tuple[str, ...]
    recipients: tuple[str, ...]
    """In the order the packet addresses them."""


@dataclass(frozen=True)
class _Candidate:
    delivery_id: str
    recipient: str
    seen: str | None
    """The ``external_ref`` read: None, or an expired claim."""


class AxisDeliveryHandler:
    """Hands ``axis`` deliveries to an :class:`~adapters.axis.upstream.Upstream`, once a packet.

    ``lease`` is how long a claim holds before another attempt may take it over (longer than
    any one send can last); ``wait`` is how long an attempt waits for another's claim to end.
    One handler may serve every consumer thread of a worker: the upstream client is
    thread-safe, and :meth:`close` leaves it open for its owner to close.
    """

    needs_payload = True

    def __init__(
        self,
        upstream: Upstream,
        database: Database,
        *,
        lease: float,
        wait: float,
        poll_interval: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._upstream = upstream
        self._database = database
        self._lease = lease
        self._wait = wait
        self._poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep

    def peer(self, job: DeliveryJob) -> str | None:
        """One circuit breaker for the upstream, whoever the recipient."""
        return f"upstream:{self._upstream.name}"

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        """Send the packet for all its waiting axis deliveries, or find it already sent."""
        message_type = _MESSAGE_TYPES.get(job.kind)
        if message_type is None:
            raise PermanentDeliveryError(
                f"packet {job.packet_id} is of kind {job.kind!r}; the axis takes edoc or status",
                code="delivery.axis_kind",
            )
        log = _log.bind(
            packet_id=job.packet_id,
            delivery_id=job.delivery_id,
            recipient=job.recipient,
            attempt=job.attempt,
            upstream=self._upstream.name,
        )
        give_up_at = time.monotonic() + self._wait
        waiting = False
        while True:
            outcome = self._claim(job)
            if isinstance(outcome, _Sent):
                log.info("axis.already_sent", doc_id=outcome.doc_id)
                return HandOver(DeliveryState.DELIVERED, external_ref=outcome.doc_id)
            if isinstance(outcome, _Claimed):
                return self._send(job, payload, message_type, outcome, log)
            if time.monotonic() >= give_up_at:
                raise TransientDeliveryError(
                    f"packet {job.packet_id} is being sent to the national axis by another "
                    "attempt; this delivery is retried and then takes the axis's answer",
                    code="delivery.axis_send_in_progress",
                )
            if isinstance(outcome, _Busy):
                if not waiting:
                    log.info("axis.waiting_for_send", claim_expires_at=outcome.claim.expires_at)
                    waiting = True
                self._sleep(self._poll_interval)

    def close(self) -> None:
        return None

    # -- claiming ------------------------------------------------------------------------

    def _claim(self, job: DeliveryJob) -> _Sent | _Busy | _Claimed | None:
        """The packet already sent, claimed by another, or claimed now; None: look again."""
        now = self._clock()
        with self._database.transaction() as session:
            found = session.execute(
                select(Delivery.external_ref, Packet.sender_code, Packet.summary)
                .join(Packet, Packet.id == Delivery.packet_id)
                .where(Delivery.id == job.delivery_id)
            ).first()
            if found is None:
                raise PermanentDeliveryError(
                    f"delivery {job.delivery_id} is not in the database", code="delivery.unknown"
                )
            own_ref, sender, summary = found
            held = _Claim.read(own_ref)
            if own_ref is not None and held is None:
                return _Sent(own_ref)
            if held is not None and not held.expired(now):
                return _Busy(held)
            candidates = _candidates(session, job, own_ref, now)
        claim = _Claim.new(now, self._lease)
        with self._database.transaction() as session:
            won = [
                candidate
                for candidate in sorted(candidates, key=lambda item: item.delivery_id)
                if _take(session, candidate, claim)
            ]
            if job.delivery_id not in {candidate.delivery_id for candidate in won}:
                session.rollback()
                return None
        order = {code: index for index, code in enumerate(_addressed(summary))}
        won.sort(key=lambda item: (order.get(item.recipient, len(order)), item.delivery_id))
        return _Claimed(
            claim=claim,
            sender=sender,
            deliveries=tuple(item.delivery_id for item in won),
            recipients=tuple(dict.fromkeys(item.recipient for item in won)),
        )

    # -- sending -------------------------------------------------------------------------

    def _send(
        self,
        job: DeliveryJob,
        payload: bytes,
        message_type: MessageType,
        claimed: _Claimed,
        log: Any,
    ) -> HandOver:
        while True:
            bound = log.bind(
                message_type=message_type,
                recipients=list(claimed.recipients),
                delivery_ids=list(claimed.deliveries),
            )
            try:
                sent = self._upstream.send(
                    payload,
                    kind=message_type,
                    recipients=claimed.recipients,
                    sender=claimed.sender,
                )
            except AxisRefusedError as exc:
                if len(claimed.deliveries) > 1:
                    bound.warning("axis.refused_together", error_code=exc.error_code)
                    claimed = self._alone(job, claimed, bound)
                    continue
                raise self._failed(job, claimed, exc, bound) from exc
            except AxisError as exc:
                raise self._failed(job, claimed, exc, bound) from exc
            except ValueError as exc:
                self._release(job, claimed.claim, bound)
                raise PermanentDeliveryError(
                    f"the packet cannot be sent to the national axis: {exc}",
                    code="delivery.axis_request",
                ) from exc
            except BaseException:
                self._release(job, claimed.claim, bound)
                raise
            self._record(job, claimed.claim, sent.doc_id, bound)
            bound.info("axis.sent", doc_id=sent.doc_id)
            return HandOver(DeliveryState.DELIVERED, external_ref=sent.doc_id)

    def _failed(
        self, job: DeliveryJob, claimed: _Claimed, error: AxisError, log: Any
    ) -> DeliveryError:
        """Release the claim; the hub's delivery error for the axis's."""
        self._release(job, claimed.claim, log)
        failure = to_delivery_error(error)
        log.warning(
            "axis.send_failed",
            error=failure.code,
            error_code=error.error_code,
            permanent=isinstance(failure, PermanentDeliveryError),
            http_status=failure.http_status,
        )
        return failure

    def _alone(self, job: DeliveryJob, claimed: _Claimed, log: Any) -> _Claimed:
        """Give back the other deliveries' claims; this delivery is sent by itself."""
        try:
            with self._database.transaction() as session:
                session.execute(
                    update(Delivery)
                    .where(
                        Delivery.packet_id == job.packet_id,
                        Delivery.external_ref == claimed.claim.marker,
                        Delivery.id != job.delivery_id,
                    )
                    .values(external_ref=None, updated_at=Delivery.updated_at)
                    .execution_options(synchronize_session=False)
                )
        except StorageError:
            self._release(job, claimed.claim, log)
            raise
        return _Claimed(
            claim=claimed.claim,
            sender=claimed.sender,
            deliveries=(job.delivery_id,),
            recipients=(job.recipient,),
        )

    def _record(self, job: DeliveryJob, claim: _Claim, doc_id: str, log: Any) -> None:
        """Replace the claim by the DocId on every claimed delivery (a few tries)."""
        for try_number in range(1, _RECORD_TRIES + 1):
            try:
                with self._database.transaction() as session:
                    _replace_claim(session, job.packet_id, claim, doc_id)
                return
            except StorageError as exc:
                if try_number == _RECORD_TRIES:
                    log.error("axis.sent_not_recorded", doc_id=doc_id, error=str(exc))
                    raise
                self._sleep(_RECORD_PAUSE * try_number)

    def _release(self, job: DeliveryJob, claim: _Claim, log: Any) -> None:
        try:
            with self._database.transaction() as session:
                _replace_claim(session, job.packet_id, claim, None)
        except StorageError as exc:
            log.warning("axis.claim_not_released", error=str(exc), expires_at=claim.expires_at)


def _candidates(
    session: Session, job: DeliveryJob, own_ref: str | None, now: float
) -> list[_Candidate]:
    """The packet's waiting axis deliveries that are free or whose claim expired."""
    rows = session.execute(
        select(Delivery.id, Delivery.recipient_code, Delivery.external_ref).where(
            Delivery.packet_id == job.packet_id,
            Delivery.channel == Channel.AXIS,
            Delivery.state.in_(_WAITING),
        )
    ).all()
    found = {
        delivery_id: _Candidate(delivery_id, recipient, ref)
        for delivery_id, recipient, ref in rows
        if ref is None or ((claim := _Claim.read(ref)) is not None and claim.expired(now))
    }
    found.setdefault(job.delivery_id, _Candidate(job.delivery_id, job.recipient, own_ref))
    return list(found.values())


def _take(session: Session, candidate: _Candidate, claim: _Claim) -> bool:
    """Compare-and-set one delivery's ``external_ref`` from what was read to the claim."""
    unchanged = (
        Delivery.external_ref.is_(None)
        if candidate.seen is None
        else Delivery.external_ref == candidate.seen
    )
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(Delivery)
            .where(Delivery.id == candidate.delivery_id, unchanged)
            .values(external_ref=claim.marker, updated_at=Delivery.updated_at)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def _replace_claim(session: Session, packet_id: str, claim: _Claim, value: str | None) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.packet_id == packet_id, Delivery.external_ref == claim.marker)
        .values(external_ref=value, updated_at=Delivery.updated_at)
        .execution_options(synchronize_session=False)
    )


def _addressed(summary: Any) -> Sequence[str]:
    to = summary.get("to") if isinstance(summary, dict) else None
    return [code for code in to if isinstance(code, str)] if isinstance(to, list) else []
