"""The `hub` channel: this hub posting to a peer hub's agency API over real HTTP.

The hub under test plays the peer (it serves its API on a socket); the handler plays the
hub that sends. The peer knows the sending hub as an agency on the `hub` channel.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from adapters.http import make_http_client
from hub.auth.tokens import issue_token
from hub.channels import Channel
from hub.channels.base import DeliveryJob
from hub.channels.hub import PeerHubHandler
from hub.db.models import Agency, AgencyToken, Delivery, DeliveryState, Packet
from hub.errors import PermanentDeliveryError, TransientDeliveryError

from . import packets
from .conftest import Hub
from .packets import DISTRICT, WARD
from .test_api_socket import serve

pytestmark = pytest.mark.integration

SENDING_HUB = "000.00.00.H01"
"""The other city's hub, as the peer's directory knows it."""
OUTSIDE_SENDER = "000.00.05.H01"
OUTSIDE_RECIPIENT = "000.00.06.H01"


@pytest.fixture
def peer(hub: Hub) -> Iterator[tuple[str, str]]:
    """The peer hub's base URL and the token it issued to the sending hub."""
    with hub.database.transaction() as session:
        session.merge(
            Agency(
                code=SENDING_HUB,
                name="Hub of another city",
                level=1,
                channel=Channel.HUB,
                channel_settings={"url": "http://127.0.0.1:9/", "token": "unused"},
                active=True,
            )
        )
        session.flush()
        token = issue_token(session, SENDING_HUB, "peer").token
    try:
        for base_url in serve(hub):
            yield base_url, token
    finally:
        # The directory outlives a test on PostgreSQL: leave it as the sample made it.
        with hub.database.transaction() as session:
            session.execute(delete(AgencyToken).where(AgencyToken.agency_code == SENDING_HUB))
            session.execute(delete(Agency).where(Agency.code == SENDING_HUB))


@pytest.fixture
def handler() -> Iterator[PeerHubHandler]:
    client = make_http_client(connect_timeout=2, read_timeout=10, max_connections=4)
    yield PeerHubHandler(client)
    client.close()


def job(base_url: str, token: str, recipient: str = WARD) -> DeliveryJob:
    return DeliveryJob(
        delivery_id="01TESTDELIVERY0000000000",
        packet_id="01TESTPACKET000000000000",
        recipient=recipient,
        channel=Channel.HUB,
        blob="0" * 64,
        kind="edoc",
        attempt=1,
        settings={"url": base_url, "token": token},
    )


def test_a_packet_for_the_peers_agency_is_accepted_there_for_its_own_agencies_only(
    hub: Hub, peer: tuple[str, str], handler: PeerHubHandler
) -> None:
    base_url, token = peer
    _, raw = packets.document(OUTSIDE_SENDER, (WARD, OUTSIDE_RECIPIENT, DISTRICT))

    first = handler.deliver(job(base_url, token, WARD), raw)
    again = handler.deliver(job(base_url, token, DISTRICT), raw)

    assert (first.state, first.http_status) == (DeliveryState.DELIVERED, 202)
    assert (again.http_status, again.external_ref) == (200, first.external_ref)
    with hub.database.transaction() as session:
        packet = session.scalars(select(Packet).where(Packet.id == first.external_ref)).one()
        recipients = sorted(
            session.scalars(select(Delivery.recipient_code).where(Delivery.packet_id == packet.id))
        )
    assert (packet.source, packet.submitted_by) == ("hub", SENDING_HUB)
    assert recipients == sorted([WARD, DISTRICT])


def test_a_peer_hub_may_not_speak_for_the_peers_own_agencies(
    peer: tuple[str, str], handler: PeerHubHandler
) -> None:
    base_url, token = peer
    _, raw = packets.document(DISTRICT, (WARD,))

    with pytest.raises(PermanentDeliveryError) as refused:
        handler.deliver(job(base_url, token), raw)

    assert refused.value.http_status == 403
    assert "packet.sender-mismatch" in refused.value.message


def test_a_wrong_token_is_a_permanent_failure_naming_the_peers_error(
    peer: tuple[str, str], handler: PeerHubHandler
) -> None:
    base_url, _ = peer
    _, raw = packets.document(OUTSIDE_SENDER, (WARD,))

    with pytest.raises(PermanentDeliveryError) as refused:
        handler.deliver(job(base_url, "lt_not-a-token-of-this-hub"), raw)

    assert refused.value.http_status == 401
    assert "token" in refused.value.message


def test_an_unreachable_peer_is_a_transient_failure(handler: PeerHubHandler) -> None:
    _, raw = packets.document(OUTSIDE_SENDER, (WARD,))

    with pytest.raises(TransientDeliveryError) as failed:
        handler.deliver(job("http://127.0.0.1:9", "lt_x"), raw)

    assert failed.value.code == "delivery.peer_hub_unreachable"


def test_missing_settings_are_reported_without_a_request(handler: PeerHubHandler) -> None:
    settings_less = DeliveryJob(
        delivery_id="d",
        packet_id="p",
        recipient=WARD,
        channel=Channel.HUB,
        blob="0" * 64,
        kind="edoc",
        attempt=1,
        settings={},
    )

    assert handler.peer(settings_less) is None
    with pytest.raises(PermanentDeliveryError, match="base URL"):
        handler.deliver(settings_less, b"<edXML/>")


def test_the_breaker_key_is_the_peers_origin(handler: PeerHubHandler) -> None:
    assert (
        handler.peer(job("https://hub.example.vn/lienthong", "t")) == "https://hub.example.vn:443"
    )
