"""The pull inbox over HTTP: list, fetch byte-identical, acknowledge once."""

from __future__ import annotations

import pytest

from hub.db.models import DeliveryState

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DISTRICT, OTHER_WARD, WARD

pytestmark = pytest.mark.integration

INBOX = "/api/v1/inbox"


def send(client: ApiClient, hub: Hub, raw: bytes, sender: str = WARD) -> dict[str, str]:
    """Post a packet and make each delivery available, as a worker would; delivery ids."""
    response = client.post("/api/v1/packets", content=raw, headers=hub.auth(sender))
    assert response.status_code == 202, response.text
    ids = {d["recipient"]: d["delivery_id"] for d in response.json()["deliveries"]}
    for delivery_id in ids.values():
        hub.set_state(delivery_id, DeliveryState.AVAILABLE)
    return ids


def test_inbox_lists_available_deliveries_oldest_first(client: ApiClient, hub: Hub) -> None:
    first = send(client, hub, packets.document(WARD, (DISTRICT,))[1])
    second = send(client, hub, packets.document(OTHER_WARD, (DISTRICT,))[1], OTHER_WARD)

    items = client.get(INBOX, headers=hub.auth(DISTRICT)).json()

    assert [item["delivery_id"] for item in items] == [first[DISTRICT], second[DISTRICT]]
    assert [item["sender"] for item in items] == [WARD, OTHER_WARD]


def test_inbox_leaves_out_deliveries_not_yet_available(client: ApiClient, hub: Hub) -> None:
    response = client.post("/api/v1/packets", content=packets.document()[1], headers=hub.auth(WARD))
    assert response.status_code == 202

    assert client.get(INBOX, headers=hub.auth(DISTRICT)).json() == []


def test_inbox_filters_by_kind(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    send(client, hub, raw)
    status = send(client, hub, packets.status(document, "03", DISTRICT), DISTRICT)

    items = client.get(INBOX, params={"kind": "status"}, headers=hub.auth(WARD)).json()

    assert [(item["delivery_id"], item["kind"]) for item in items] == [(status[WARD], "status")]


def test_inbox_limit_caps_the_list(client: ApiClient, hub: Hub) -> None:
    for sender in (WARD, OTHER_WARD):
        send(client, hub, packets.document(sender, (DISTRICT,))[1], sender)

    items = client.get(INBOX, params={"limit": 1}, headers=hub.auth(DISTRICT)).json()

    assert len(items) == 1


def test_fetched_packet_is_byte_identical_to_what_was_posted(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()
    ids = send(client, hub, raw)

    response = client.get(f"{INBOX}/{ids[DISTRICT]}", headers=hub.auth(DISTRICT))

    assert response.status_code == 200
    assert response.content == raw
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["X-Lienthong-Delivery-Id"] == ids[DISTRICT]
    assert response.headers["X-Lienthong-Sender"] == WARD


def test_only_the_recipient_can_fetch_a_delivery(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])

    response = client.get(f"{INBOX}/{ids[DISTRICT]}", headers=hub.auth(CITY))

    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "delivery.not_found",
    )


def test_delivery_not_yet_available_cannot_be_fetched(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])
    hub.set_state(ids[DISTRICT], DeliveryState.RETRYING)

    response = client.get(f"{INBOX}/{ids[DISTRICT]}", headers=hub.auth(DISTRICT))

    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "delivery.not-available",
    )


def ack(client: ApiClient, hub: Hub, delivery_id: str, result: str, reason: str | None = None):
    return client.post(
        f"{INBOX}/{delivery_id}/ack",
        json={"result": result, "reason": reason},
        headers=hub.auth(DISTRICT),
    )


def test_ack_done_marks_the_delivery_delivered(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])

    response = ack(client, hub, ids[DISTRICT], "done")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["result"]) == ("delivered", "done")
    assert client.get(INBOX, headers=hub.auth(DISTRICT)).json() == []


def test_ack_fail_marks_the_delivery_refused_with_the_reason(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])

    body = ack(client, hub, ids[DISTRICT], "fail", "sai đơn vị nhận").json()

    assert (body["state"], body["reason"]) == ("refused", "sai đơn vị nhận")


def test_same_ack_again_answers_the_same_result(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])
    first = ack(client, hub, ids[DISTRICT], "done").json()

    again = ack(client, hub, ids[DISTRICT], "done")

    assert (again.status_code, again.json()) == (200, first)


def test_contradicting_ack_answers_409(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])
    ack(client, hub, ids[DISTRICT], "done")

    response = ack(client, hub, ids[DISTRICT], "fail")

    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "delivery.already-acknowledged",
    )


def test_ack_of_a_delivery_not_available_answers_409(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])
    hub.set_state(ids[DISTRICT], DeliveryState.QUEUED)

    response = ack(client, hub, ids[DISTRICT], "done")

    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "delivery.not-available",
    )


def test_ack_of_another_agencys_delivery_answers_404(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])

    response = client.post(
        f"{INBOX}/{ids[CITY]}/ack", json={"result": "done"}, headers=hub.auth(DISTRICT)
    )

    assert response.status_code == 404


def test_ack_with_an_unknown_result_answers_422(client: ApiClient, hub: Hub) -> None:
    ids = send(client, hub, packets.document()[1])

    response = ack(client, hub, ids[DISTRICT], "maybe")

    assert (response.status_code, response.json()["error"]["code"]) == (422, "request.invalid")


def test_acknowledged_packet_can_still_be_fetched(client: ApiClient, hub: Hub) -> None:
    _, raw = packets.document()
    ids = send(client, hub, raw)
    ack(client, hub, ids[DISTRICT], "done")

    response = client.get(f"{INBOX}/{ids[DISTRICT]}", headers=hub.auth(DISTRICT))

    assert response.content == raw
