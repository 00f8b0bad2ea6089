"""What the simulated axis refuses, and how the client reports it: permanent, with the code."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from adapters.axis import (
    AxisAuthError,
    AxisClient,
    AxisPermanentError,
    AxisRefusedError,
    ErrorCode,
)
from hub.axis.delivery_errors import delivery_errors
from hub.errors import PermanentDeliveryError
from simulators.axis import AxisSimulator, Faults
from tests.integration.axis.conftest import CITY_HUB, VPCP, MakeClient
from tests.integration.axis.traffic import CITY, GOVERNMENT_OFFICE, NOWHERE, document, status


class _TruncatingTransport(httpx.BaseTransport):
    """Loses the end of every request body on the way, as a broken proxy would."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = [(k, v) for k, v in request.headers.multi_items() if k != "content-length"]
        cut = httpx.Request(request.method, request.url, headers=headers, content=body[:-20])
        return self._inner.handle_request(cut)

    def close(self) -> None:
        self._inner.close()


def test_a_wrong_secret_is_a_permanent_authentication_error(make_client: MakeClient) -> None:
    intruder = make_client(CITY_HUB, secret="not-the-secret-of-the-city-hub")

    with pytest.raises(AxisAuthError) as caught:
        intruder.get_received_edoc_list("edoc")

    assert isinstance(caught.value, AxisPermanentError)
    assert caught.value.error_code == ErrorCode.AUTH_FAILED
    assert caught.value.http_status == 401
    assert "signature" in (caught.value.error_desc or "")


def test_an_unknown_system_is_refused(make_client: MakeClient) -> None:
    stranger = make_client("not.connected", organ_id=CITY)

    with pytest.raises(AxisAuthError, match="not connected"):
        stranger.get_agencies_list()


def test_a_body_altered_on_the_way_is_refused_by_its_hash(city: AxisClient) -> None:
    lossy = AxisClient(city.config, transport=_TruncatingTransport())
    with lossy, pytest.raises(AxisRefusedError) as caught:
        lossy.send_edoc(document()[1], message_type="edoc")

    assert caught.value.error_code == ErrorCode.HASH_MISMATCH


def test_bytes_that_are_not_edxml_are_refused_with_a_clear_reason(city: AxisClient) -> None:
    with pytest.raises(AxisRefusedError) as caught:
        city.send_edoc(b"<html>oops</html>", message_type="edoc")

    assert caught.value.error_code == ErrorCode.INVALID_EDXML
    assert "not a readable edXML packet" in (caught.value.error_desc or "")


def test_a_status_sent_as_edoc_is_refused(city: AxisClient) -> None:
    packet, _ = document(sender=GOVERNMENT_OFFICE, recipients=(CITY,))

    with pytest.raises(AxisRefusedError) as caught:
        city.send_edoc(status(packet, "03", reporter=CITY), message_type="edoc")

    assert caught.value.error_code == ErrorCode.MESSAGE_TYPE_MISMATCH


def test_an_unknown_recipient_is_refused_and_nothing_is_queued(
    city: AxisClient, vpcp: AxisClient
) -> None:
    _, data = document(recipients=(GOVERNMENT_OFFICE, NOWHERE))

    with pytest.raises(AxisRefusedError) as caught:
        city.send_edoc(data, message_type="edoc")

    assert caught.value.error_code == ErrorCode.UNKNOWN_RECIPIENT
    assert NOWHERE in (caught.value.error_desc or "")
    assert vpcp.get_received_edoc_list("edoc") == []


def test_a_recipient_the_axis_refuses_gives_the_axis_code(
    city: AxisClient, simulator: AxisSimulator
) -> None:
    simulator.faults.set(Faults(refuse_codes=(GOVERNMENT_OFFICE,), refuse_error_code="E-REFUSED"))

    with pytest.raises(AxisRefusedError) as caught:
        city.send_edoc(document()[1], message_type="edoc")

    assert caught.value.error_code == "E-REFUSED"


def test_a_refusal_answered_with_http_200_is_still_a_refusal(
    city: AxisClient, simulator: AxisSimulator
) -> None:
    simulator.refusals_as_200 = True

    with pytest.raises(AxisRefusedError) as caught:
        city.send_edoc(document(recipients=(NOWHERE,))[1], message_type="edoc")

    assert (caught.value.http_status, caught.value.error_code) == (
        200,
        ErrorCode.UNKNOWN_RECIPIENT,
    )


def test_sending_for_an_agency_the_system_does_not_serve_is_refused(city: AxisClient) -> None:
    with pytest.raises(AxisAuthError) as caught:
        city.send_edoc(document()[1], message_type="edoc", sender=GOVERNMENT_OFFICE)

    assert caught.value.error_code == ErrorCode.FORBIDDEN_SENDER


def test_fetching_a_packet_the_system_never_received_is_refused(vpcp: AxisClient) -> None:
    with pytest.raises(AxisRefusedError) as caught:
        vpcp.get_edoc("no-such-doc")

    assert caught.value.error_code == ErrorCode.NOT_FOUND


def test_a_stale_signed_timestamp_is_refused_when_the_node_checks_the_clock(
    make_client: MakeClient, simulator: AxisSimulator
) -> None:
    simulator.max_clock_skew = 300
    behind = make_client(VPCP)
    late = AxisClient(behind.config, clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

    with late, pytest.raises(AxisAuthError) as caught:
        late.get_received_edoc_list("edoc")

    assert caught.value.error_code == ErrorCode.TIMESTAMP_EXPIRED
    assert behind.get_received_edoc_list("edoc") == []


def test_a_refusal_reaches_the_hub_as_a_permanent_delivery_error(city: AxisClient) -> None:
    with pytest.raises(PermanentDeliveryError) as caught, delivery_errors():
        city.send_edoc(document(recipients=(NOWHERE,))[1], message_type="edoc")

    assert caught.value.code == "axis.refused"
    assert "UNKNOWN_RECIPIENT" in caught.value.message
    assert isinstance(caught.value.__cause__, AxisRefusedError)
