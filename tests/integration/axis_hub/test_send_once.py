"""The axis handler sends a packet once, whatever the threads, redeliveries and failures.

These run the handler straight against each database backend (no broker), with a stand-in
upstream that counts the sends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.axis import (
    AckStatus,
    AxisAgency,
    AxisRefusedError,
    AxisUnavailableError,
    MessageType,
    ReceivedItem,
    SendResult,
    SentItem,
)
from hub.axis.outbound import CLAIM_PREFIX, AxisDeliveryHandler
from hub.channels import Channel
from hub.channels.base import DeliveryJob
from hub.db.database import Database
from hub.db.models import Delivery, DeliveryState, Packet
from hub.errors import PermanentDeliveryError, TransientDeliveryError
from hub.ids import new_id

from .conftest import GOVERNMENT_OFFICE, SECURITY, UNSERVED_MINISTRY, WARD

pytestmark = pytest.mark.integration

RECIPIENTS = (GOVERNMENT_OFFICE, SECURITY, UNSERVED_MINISTRY)


class CountingUpstream:
    """An upstream that takes a while to answer, and remembers every send."""

    name = "test:city"

    def __init__(self, pause: float = 0.0, error: Exception | None = None) -> None:
        self.pause = pause
        self.error = error
        self.sends: list[tuple[MessageType, tuple[str, ...], str | None]] = []
        self._lock = threading.Lock()

    def send(
        self,
        data: bytes,
        *,
        kind: MessageType,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        with self._lock:
            self.sends.append((kind, tuple(recipients or ()), sender))
            number = len(self.sends)
        time.sleep(self.pause)
        if self.error is not None:
            raise self.error
        return SendResult(doc_id=f"axis-{number}")

    def list_received(self, kind: MessageType) -> list[ReceivedItem]:
        return []

    def fetch(self, ref: str) -> bytes:
        return b""

    def acknowledge(self, ref: str, outcome: AckStatus) -> None:
        return None

    def list_sent(self, kind: MessageType | None = None) -> list[SentItem]:
        return []

    def list_agencies(self) -> list[AxisAgency]:
        return []

    def close(self) -> None:
        return None


class RefusingTogether(CountingUpstream):
    """An axis that refuses any send naming more than one recipient."""

    def send(
        self,
        data: bytes,
        *,
        kind: MessageType,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        result = super().send(data, kind=kind, recipients=recipients, sender=sender)
        if len(recipients or ()) > 1:
            raise AxisRefusedError(
                "the national axis refused sendEdoc (HTTP 400): RECIPIENT_REFUSED",
                operation="sendEdoc",
                error_code="RECIPIENT_REFUSED",
                http_status=400,
            )
        return result


def add_packet(
    database: Database, recipients: Sequence[str] = RECIPIENTS, kind: str = "edoc"
) -> list[DeliveryJob]:
    """A packet from the ward with one queued axis delivery per recipient; their jobs."""
    packet_id = new_id()
    with database.transaction() as session:
        session.add(
            Packet(
                id=packet_id,
                kind=kind,
                sha256=packet_id.lower().ljust(64, "0"),
                size=10,
                sender_code=WARD,
                document_id=f"{WARD},{packet_id}",
                business_type=0 if kind == "edoc" else None,
                signature_status="absent",
                summary={"to": list(reversed(recipients))},
            )
        )
        session.flush()
        jobs = []
        for code in recipients:
            delivery = Delivery(
                id=new_id(), packet_id=packet_id, recipient_code=code, channel=Channel.AXIS
            )
            session.add(delivery)
            jobs.append(
                DeliveryJob(
                    delivery_id=delivery.id,
                    packet_id=packet_id,
                    recipient=code,
                    channel=Channel.AXIS,
                    blob="0" * 64,
                    kind=kind,
                    attempt=1,
                    settings={},
                )
            )
    return jobs


def refs(database: Database, jobs: Sequence[DeliveryJob]) -> list[str | None]:
    with database.transaction() as session:
        return [session.get(Delivery, job.delivery_id).external_ref for job in jobs]  # type: ignore[union-attr]


def handler(
    database: Database, upstream: CountingUpstream, **options: float
) -> AxisDeliveryHandler:
    values = {"lease": 60.0, "wait": 5.0, "poll_interval": 0.02, **options}
    return AxisDeliveryHandler(upstream, database, **values)


def test_concurrent_attempts_of_one_packet_send_it_once_for_every_recipient(
    database: Database,
) -> None:
    jobs = add_packet(database)
    upstream = CountingUpstream(pause=0.3)
    axis = handler(database, upstream)

    with ThreadPoolExecutor(len(jobs)) as pool:
        handovers = list(pool.map(lambda job: axis.deliver(job, b"<edXML/>"), jobs))

    assert upstream.sends == [("edoc", tuple(reversed(RECIPIENTS)), WARD)]
    assert {handover.state for handover in handovers} == {DeliveryState.DELIVERED}
    assert {handover.external_ref for handover in handovers} == {"axis-1"}
    assert refs(database, jobs) == ["axis-1"] * len(jobs)


def test_a_redelivered_message_finds_the_packet_sent(database: Database) -> None:
    (job,) = add_packet(database, (GOVERNMENT_OFFICE,))
    upstream = CountingUpstream()
    axis = handler(database, upstream)

    first = axis.deliver(job, b"<edXML/>")
    again = axis.deliver(job, b"<edXML/>")

    assert len(upstream.sends) == 1
    assert first.external_ref == again.external_ref == "axis-1"


def test_a_status_packet_goes_out_as_messagetype_status(database: Database) -> None:
    (job,) = add_packet(database, (GOVERNMENT_OFFICE,), kind="status")
    upstream = CountingUpstream()

    handler(database, upstream).deliver(job, b"<edXML/>")

    assert upstream.sends == [("status", (GOVERNMENT_OFFICE,), WARD)]


def test_deliveries_no_longer_waiting_are_left_out_of_the_send(database: Database) -> None:
    jobs = add_packet(database)
    with database.transaction() as session:
        parked = session.get(Delivery, jobs[2].delivery_id)
        assert parked is not None
        parked.state = DeliveryState.PARKED
    upstream = CountingUpstream()

    handler(database, upstream).deliver(jobs[0], b"<edXML/>")

    assert upstream.sends == [("edoc", (SECURITY, GOVERNMENT_OFFICE), WARD)]
    assert refs(database, jobs) == ["axis-1", "axis-1", None]


def test_a_failed_send_releases_the_claim_so_a_retry_sends_again(database: Database) -> None:
    jobs = add_packet(database, (GOVERNMENT_OFFICE, SECURITY))
    down = CountingUpstream(
        error=AxisUnavailableError("the axis is down", operation="sendEdoc", delay=7.0)
    )

    with pytest.raises(TransientDeliveryError) as failure:
        handler(database, down).deliver(jobs[0], b"<edXML/>")
    assert failure.value.delay == 7.0
    assert refs(database, jobs) == [None, None]

    up = CountingUpstream()
    handler(database, up).deliver(jobs[1], b"<edXML/>")
    assert up.sends == [("edoc", (SECURITY, GOVERNMENT_OFFICE), WARD)]


def test_a_refusal_is_a_permanent_error_carrying_the_axis_reason(database: Database) -> None:
    (job,) = add_packet(database, (UNSERVED_MINISTRY,))
    refusing = CountingUpstream(
        error=AxisRefusedError(
            "the national axis refused sendEdoc (HTTP 400): UNKNOWN_RECIPIENT — nobody serves it",
            operation="sendEdoc",
            error_code="UNKNOWN_RECIPIENT",
            http_status=400,
        )
    )

    with pytest.raises(PermanentDeliveryError, match="UNKNOWN_RECIPIENT") as failure:
        handler(database, refusing).deliver(job, b"<edXML/>")

    assert failure.value.http_status == 400
    assert refs(database, [job]) == [None]


def test_a_refusal_of_several_recipients_is_tried_again_for_the_attempts_own_alone(
    database: Database,
) -> None:
    jobs = add_packet(database, (GOVERNMENT_OFFICE, SECURITY))
    upstream = RefusingTogether()
    axis = handler(database, upstream)

    handover = axis.deliver(jobs[0], b"<edXML/>")

    assert upstream.sends == [
        ("edoc", (SECURITY, GOVERNMENT_OFFICE), WARD),
        ("edoc", (GOVERNMENT_OFFICE,), WARD),
    ]
    assert handover.external_ref == "axis-2"
    assert refs(database, jobs) == ["axis-2", None]


def test_an_attempt_waits_for_a_live_claim_then_fails_transiently(database: Database) -> None:
    jobs = add_packet(database, (GOVERNMENT_OFFICE,))
    live = f"{CLAIM_PREFIX}{int(time.time()) + 600}:other"
    with database.transaction() as session:
        row = session.get(Delivery, jobs[0].delivery_id)
        assert row is not None
        row.external_ref = live
    upstream = CountingUpstream()

    with pytest.raises(TransientDeliveryError) as failure:
        handler(database, upstream, wait=0.2).deliver(jobs[0], b"<edXML/>")

    assert failure.value.code == "delivery.axis_send_in_progress"
    assert upstream.sends == []
    assert refs(database, jobs) == [live]


def test_an_expired_claim_is_taken_over(database: Database) -> None:
    jobs = add_packet(database, (GOVERNMENT_OFFICE, SECURITY))
    with database.transaction() as session:
        for job in jobs:
            row = session.get(Delivery, job.delivery_id)
            assert row is not None
            row.external_ref = f"{CLAIM_PREFIX}{int(time.time()) - 1}:dead"
    upstream = CountingUpstream()

    handover = handler(database, upstream).deliver(jobs[1], b"<edXML/>")

    assert handover.external_ref == "axis-1"
    assert upstream.sends == [("edoc", (SECURITY, GOVERNMENT_OFFICE), WARD)]
    assert refs(database, jobs) == ["axis-1", "axis-1"]
