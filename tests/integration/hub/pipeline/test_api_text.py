"""Text no database can hold (a NUL character, a lone surrogate) is refused at the door, 4xx
with a stable code, on every parameter that would otherwise reach a query."""

from __future__ import annotations

import pytest

from hub.db.models import DeliveryState

from . import packets
from .conftest import ApiClient, Hub
from .packets import DISTRICT, WARD

pytestmark = pytest.mark.integration


def code_of(response: object) -> tuple[int, str]:
    status = response.status_code  # type: ignore[attr-defined]
    return status, response.json()["error"]["code"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/packets/P%00",
        "/api/v1/packets/P%00/evidence",
        "/api/v1/inbox/D%00",
        "/api/v1/documents/000.21.22.H26,2026%00/timeline",
    ],
)
def test_a_nul_in_an_id_of_the_path_is_refused_422(client: ApiClient, hub: Hub, path: str) -> None:
    response = client.get(path, headers=hub.auth(DISTRICT))

    assert code_of(response) == (422, "request.bad-character")


def test_a_nul_in_the_timeline_s_sender_is_refused_422(client: ApiClient, hub: Hub) -> None:
    response = client.get(
        "/api/v1/documents/X/timeline", params={"sender": "A\x00"}, headers=hub.auth(DISTRICT)
    )

    assert code_of(response) == (422, "request.bad-character")
    assert response.json()["error"]["parameter"] == "sender"


def test_a_nul_in_the_delivery_id_of_an_acknowledgement_is_refused_422(
    client: ApiClient, hub: Hub
) -> None:
    response = client.post(
        "/api/v1/inbox/D%00/ack", json={"result": "done"}, headers=hub.auth(DISTRICT)
    )

    assert code_of(response) == (422, "request.bad-character")


def test_a_nul_in_an_acknowledgement_s_reason_is_refused_422(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT,))
    accepted = client.post("/api/v1/packets", content=raw, headers=hub.auth(WARD)).json()
    delivery_id = accepted["deliveries"][0]["delivery_id"]
    hub.set_state(delivery_id, DeliveryState.AVAILABLE)

    response = client.post(
        f"/api/v1/inbox/{delivery_id}/ack",
        json={"result": "fail", "reason": "hỏng\x00"},
        headers=hub.auth(DISTRICT),
    )

    assert code_of(response) == (422, "request.invalid")
    assert "NUL" in response.json()["error"]["message"]


def test_a_lone_surrogate_among_the_delivery_ids_of_a_replay_is_refused_422(
    client: ApiClient, hub: Hub
) -> None:
    response = client.post(
        "/api/v1/replays",
        content=b'{"state": "parked", "delivery_ids": ["\\ud800"], "dry_run": true}',
        headers={**hub.operator_auth(), "Content-Type": "application/json"},
    )

    assert code_of(response) == (422, "request.invalid")
    assert "surrogate" in response.json()["error"]["message"]


def test_a_lone_surrogate_as_a_field_name_is_echoed_in_the_refusal_not_a_crash(
    client: ApiClient, hub: Hub
) -> None:
    response = client.post(
        "/api/v1/replays",
        content=b'{"state": "parked", "\\udc80": 1}',
        headers={**hub.operator_auth(), "Content-Type": "application/json"},
    )

    assert code_of(response) == (422, "request.invalid")


def test_a_nul_in_the_replay_s_recipient_is_refused_422(client: ApiClient, hub: Hub) -> None:
    response = client.post(
        "/api/v1/replays",
        json={"state": "parked", "recipient": "000\x00", "dry_run": True},
        headers=hub.operator_auth(),
    )

    assert code_of(response) == (422, "request.invalid")
