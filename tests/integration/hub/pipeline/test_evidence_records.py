"""Evidence of sending and delivery: what each step of a packet's way leaves on record."""

from __future__ import annotations

import hashlib

import pytest

from hub.auth.callers import AuthenticatedAgency
from hub.channels.inbox import acknowledge
from hub.db.models import DeliveryState, Packet
from hub.records.chain import sha256
from hub.transport.replay import ReplayFilter, replay

from . import packets
from .conftest import Hub
from .evidence import accept, delivered_everywhere, records, settle, statements
from .packets import CITY, DEPARTMENT, DISTRICT, MINISTRY, WARD

pytestmark = pytest.mark.integration


def test_an_accepted_packet_leaves_evidence_of_its_submission(hub: Hub) -> None:
    result = accept(hub, WARD, (DISTRICT, CITY))

    (submitted,) = statements(hub, result.packet_id)
    with hub.database.transaction() as session:
        packet = session.get(Packet, result.packet_id)
        assert packet is not None
        digest, size, received_at = packet.sha256, packet.size, packet.received_at
    assert submitted["kind"] == "submitted"
    assert (submitted["sha256"], submitted["size"], submitted["sender"]) == (digest, size, WARD)
    assert submitted["at"] == received_at.isoformat(timespec="microseconds")
    assert submitted["addressed"] == [DISTRICT, CITY]
    assert [(d["recipient"], d["delivery"]) for d in submitted["deliveries"]] == [
        (d.recipient, d.delivery_id) for d in result.deliveries
    ]


def test_a_repeated_post_leaves_no_second_submission(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT,))

    first = hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))
    hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))

    assert [row.kind for row in records(hub, first.packet_id)] == ["submitted"]


def test_each_record_stores_the_hash_of_its_statement(hub: Hub) -> None:
    delivered_everywhere(hub)

    rows = records(hub)

    assert rows
    assert all(row.record_hash == sha256(row.statement) for row in rows)
    assert all(row.seq is None and row.chain_hash is None for row in rows)


def test_a_webhook_delivery_leaves_evidence_of_delivery(hub: Hub) -> None:
    result = accept(hub, WARD, (CITY,))
    (copy,) = result.deliveries

    settle(hub, copy.delivery_id, DeliveryState.DELIVERED, http_status=202)

    delivered = statements(hub, result.packet_id)[-1]
    assert delivered["kind"] == "delivered"
    assert (delivered["recipient"], delivered["delivery"]) == (CITY, copy.delivery_id)
    assert (delivered["channel"], delivered["attempt"], delivered["http_status"]) == (
        "webhook",
        1,
        202,
    )


def test_an_inbox_copy_is_made_available_then_retrieved(hub: Hub) -> None:
    result = accept(hub, WARD, (DISTRICT,))
    (copy,) = result.deliveries

    settle(hub, copy.delivery_id, DeliveryState.AVAILABLE)
    with hub.database.transaction() as session:
        acknowledge(session, DISTRICT, copy.delivery_id, "done")

    assert [s["kind"] for s in statements(hub, result.packet_id)] == [
        "submitted",
        "made-available",
        "retrieved",
    ]


def test_an_inbox_refusal_is_evidence_with_its_reason(hub: Hub) -> None:
    result = accept(hub, WARD, (DISTRICT,))
    (copy,) = result.deliveries
    settle(hub, copy.delivery_id, DeliveryState.AVAILABLE)

    with hub.database.transaction() as session:
        acknowledge(session, DISTRICT, copy.delivery_id, "fail", "không đúng thẩm quyền")

    refused = statements(hub, result.packet_id)[-1]
    assert (refused["kind"], refused["reason"]) == ("refused", "không đúng thẩm quyền")


def test_a_repeated_acknowledgement_leaves_no_second_record(hub: Hub) -> None:
    result = accept(hub, WARD, (DISTRICT,))
    (copy,) = result.deliveries
    settle(hub, copy.delivery_id, DeliveryState.AVAILABLE)

    for _ in range(2):
        with hub.database.transaction() as session:
            acknowledge(session, DISTRICT, copy.delivery_id, "done")

    assert [s["kind"] for s in statements(hub, result.packet_id)].count("retrieved") == 1


def test_a_copy_handed_to_the_national_axis_is_relayed_with_the_axis_id(hub: Hub) -> None:
    result = accept(hub, WARD, (MINISTRY,))
    (copy,) = result.deliveries

    settle(hub, copy.delivery_id, DeliveryState.DELIVERED, external_ref="vxp-7781")

    relayed = statements(hub, result.packet_id)[-1]
    assert (relayed["kind"], relayed["channel"], relayed["peer_ref"]) == (
        "relayed",
        "axis",
        "vxp-7781",
    )


def test_a_retry_leaves_no_evidence(hub: Hub) -> None:
    result = accept(hub, WARD, (CITY,))
    (copy,) = result.deliveries

    settle(hub, copy.delivery_id, DeliveryState.RETRYING)

    assert [row.kind for row in records(hub, result.packet_id)] == ["submitted"]


def test_a_parked_copy_and_its_replay_are_evidence(hub: Hub) -> None:
    result = accept(hub, WARD, (DEPARTMENT,))
    (copy,) = result.deliveries
    settle(hub, copy.delivery_id, DeliveryState.PARKED, error="HTTP 410: the endpoint is gone")

    with hub.database.transaction() as session:
        report = replay(
            session,
            ReplayFilter(state="parked", delivery_ids=(copy.delivery_id,)),
            actor="operator:lan",
            reason="sở đã sửa máy chủ",
        )

    parked, requeued = statements(hub, result.packet_id)[-2:]
    assert (parked["kind"], parked["error"]) == ("parked", "HTTP 410: the endpoint is gone")
    assert (requeued["kind"], requeued["actor"], requeued["audit_entry"]) == (
        "requeued",
        "operator:lan",
        report.audit_entry_id,
    )


def test_every_record_names_the_packet_by_its_sha256(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT, CITY))
    result = hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))
    settle(hub, result.deliveries[1].delivery_id, DeliveryState.DELIVERED)

    digests = {s["sha256"] for s in statements(hub, result.packet_id)}

    assert digests == {hashlib.sha256(raw).hexdigest()}
