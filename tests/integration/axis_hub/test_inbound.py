"""What the axis holds for the city is polled, ingested, delivered, and only then acknowledged."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import select

from adapters.axis import (
    AckStatus,
    AxisAgency,
    MessageType,
    ReceivedItem,
    SendResult,
    SentItem,
    Upstream,
)
from hub.axis.poller import REJECT_ACTION
from hub.bootstrap import open_upstream_of
from hub.db.models import AuditEntry, DeliveryState
from tests.integration.hub.pipeline.packets import document

from .conftest import CITY_SYSTEM, DISTRICT, GOVERNMENT_OFFICE, SECURITY, WARD, AxisHub

pytestmark = pytest.mark.integration


class CrashError(Exception):
    """The poller's process dies here."""


class CrashBeforeAcknowledging:
    """The hub's upstream, except that the process dies when it would acknowledge."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self.name = upstream.name

    def send(
        self,
        data: bytes,
        *,
        kind: MessageType,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        return self._upstream.send(data, kind=kind, recipients=recipients, sender=sender)

    def list_received(self, kind: MessageType) -> list[ReceivedItem]:
        return self._upstream.list_received(kind)

    def fetch(self, ref: str) -> bytes:
        return self._upstream.fetch(ref)

    def acknowledge(self, ref: str, outcome: AckStatus) -> None:
        raise CrashError(f"killed before acknowledging {ref} {outcome}")

    def list_sent(self, kind: MessageType | None = None) -> list[SentItem]:
        return self._upstream.list_sent(kind)

    def list_agencies(self) -> list[AxisAgency]:
        return self._upstream.list_agencies()

    def close(self) -> None:
        self._upstream.close()


@pytest.fixture
def upstream(axis_hub: AxisHub) -> Iterator[Upstream]:
    """The hub's own upstream, as its settings build it."""
    built = open_upstream_of(axis_hub.hub.settings)
    assert built is not None
    yield built
    built.close()


def test_a_ministrys_document_is_ingested_delivered_and_acknowledged_done(
    axis_hub: AxisHub,
) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD])

    with axis_hub.poller() as poller:
        report = poller.poll("edoc")

    assert (report.listed, report.accepted, report.doc_ids) == (1, 1, {doc_id: "accepted"})
    assert axis_hub.queue_state(doc_id) == "done"
    (packet,) = axis_hub.packets()
    assert (packet.source, packet.submitted_by, packet.sender_code) == (
        "axis",
        f"vxp:{CITY_SYSTEM}",
        GOVERNMENT_OFFICE,
    )
    assert axis_hub.hub.blobs.read(packet.sha256) == data
    axis_hub.hub.relay_once()
    with axis_hub.hub.worker():
        delivery = axis_hub.deliveries(packet.id)[WARD]
        axis_hub.hub.wait_state(delivery.id, DeliveryState.AVAILABLE)


def test_recipients_outside_the_city_get_no_delivery_from_the_hub(axis_hub: AxisHub) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD, SECURITY, DISTRICT))
    axis_hub.inject(data, to=[WARD, DISTRICT])

    with axis_hub.poller() as poller:
        assert poller.poll("edoc").accepted == 1

    (packet,) = axis_hub.packets()
    assert set(axis_hub.deliveries(packet.id)) == {WARD, DISTRICT}


def test_a_crash_between_download_and_acknowledgement_loses_and_doubles_nothing(
    axis_hub: AxisHub, upstream: Upstream
) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD])

    with pytest.raises(CrashError):
        axis_hub.poller_with(CrashBeforeAcknowledging(upstream)).poll("edoc")
    assert axis_hub.queue_state(doc_id) == "pending"
    (stored,) = axis_hub.packets()
    report = axis_hub.poller_with(upstream).poll("edoc")

    assert report.doc_ids == {doc_id: "repeated"}
    assert axis_hub.queue_state(doc_id) == "done"
    assert [packet.id for packet in axis_hub.packets()] == [stored.id]
    assert len(axis_hub.deliveries(stored.id)) == 1


def test_an_unreadable_packet_is_acknowledged_fail_and_kept_for_operators(
    axis_hub: AxisHub,
) -> None:
    garbage = b"<edXML><not-really/>"
    doc_id = axis_hub.inject(garbage, to=[WARD])

    with axis_hub.poller() as poller:
        report = poller.poll("edoc")
        again = poller.poll("edoc")

    assert report.doc_ids == {doc_id: "rejected"}
    assert again.listed == 0
    assert axis_hub.queue_state(doc_id) == "fail"
    assert axis_hub.packets() == []
    (entry,) = _rejections(axis_hub)
    assert entry.subject == f"vxp:{CITY_SYSTEM}/{doc_id}"
    assert entry.details["error"]["code"] == "xml.malformed"
    assert axis_hub.hub.blobs.read(entry.details["blob"]) == garbage


def test_a_rejection_whose_acknowledgement_was_lost_is_recorded_once(
    axis_hub: AxisHub, upstream: Upstream
) -> None:
    doc_id = axis_hub.inject(b"not xml at all", to=[WARD])

    with pytest.raises(CrashError):
        axis_hub.poller_with(CrashBeforeAcknowledging(upstream)).poll("edoc")
    report = axis_hub.poller_with(upstream).poll("edoc")

    assert report.doc_ids == {doc_id: "rejected"}
    assert axis_hub.queue_state(doc_id) == "fail"
    assert len(_rejections(axis_hub)) == 1


def test_a_packet_for_no_agency_of_the_city_is_acknowledged_fail(axis_hub: AxisHub) -> None:
    _, data = document(GOVERNMENT_OFFICE, (SECURITY,))
    doc_id = axis_hub.inject(data, to=[SECURITY])

    with axis_hub.poller() as poller:
        assert poller.poll("edoc").doc_ids == {doc_id: "rejected"}

    assert axis_hub.queue_state(doc_id) == "fail"
    (entry,) = _rejections(axis_hub)
    assert entry.details["error"]["code"] == "packet.no-local-recipient"
    assert entry.details["sender"] == GOVERNMENT_OFFICE


def test_a_packet_from_the_axis_claiming_a_city_sender_is_refused(axis_hub: AxisHub) -> None:
    _, data = document(DISTRICT, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD], sender=DISTRICT)

    with axis_hub.poller() as poller:
        assert poller.poll("edoc").doc_ids == {doc_id: "rejected"}

    assert axis_hub.packets() == []
    (entry,) = _rejections(axis_hub)
    assert entry.details["error"]["code"] == "packet.sender-mismatch"


def test_the_running_poller_picks_up_documents_until_stopped(axis_hub: AxisHub) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD])
    stop = threading.Event()

    with axis_hub.poller() as poller:
        running = threading.Thread(target=poller.run, args=(stop,))
        running.start()
        try:
            axis_hub.hub.wait_until(lambda: axis_hub.queue_state(doc_id) == "done")
        finally:
            stop.set()
            running.join(10)

    assert not running.is_alive()
    assert len(axis_hub.packets(source="axis")) == 1


def _rejections(axis_hub: AxisHub) -> list[AuditEntry]:
    with axis_hub.hub.database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == REJECT_ACTION).order_by(AuditEntry.id)
            )
        )
