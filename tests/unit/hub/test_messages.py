"""The broker contract: the delivery message body and the headers of its round."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.errors import MalformedMessageError
from hub.transport.messages import DeliveryMessage, IncomingMessage, Round

QUEUED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_the_body_names_ids_and_the_blob_never_the_payload() -> None:
    message = DeliveryMessage(
        delivery_id="D", packet_id="P", recipient="000.00.12.H26", channel="webhook", blob="ab"
    )

    assert DeliveryMessage.decode(message.encode()) == message
    assert set(message.model_dump()) == {"delivery_id", "packet_id", "recipient", "channel", "blob"}


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"delivery_id": "D"}'])
def test_a_body_breaking_the_contract_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedMessageError, match="not a delivery message"):
        DeliveryMessage.decode(body)


def test_the_round_travels_in_the_headers() -> None:
    round_ = Round(attempt=5, first_attempt=4, queued_at=QUEUED)

    headers = round_.headers()

    assert headers["x-lienthong-attempt"] == 5
    assert Round.of(headers) == round_
    assert round_.number == 2
    assert round_.next() == Round(6, 4, QUEUED)


def test_a_message_from_the_relay_starts_its_round() -> None:
    headers = {"x-lienthong-attempt": 1, "x-lienthong-queued-at": QUEUED.isoformat()}

    assert Round.of(headers).number == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-lienthong-attempt": "x", "x-lienthong-queued-at": QUEUED.isoformat()},
        {"x-lienthong-attempt": 1, "x-lienthong-queued-at": "yesterday"},
        {"x-lienthong-attempt": 0, "x-lienthong-queued-at": QUEUED.isoformat()},
        {
            "x-lienthong-attempt": 2,
            "x-lienthong-first-attempt": 3,
            "x-lienthong-queued-at": QUEUED.isoformat(),
        },
    ],
)
def test_unreadable_round_headers_are_refused(headers: dict[str, object]) -> None:
    with pytest.raises(MalformedMessageError):
        Round.of(headers)


def test_the_broker_counts_how_often_a_message_was_handed_out() -> None:
    assert IncomingMessage(b"", 1).delivery_count == 0
    assert IncomingMessage(b"", 1, headers={"x-delivery-count": 3}).delivery_count == 3
