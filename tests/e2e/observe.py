"""What the tests read back: statuses an agency received, and when a document has settled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edxml import StatusPacket
from simulators.agencies import Agency, HubClient, Received


def statuses_about(agency: Agency, document_id: str) -> list[tuple[str, str, Received]]:
    """(reporter, status code, delivery) of every status about ``document_id`` the agency got."""
    found = []
    for received in agency.received:
        if received.kind != "status":
            continue
        packet = received.packet()
        if isinstance(packet, StatusPacket) and packet.document_id == document_id:
            found.append((packet.sender, packet.header.status_code, received))
    return found


def has_statuses(agency: Agency, document_id: str, expected: set[tuple[str, str]]) -> bool:
    """Whether the agency got every (reporter, code) of ``expected`` about the document."""
    got = {(reporter, code) for reporter, code, _ in statuses_about(agency, document_id)}
    return expected <= got


def kept(agency: Agency, packet_id: str) -> list[Received]:
    """The deliveries of packet ``packet_id`` the agency kept."""
    return [received for received in agency.received if received.packet_id == packet_id]


def settled_timeline(
    reader: HubClient, document_id: str, states: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The timeline once every delivery of it is delivered and each recipient's business
    state holds the fields of ``states``; None before that."""
    timeline = reader.timeline(document_id)
    recipients = {row["recipient"]: row for row in timeline["recipients"]}
    for code, fields in states.items():
        row = recipients.get(code)
        if row is None or any(row.get(name) != value for name, value in fields.items()):
            return None
    deliveries = [d for packet in timeline["packets"] for d in packet["deliveries"]]
    if any(delivery["state"] != "delivered" for delivery in deliveries):
        return None
    return timeline


def packet_settled(reader: HubClient, packet_id: str) -> dict[str, Any] | None:
    """The packet view once every one of its deliveries is delivered; None before that."""
    view = reader.packet(packet_id)
    if all(delivery["state"] == "delivered" for delivery in view["deliveries"]):
        return view
    return None
