"""POST /api/v1/packets: answers, error bodies, authentication, size limits."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hub.auth.tokens import revoke_token
from hub.db.models import AgencyToken
from tests.unit.packets import edit

from ..conftest import snapshot
from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DEPARTMENT, DISTRICT, WARD

pytestmark = pytest.mark.integration

PACKETS = "/api/v1/packets"
XML = {"Content-Type": "application/xml"}


def post(client: ApiClient, hub: Hub, raw: bytes, code: str = WARD) -> tuple[int, dict]:
    response = client.post(PACKETS, content=raw, headers={**XML, **hub.auth(code)})
    return response.status_code, response.json()


def test_accepted_packet_answers_202_with_its_tracking_ids(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT, CITY, DEPARTMENT))

    status, body = post(client, hub, raw)

    assert status == 202
    assert (body["kind"], body["document_id"]) == ("edoc", document.document_id)
    assert [d["recipient"] for d in body["deliveries"]] == [DISTRICT, CITY, DEPARTMENT]
    assert {d["state"] for d in body["deliveries"]} == {"queued"}


def test_identical_repost_answers_200_with_the_same_body(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()
    _, first = post(client, hub, raw)

    status, again = post(client, hub, raw)

    assert (status, again) == (200, first)


def test_conflicting_document_answers_409_naming_the_first_packet(
    client: ApiClient, hub: Hub
) -> None:
    document, raw = packets.document()
    _, first = post(client, hub, raw)
    _, other = packets.document(document_id=document.document_id, subject="Bản khác")

    status, body = post(client, hub, other)

    assert status == 409
    assert body["error"]["code"] == "packet.duplicate-document"
    assert body["error"]["packet_id"] == first["packet_id"]
    assert body["error"]["document_id"] == document.document_id
    assert first["packet_id"] in body["error"]["message"]


def test_packet_of_another_sender_answers_403(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document(WARD)

    status, body = post(client, hub, raw, code=CITY)

    assert status == 403
    assert body["error"]["code"] == "packet.sender-mismatch"
    assert body["error"]["element"] == "From/OrganId"


def test_unknown_recipient_answers_422_naming_the_codes(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT, "000.00.00.H99"))

    status, body = post(client, hub, raw)

    assert status == 422
    assert body["error"]["code"] == "packet.unknown-recipient"
    assert body["error"]["codes"] == ["000.00.00.H99"]
    assert "000.00.00.H99" in body["error"]["message"]


def test_malformed_xml_answers_400_with_the_line(client: ApiClient, hub: Hub) -> None:
    status, body = post(client, hub, b"<?xml version='1.0'?>\n<edXML>\n<unclosed>\n</edXML>")

    assert status == 400
    assert body["error"]["code"] == "xml.malformed"
    assert body["error"]["line"] == 4


def test_hostile_xml_with_a_doctype_answers_400(client: ApiClient, hub: Hub) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edXML>&a;</edXML>'

    status, body = post(client, hub, hostile)

    assert status == 400
    assert body["error"]["code"] == "xml.dtd-forbidden"


def test_packet_breaking_a_rule_answers_400_with_every_issue(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()
    broken = edit(raw, f"<edXML:OrganId>{WARD}</edXML:OrganId>", "")

    status, body = post(client, hub, broken)

    assert status == 400
    assert body["error"]["code"] == "packet.missing-element"
    assert body["error"]["element"] == "From/OrganId"
    assert isinstance(body["error"]["line"], int)
    assert len(body["error"]["issues"]) >= 1


def test_oversize_packet_announced_by_its_length_answers_413(client: ApiClient, hub: Hub) -> None:
    small = hub.with_settings(max_packet_bytes=1000)
    _, raw = packets.document()

    with ApiClient(small.app) as small_client:
        response = small_client.post(PACKETS, content=raw, headers=hub.auth(WARD))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "packet.too-large"


def test_missing_token_answers_401_with_a_bearer_challenge(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()

    response = client.post(PACKETS, content=raw)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "auth.missing"


def test_unknown_token_answers_401(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()

    response = client.post(PACKETS, content=raw, headers={"Authorization": "Bearer lt_nope"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_revoked_token_answers_401(client: ApiClient, hub: Hub) -> None:
    headers = hub.auth(WARD)
    with hub.database.transaction() as session:
        token_id = session.scalars(
            select(AgencyToken.id).where(AgencyToken.agency_code == WARD)
        ).one()
        revoke_token(session, WARD, token_id)
    _, raw = packets.document()

    response = client.post(PACKETS, content=raw, headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (401, "token.revoked")


def test_another_agencys_token_replaying_a_packet_disturbs_nothing(
    client: ApiClient, hub: Hub
) -> None:
    _, raw = packets.document()
    post(client, hub, raw)
    client.get("/api/v1/inbox", headers=hub.auth(CITY))
    before = snapshot(hub.database.engine)

    status, body = post(client, hub, raw, code=CITY)

    assert (status, body["error"]["code"]) == (403, "packet.sender-mismatch")
    assert snapshot(hub.database.engine) == before


def test_operator_token_cannot_post_packets(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()

    response = client.post(PACKETS, content=raw, headers=hub.operator_auth())

    assert (response.status_code, response.json()["error"]["code"]) == (403, "auth.agency-only")


def test_openapi_document_lists_the_agency_api(client: ApiClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert {
        "/api/v1/packets",
        "/api/v1/inbox",
        "/api/v1/inbox/{delivery_id}",
        "/api/v1/inbox/{delivery_id}/ack",
        "/api/v1/packets/{packet_id}",
        "/api/v1/documents/{document_id}/timeline",
        "/api/v1/replays",
    } <= set(paths)


def test_a_token_revoked_after_use_stops_working_once_its_cache_time_is_over(hub: Hub) -> None:
    quick = hub.with_settings(token_cache_seconds=0.5)
    headers = quick.auth(WARD)
    with ApiClient(quick.app) as client:
        assert client.get("/api/v1/inbox", headers=headers).status_code == 200
        with quick.database.transaction() as session:
            token_id = session.scalars(
                select(AgencyToken.id).where(AgencyToken.agency_code == WARD)
            ).one()
            revoke_token(session, WARD, token_id)
        time.sleep(0.6)

        refused = client.get("/api/v1/inbox", headers=headers)

    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token.revoked")
