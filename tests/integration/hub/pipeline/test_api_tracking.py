"""Following packets and documents over HTTP: parties see them, nobody else does."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from hub.db.base import utcnow
from hub.db.models import DeliveryAttempt

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DEPARTMENT, DISTRICT, OTHER_WARD, WARD

pytestmark = pytest.mark.integration


def post(client: ApiClient, hub: Hub, raw: bytes, code: str = WARD) -> dict:
    response = client.post("/api/v1/packets", content=raw, headers=hub.auth(code))
    assert response.status_code == 202, response.text
    return dict(response.json())


def timeline_url(document_id: str) -> str:
    return f"/api/v1/documents/{quote(document_id, safe='')}/timeline"


def test_packet_is_visible_to_its_sender_and_recipients(client: ApiClient, hub: Hub) -> None:
    accepted = post(client, hub, packets.document(WARD, (DISTRICT, CITY))[1])
    url = f"/api/v1/packets/{accepted['packet_id']}"

    codes = [client.get(url, headers=hub.auth(code)).status_code for code in (WARD, DISTRICT)]

    assert codes == [200, 200]


def test_packet_is_not_found_for_anyone_else(client: ApiClient, hub: Hub) -> None:
    accepted = post(client, hub, packets.document(WARD, (DISTRICT,))[1])

    response = client.get(f"/api/v1/packets/{accepted['packet_id']}", headers=hub.auth(CITY))

    assert (response.status_code, response.json()["error"]["code"]) == (404, "packet.not_found")


def test_operator_sees_any_packet(client: ApiClient, hub: Hub) -> None:
    accepted = post(client, hub, packets.document(WARD, (DISTRICT,))[1])

    response = client.get(f"/api/v1/packets/{accepted['packet_id']}", headers=hub.operator_auth())

    assert response.json()["deliveries"][0]["recipient"] == DISTRICT


def test_timeline_is_found_by_its_url_encoded_document_id(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY, DEPARTMENT))
    post(client, hub, raw)

    response = client.get(timeline_url(document.document_id), headers=hub.auth(WARD))

    assert response.status_code == 200
    body = response.json()
    assert (body["document_id"], body["sender"]) == (document.document_id, WARD)
    assert [d["recipient"] for d in body["packets"][0]["deliveries"]] == [
        DISTRICT,
        CITY,
        DEPARTMENT,
    ]


def test_timeline_is_visible_to_every_recipient(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    post(client, hub, raw)

    codes = [
        client.get(timeline_url(document.document_id), headers=hub.auth(code)).status_code
        for code in (DISTRICT, CITY)
    ]

    assert codes == [200, 200]


def test_timeline_is_not_found_for_anyone_else(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    post(client, hub, raw)

    response = client.get(timeline_url(document.document_id), headers=hub.auth(DEPARTMENT))

    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "document.not_found",
    )


def test_stranger_reporting_a_status_is_refused_and_gains_no_sight_of_the_timeline(
    client: ApiClient, hub: Hub
) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    post(client, hub, raw)
    refused = client.post(
        "/api/v1/packets",
        content=packets.status(document, "03", DEPARTMENT),
        headers=hub.auth(DEPARTMENT),
    )

    response = client.get(timeline_url(document.document_id), headers=hub.auth(DEPARTMENT))

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "status.not-a-party")
    assert response.status_code == 404


def test_timeline_shows_transport_attempts_and_business_history(
    client: ApiClient, hub: Hub
) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY))
    accepted = post(client, hub, raw)
    city_delivery = accepted["deliveries"][1]["delivery_id"]
    with hub.database.transaction() as session:
        session.add(
            DeliveryAttempt(
                delivery_id=city_delivery,
                number=1,
                started_at=utcnow(),
                outcome="transient",
                error="connection refused",
            )
        )
    post(client, hub, packets.status(document, "01", DISTRICT), DISTRICT)
    post(client, hub, packets.status(document, "03", DISTRICT, minute=1), DISTRICT)

    body = client.get(timeline_url(document.document_id), headers=hub.auth(WARD)).json()

    city = body["packets"][0]["deliveries"][1]
    assert [(a["number"], a["outcome"], a["error"]) for a in city["attempt_log"]] == [
        (1, "transient", "connection refused")
    ]
    assert [s["status_code"] for s in body["statuses"]] == ["01", "03"]
    assert {r["recipient"]: r["status"] for r in body["recipients"]} == {
        DISTRICT: "03",
        CITY: None,
    }
    assert [p["kind"] for p in body["packets"]] == ["edoc", "status", "status"]


def test_document_id_shared_by_two_senders_needs_the_sender_named(
    client: ApiClient, hub: Hub
) -> None:
    # A DocumentId naming no issuer (a UUID, as some systems number documents) is free to
    # share; one naming its issuer is that issuer's alone (test_ingest.py).
    shared = "3f6c2a4e-8a1b-4c5d-9e7f-0a1b2c3d4e5f"
    document, raw = packets.document(WARD, (DISTRICT,), document_id=shared)
    post(client, hub, raw)
    post(
        client,
        hub,
        packets.document(OTHER_WARD, (DISTRICT,), document_id=shared)[1],
        OTHER_WARD,
    )

    ambiguous = client.get(timeline_url(document.document_id), headers=hub.auth(DISTRICT))
    named = client.get(
        timeline_url(document.document_id), params={"sender": WARD}, headers=hub.auth(DISTRICT)
    )

    assert (ambiguous.status_code, ambiguous.json()["error"]["senders"]) == (
        409,
        [WARD, OTHER_WARD],
    )
    assert (named.status_code, named.json()["sender"]) == (200, WARD)


def test_timeline_also_answers_an_unencoded_document_id(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    post(client, hub, raw)

    response = client.get(
        f"/api/v1/documents/{document.document_id}/timeline", headers=hub.auth(WARD)
    )

    assert response.json()["document_id"] == document.document_id
