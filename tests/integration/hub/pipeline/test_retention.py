"""Retention: finished packets lose their bytes after the retention period, nothing else does."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.auth.callers import AuthenticatedAgency
from hub.db.base import utcnow
from hub.db.models import AuditEntry, Delivery, DeliveryState, Packet
from hub.records.retention import delete_purged, purge_payloads, sweep_orphans

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DISTRICT, WARD

pytestmark = pytest.mark.integration


def accepted(hub: Hub, recipients: tuple[str, ...], *, days_ago: int) -> tuple[str, str, list[str]]:
    """A document from the district, received ``days_ago`` days ago: packet id, blob, deliveries."""
    _, raw = packets.document(DISTRICT, recipients)
    result = hub.ingest.accept(raw, AuthenticatedAgency(DISTRICT, DISTRICT))
    with hub.database.transaction() as session:
        session.execute(
            update(Packet)
            .where(Packet.id == result.packet_id)
            .values(received_at=utcnow() - timedelta(days=days_ago))
        )
        sha256 = session.scalar(select(Packet.sha256).where(Packet.id == result.packet_id))
    assert sha256 is not None
    return result.packet_id, sha256, [d.delivery_id for d in result.deliveries]


def purge(hub: Hub, *, days: int = 30, dry_run: bool = False) -> list[str]:
    with hub.database.transaction(commit=not dry_run) as session:
        report = purge_payloads(
            session,
            hub.blobs,
            older_than=timedelta(days=days),
            actor="test",
            reason="retention test",
            dry_run=dry_run,
        )
    if not dry_run:
        delete_purged(hub.blobs, report)
    return report.packet_ids


def test_an_old_packet_delivered_everywhere_loses_its_bytes_and_keeps_its_record(
    hub: Hub,
) -> None:
    packet_id, sha256, deliveries = accepted(hub, (WARD, CITY), days_ago=40)
    hub.set_state(deliveries[0], DeliveryState.DELIVERED)
    hub.set_state(deliveries[1], DeliveryState.REFUSED)

    purged = purge(hub)

    assert purged == [packet_id]
    assert not hub.blobs.exists(sha256)
    with hub.database.transaction() as session:
        packet = session.get(Packet, packet_id)
        assert packet is not None
        assert packet.payload_purged_at is not None
        assert session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "payloads.purged")
        )


@pytest.mark.parametrize(
    "state",
    [
        DeliveryState.PARKED,
        DeliveryState.EXPIRED,
        DeliveryState.AVAILABLE,
        DeliveryState.RETRYING,
        DeliveryState.QUEUED,
    ],
)
def test_a_packet_with_a_delivery_not_finished_keeps_its_bytes(
    hub: Hub, state: DeliveryState
) -> None:
    _packet_id, sha256, deliveries = accepted(hub, (WARD, CITY), days_ago=40)
    hub.set_state(deliveries[0], DeliveryState.DELIVERED)
    hub.set_state(deliveries[1], state)

    assert purge(hub) == []
    assert hub.blobs.exists(sha256)


def test_a_recent_packet_and_a_dry_run_change_nothing(hub: Hub) -> None:
    old_id, old_blob, old_deliveries = accepted(hub, (WARD,), days_ago=40)
    _, new_blob, new_deliveries = accepted(hub, (WARD,), days_ago=2)
    hub.set_state(old_deliveries[0], DeliveryState.DELIVERED)
    hub.set_state(new_deliveries[0], DeliveryState.DELIVERED)

    assert purge(hub, dry_run=True) == [old_id]
    assert hub.blobs.exists(old_blob)
    assert hub.blobs.exists(new_blob)

    assert purge(hub) == [old_id]
    assert hub.blobs.exists(new_blob)


def test_fetching_a_purged_packet_answers_410_with_its_code(hub: Hub, client: ApiClient) -> None:
    _, _, deliveries = accepted(hub, (WARD,), days_ago=40)
    hub.set_state(deliveries[0], DeliveryState.DELIVERED)
    purge(hub)

    answer = client.get(f"/api/v1/inbox/{deliveries[0]}", headers=hub.auth(WARD))

    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "packet.payload-purged"


def test_orphaned_bytes_go_after_their_grace_and_referenced_ones_stay(hub: Hub) -> None:
    _, referenced, _ = accepted(hub, (WARD,), days_ago=0)
    old_orphan = hub.blobs.put(b"<edXML>stored by an ingest that was then refused</edXML>")
    fresh_orphan = hub.blobs.put(b"<edXML>an ingest still committing</edXML>")
    an_hour_ago = time.time() - 7200
    os.utime(hub.blobs.path(old_orphan), (an_hour_ago, an_hour_ago))
    os.utime(hub.blobs.path(referenced), (an_hour_ago, an_hour_ago))

    with hub.database.transaction() as session:
        report = sweep_orphans(session, hub.blobs, orphan_grace=timedelta(hours=1))

    assert report.orphans == 1
    assert not hub.blobs.exists(old_orphan)
    assert hub.blobs.exists(fresh_orphan)
    assert hub.blobs.exists(referenced)


def test_the_bytes_of_a_purge_interrupted_after_its_commit_are_swept_later(hub: Hub) -> None:
    _, sha256, deliveries = accepted(hub, (WARD,), days_ago=40)
    hub.set_state(deliveries[0], DeliveryState.DELIVERED)
    with hub.database.transaction() as session:
        purge_payloads(
            session, hub.blobs, older_than=timedelta(days=30), actor="test", reason="crash test"
        )  # committed, but the bytes are never deleted (as if the process died here)
    assert hub.blobs.exists(sha256)
    an_hour_ago = time.time() - 7200
    os.utime(hub.blobs.path(sha256), (an_hour_ago, an_hour_ago))

    with hub.database.transaction() as session:
        sweep_orphans(session, hub.blobs, orphan_grace=timedelta(hours=1))

    assert not hub.blobs.exists(sha256)
    with hub.database.transaction() as session:
        assert session.scalar(select(Delivery.state).where(Delivery.id == deliveries[0])) == (
            DeliveryState.DELIVERED
        )
