"""A delivery parked by a webhook's 404 is replayed by an operator once the receiver is
fixed: it arrives with the same delivery id, and the audit log verifies and shows the replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from simulators.agencies import Reply

from .city import COMMUNE, COMMUNE_WEBHOOK
from .observe import kept, packet_settled
from .system import OPERATOR, System

pytestmark = pytest.mark.e2e

REASON = "Xã Tân Phú đã sửa địa chỉ nhận văn bản"


@dataclass(frozen=True)
class Replayed:
    """The parked delivery, before and after the operator replayed it."""

    packet_id: str
    delivery_id: str
    parked: dict[str, Any]
    report: dict[str, Any]
    delivered: dict[str, Any]


@pytest.fixture(scope="module")
def replayed(system: System) -> Replayed:
    endpoint = system.endpoints[COMMUNE_WEBHOOK]
    endpoint.reply = Reply(404, b'{"error": "no route /edxml on this server"}')
    sent = system.agency(COMMUNE).send_document([COMMUNE_WEBHOOK])
    packet_id = sent.accepted.packet_id
    delivery_id = sent.accepted.delivery_to(COMMUNE_WEBHOOK).delivery_id

    def delivery(state: str) -> dict[str, Any] | None:
        (found,) = system.operator.packet(packet_id)["deliveries"]
        return found if found["state"] == state else None

    parked = system.eventually(lambda: delivery("parked"), "the delivery is parked")
    endpoint.reply = Reply()
    report = system.operator.replay(state="parked", delivery_ids=[delivery_id], reason=REASON)
    system.eventually(lambda: packet_settled(system.operator, packet_id), "replayed and delivered")
    (delivered,) = system.operator.packet(packet_id)["deliveries"]
    return Replayed(packet_id, delivery_id, parked, report, delivered)


def test_a_webhook_answering_404_parks_the_delivery_with_its_answer(replayed: Replayed) -> None:
    parked = replayed.parked

    assert (parked["delivery_id"], parked["attempts"]) == (replayed.delivery_id, 1)
    assert "404" in parked["last_error"]
    assert "no route /edxml on this server" in parked["last_error"]
    assert [step["http_status"] for step in parked["attempt_log"]] == [404]


def test_an_operator_replay_delivers_it_with_the_same_delivery_id(
    system: System, replayed: Replayed
) -> None:
    requests = [
        request
        for request in system.endpoints[COMMUNE_WEBHOOK].requests
        if request.headers.get("x-lienthong-packet-id") == replayed.packet_id
    ]

    assert [item["delivery_id"] for item in replayed.report["deliveries"]] == [replayed.delivery_id]
    assert replayed.report["audit_entry_id"] is not None
    assert [
        (r.headers["x-lienthong-delivery-id"], r.headers["x-lienthong-attempt"], r.status)
        for r in requests
    ] == [(replayed.delivery_id, "1", 404), (replayed.delivery_id, "2", 200)]
    (received,) = kept(system.agency(COMMUNE_WEBHOOK), replayed.packet_id)
    assert received.delivery_id == replayed.delivery_id
    assert (replayed.delivered["state"], replayed.delivered["attempts"]) == ("delivered", 2)


def test_audit_verify_passes_and_the_audit_list_shows_the_replay(
    system: System, replayed: Replayed
) -> None:
    verified = system.hub.lienthong("audit", "verify")
    listed = system.hub.lienthong("audit", "list")

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit log intact")
    (entry,) = [
        line.split("\t")
        for line in listed.stdout.splitlines()
        if line.startswith(f"{replayed.report['audit_entry_id']}\t")
    ]
    assert entry[2:4] == [f"operator:{OPERATOR}", "deliveries.replayed"]
    assert entry[5] == REASON
