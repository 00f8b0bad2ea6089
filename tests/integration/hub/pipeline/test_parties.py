"""Only the parties to a document write into its story, and a DocumentId is its issuer's.

A status about a document the hub carries comes from a recipient to the sender, or from the
sender (13, take-back) to a recipient; the axis and peer hubs speak for outside parties. A
DocumentId's issuer part (before its first comma) names the sender, or an agency the caller
may send for.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.db.models import Packet, StatusEvent
from hub.errors import ForbiddenError

from . import packets
from .conftest import Hub
from .packets import CITY, DEPARTMENT, DISTRICT, DISTRICT_OFFICE, MINISTRY, WARD

pytestmark = pytest.mark.integration

AXIS = AuthenticatedAgency(code="national-axis", name="national axis")
OUTSIDE_MINISTRY = "000.00.00.G09"
"""A ministry the sample directory does not list: outside the city, reached by the axis."""


def accept(hub: Hub, raw: bytes, code: str) -> str:
    return hub.ingest.accept(raw, AuthenticatedAgency(code, code)).packet_id


def refusal(hub: Hub, raw: bytes, code: str, source: str = "api") -> str:
    caller = AXIS if source == "axis" else AuthenticatedAgency(code, code)
    with pytest.raises(ForbiddenError) as refused:
        hub.ingest.accept(raw, caller, source=source)  # type: ignore[arg-type]
    return refused.value.code


def statuses(hub: Hub) -> list[tuple[str, str]]:
    with hub.database.transaction() as session:
        rows = session.execute(select(StatusEvent.reporter_code, StatusEvent.status_code))
        return [(reporter, code) for reporter, code in rows]


def test_a_status_from_an_agency_no_party_to_the_document_is_refused(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    accept(hub, raw, WARD)

    code = refusal(hub, packets.status(document, "03", DEPARTMENT), DEPARTMENT)

    assert code == "status.not-a-party"
    assert statuses(hub) == []


def test_a_recipient_s_status_addressed_to_a_third_agency_is_refused(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    accept(hub, raw, WARD)
    readdressed = packets.status(document, "03", DISTRICT).replace(
        f"<edXML:OrganId>{WARD}</edXML:OrganId>".encode(),
        f"<edXML:OrganId>{CITY}</edXML:OrganId>".encode(),
    )

    assert refusal(hub, readdressed, DISTRICT) == "status.not-a-party"


def test_a_recipient_s_status_to_the_sender_is_accepted(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    accept(hub, raw, WARD)

    accept(hub, packets.status(document, "03", DISTRICT), DISTRICT)

    assert statuses(hub) == [(DISTRICT, "03")]


def test_the_sender_s_take_back_to_a_recipient_is_accepted(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    accept(hub, raw, WARD)

    accept(hub, packets.take_back(document, CITY), WARD)

    assert statuses(hub) == [(WARD, "13")]


def test_a_take_back_from_a_recipient_posing_as_the_sender_is_refused(hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    accept(hub, raw, WARD)
    posing = packets.take_back(document, CITY).replace(
        f"<edXML:OrganId>{WARD}</edXML:OrganId>".encode(),
        f"<edXML:OrganId>{DISTRICT}</edXML:OrganId>".encode(),
        1,
    )

    assert refusal(hub, posing, DISTRICT) == "status.not-a-party"


def test_a_status_about_a_document_the_hub_never_carried_is_still_kept(hub: Hub) -> None:
    document, _ = packets.document(WARD, (DISTRICT,))

    accept(hub, packets.status(document, "01", DISTRICT), DISTRICT)

    assert statuses(hub) == [(DISTRICT, "01")]


def test_the_axis_brings_an_outside_party_s_status_to_the_city_s_sender(hub: Hub) -> None:
    document, raw = packets.document(WARD, (MINISTRY,))
    accept(hub, raw, WARD)
    from_elsewhere = packets.status(document, "03", OUTSIDE_MINISTRY)

    hub.ingest.accept(from_elsewhere, AXIS, source="axis")

    assert statuses(hub) == [(OUTSIDE_MINISTRY, "03")]


def test_the_axis_cannot_address_a_status_to_a_city_agency_no_party_to_the_document(
    hub: Hub,
) -> None:
    document, raw = packets.document(WARD, (MINISTRY,))
    accept(hub, raw, WARD)
    readdressed = packets.status(document, "03", OUTSIDE_MINISTRY).replace(
        f"<edXML:OrganId>{WARD}</edXML:OrganId>".encode(),
        f"<edXML:OrganId>{CITY}</edXML:OrganId>".encode(),
    )

    assert refusal(hub, readdressed, OUTSIDE_MINISTRY, source="axis") == "status.not-a-party"


def test_a_document_numbered_as_another_agency_s_is_refused(hub: Hub) -> None:
    _, raw = packets.document(
        DEPARTMENT, (DISTRICT,), document_id=f"{CITY},2026/11/20,7816/UBND-TTĐT"
    )

    assert refusal(hub, raw, DEPARTMENT) == "packet.issuer-mismatch"


def test_a_document_numbered_as_an_agency_the_caller_may_send_for_is_accepted(
    hub: Hub,
) -> None:
    _, raw = packets.document(
        DISTRICT_OFFICE, (WARD,), document_id=f"{DISTRICT},2026/11/20,15/UBND-VP"
    )

    accept(hub, raw, DISTRICT_OFFICE)

    with hub.database.transaction() as session:
        assert session.scalars(select(Packet.sender_code)).all() == [DISTRICT_OFFICE]


def test_a_document_id_naming_no_issuer_is_accepted(hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT,), document_id="b2f0c3aa-41de-4f5e-a8a4-3c1d2e9f0b77")

    accept(hub, raw, WARD)


def test_the_axis_cannot_bring_a_document_numbered_as_a_city_agency_s(hub: Hub) -> None:
    _, raw = packets.document(OUTSIDE_MINISTRY, (WARD,), document_id=f"{CITY},2026/11/20,9/UBND-TH")

    assert refusal(hub, raw, OUTSIDE_MINISTRY, source="axis") == "packet.issuer-mismatch"


def test_the_axis_brings_a_document_numbered_by_another_outside_agency(hub: Hub) -> None:
    _, raw = packets.document(
        OUTSIDE_MINISTRY, (WARD,), document_id=f"{MINISTRY},2026/11/20,7816/VPCP-TTĐT"
    )

    result = hub.ingest.accept(raw, AXIS, source="axis")

    assert result.created
