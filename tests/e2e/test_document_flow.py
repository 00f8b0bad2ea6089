"""A document travels from a commune to its district, the city and a department, and their
statuses travel back; packets reach every recipient once, byte for byte."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Any

import pytest

from edxml import FileToAttach
from simulators.agencies import SentDocument, document_packet

from .city import (
    CITY,
    COMMUNE,
    COMMUNE_WEBHOOK,
    DEPT_FINANCE,
    DEPT_HOME,
    DEPT_IT,
    DISTRICT,
)
from .observe import has_statuses, kept, packet_settled, settled_timeline, statuses_about
from .system import System

pytestmark = pytest.mark.e2e

RECIPIENTS = {DISTRICT: "inbox", CITY: "webhook", DEPT_HOME: "webhook"}


@pytest.fixture(scope="module")
def journey(system: System) -> tuple[SentDocument, dict[str, Any]]:
    """The commune's document, once every recipient has answered 03 and it all settled."""
    commune = system.agency(COMMUNE)
    sent = commune.send_document(list(RECIPIENTS), subject="Về việc báo cáo chuyển đổi số")
    document_id = sent.packet.document_id
    system.eventually(
        lambda: has_statuses(commune, document_id, {(code, "03") for code in RECIPIENTS}),
        "the commune received status 03 from each recipient",
    )
    timeline = system.eventually(
        lambda: settled_timeline(
            commune.client, document_id, {code: {"status": "03"} for code in RECIPIENTS}
        ),
        "the timeline shows every delivery delivered and every recipient at 03",
    )
    return sent, timeline


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_commune_document_reaches_its_district_the_city_and_a_department(
    system: System, journey: tuple[SentDocument, dict[str, Any]]
) -> None:
    sent, _ = journey

    channels = {item.recipient: item.channel for item in sent.accepted.deliveries}
    taken = {
        code: [
            (r.channel, r.delivery_id) for r in kept(system.agency(code), sent.accepted.packet_id)
        ]
        for code in RECIPIENTS
    }

    assert channels == RECIPIENTS
    assert taken == {
        code: [(channel, sent.accepted.delivery_to(code).delivery_id)]
        for code, channel in RECIPIENTS.items()
    }


def test_each_recipient_s_status_03_comes_back_to_the_commune(
    system: System, journey: tuple[SentDocument, dict[str, Any]]
) -> None:
    sent, _ = journey

    statuses = statuses_about(system.agency(COMMUNE), sent.packet.document_id)

    assert {(reporter, code) for reporter, code, _ in statuses} >= {
        (code, "03") for code in RECIPIENTS
    }
    assert {received.channel for _, _, received in statuses} == {"inbox"}


def test_the_timeline_shows_each_recipient_s_transport_steps_and_statuses_in_order(
    journey: tuple[SentDocument, dict[str, Any]],
) -> None:
    sent, timeline = journey
    document, *status_packets = timeline["packets"]
    posted = _moment(document["received_at"])

    assert (timeline["sender"], timeline["document_id"]) == (COMMUNE, sent.packet.document_id)
    assert document["packet_id"] == sent.accepted.packet_id
    assert {packet["kind"] for packet in status_packets} == {"status"}
    arrivals = [_moment(packet["received_at"]) for packet in timeline["packets"]]
    assert arrivals == sorted(arrivals)

    for delivery in document["deliveries"]:
        steps = delivery["attempt_log"]
        assert delivery["channel"] == RECIPIENTS[delivery["recipient"]]
        assert delivery["state"] == "delivered"
        assert steps, f"no attempt recorded for {delivery['recipient']}"
        assert posted <= _moment(steps[0]["started_at"]) <= _moment(steps[-1]["finished_at"])
        assert _moment(steps[-1]["started_at"]) <= _moment(delivery["delivered_at"])
        if delivery["channel"] == "inbox":
            assert steps[-1]["outcome"] == "available"
            assert delivery["ack_result"] == "done"
        else:
            assert (steps[-1]["outcome"], steps[-1]["http_status"]) == ("delivered", 200)

    for row in timeline["recipients"]:
        assert row["status"] == "03"
        assert posted <= _moment(row["status_at"])
    for code in RECIPIENTS:
        events = [e for e in timeline["statuses"] if e["reporter"] == code]
        assert [(e["status_code"], e["effect"]) for e in events] == [
            ("01", "advanced"),
            ("03", "advanced"),
        ]
        received = [_moment(e["received_at"]) for e in events]
        assert posted <= received[0] <= received[1]
        assert all(e["reported_at"] and e["document_known"] for e in events)


def test_five_recipients_on_mixed_channels_each_get_the_document_exactly_once(
    system: System,
) -> None:
    recipients = {
        CITY: "webhook",
        DEPT_FINANCE: "webhook",
        DISTRICT: "inbox",
        COMMUNE: "inbox",
        COMMUNE_WEBHOOK: "webhook",
    }
    sent = system.agency(DEPT_IT).send_document(list(recipients))
    packet_id = sent.accepted.packet_id

    view = system.eventually(
        lambda: packet_settled(system.operator, packet_id), "all five deliveries delivered"
    )

    assert {d["recipient"]: d["channel"] for d in view["deliveries"]} == recipients
    assert len({d["delivery_id"] for d in view["deliveries"]}) == len(recipients)
    assert {d["attempts"] for d in view["deliveries"]} == {1}
    for delivery in view["deliveries"]:
        agency = system.agency(delivery["recipient"])
        assert [r.delivery_id for r in kept(agency, packet_id)] == [delivery["delivery_id"]]
        assert agency.offers(delivery["delivery_id"]) == 1
    outsiders = set(system.agencies) - set(recipients)
    assert all(not kept(system.agency(code), packet_id) for code in outsiders)


def _unusual_bytes(system: System, recipient: str) -> bytes:
    """A document laid out as no serialiser would write it: CRLF line ends, a comment,
    and a binary attachment, so any re-serialisation on the way would show."""
    agency = system.agency(DEPT_IT)
    _, data = document_packet(
        DEPT_IT,
        [recipient],
        number=agency.next_number(),
        files=[FileToAttach(os.urandom(48_000), name="phu-luc.bin")],
    )
    declaration, rest = data.split(b"\n", 1)
    return (
        declaration
        + b"\r\n<!-- b\xe1\xba\xa3n g\xe1\xbb\x91c -->\r\n"
        + rest.replace(b"\n", b"\r\n")
    )


@pytest.mark.parametrize(
    ("recipient", "channel"), [(DISTRICT, "inbox"), (CITY, "webhook")], ids=["inbox", "webhook"]
)
def test_the_recipient_gets_the_bytes_exactly_as_posted(
    system: System, recipient: str, channel: str
) -> None:
    data = _unusual_bytes(system, recipient)
    accepted = system.agency(DEPT_IT).send(data)
    agency = system.agency(recipient)

    (received,) = system.eventually(
        lambda: kept(agency, accepted.packet_id), f"{recipient} kept the packet"
    )

    assert received.channel == channel
    assert received.sha256 == hashlib.sha256(data).hexdigest()
    assert received.body == data


def test_posting_the_same_bytes_again_answers_the_first_answer_and_delivers_nothing_twice(
    system: System,
) -> None:
    sender = system.agency(DEPT_IT)
    first = sender.send_document([CITY, DISTRICT])
    view = system.eventually(
        lambda: packet_settled(system.operator, first.accepted.packet_id), "delivered once"
    )

    again = sender.send(first.data)
    settled_again = system.operator.packet(first.accepted.packet_id)

    assert (first.accepted.created, again.created) == (True, False)
    assert again.packet_id == first.accepted.packet_id
    assert [d.delivery_id for d in again.deliveries] == [
        d.delivery_id for d in first.accepted.deliveries
    ]
    assert settled_again == view
    for code in (CITY, DISTRICT):
        (received,) = kept(system.agency(code), first.accepted.packet_id)
        assert system.agency(code).offers(received.delivery_id) == 1
