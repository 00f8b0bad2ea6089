"""Packets through the simulated axis over real HTTP: send, list, fetch, acknowledge."""

from __future__ import annotations

import httpx
import pytest

from adapters.axis import AxisClient, AxisConfig, ProtocolOptions, Upstream, open_upstream
from tests.integration.axis.conftest import CITY_HUB, MINISTRY, VPCP, MakeClient
from tests.integration.axis.traffic import (
    CITY,
    DISTRICT,
    GOVERNMENT_OFFICE,
    JUSTICE,
    document,
    status,
)


def test_a_sent_document_reaches_the_recipient_system_byte_for_byte(
    city: AxisClient, vpcp: AxisClient
) -> None:
    _, data = document()

    sent = city.send_edoc(data, message_type="edoc")
    waiting = vpcp.get_received_edoc_list("edoc")

    assert [item.doc_id for item in waiting] == [sent.doc_id]
    assert waiting[0].sender == CITY
    assert waiting[0].recipients == (GOVERNMENT_OFFICE,)
    assert waiting[0].message_type == "edoc"
    assert vpcp.get_edoc(sent.doc_id) == data


@pytest.mark.parametrize(
    "options",
    [
        ProtocolOptions(),
        ProtocolOptions(hash_file_form="padded"),
        ProtocolOptions(body_crlf=False),
        ProtocolOptions(hash_file_form="padded", body_crlf=False),
    ],
    ids=["sdk", "padded", "no-crlf", "padded-no-crlf"],
)
def test_either_hash_form_with_or_without_crlf_delivers_the_packet_as_it_was(
    vpcp: AxisClient, make_client: MakeClient, options: ProtocolOptions
) -> None:
    _, data = document()
    data += b"\r\n"  # a packet that itself ends with CRLF keeps it
    sender = make_client(CITY_HUB, options=options)

    sent = sender.send_edoc(data, message_type="edoc")

    assert vpcp.get_edoc(sent.doc_id) == data


def test_a_packet_acknowledged_done_leaves_the_receive_list(
    city: AxisClient, vpcp: AxisClient
) -> None:
    sent = city.send_edoc(document()[1], message_type="edoc")

    vpcp.update_status(sent.doc_id, "done")

    assert vpcp.get_received_edoc_list("edoc") == []


def test_status_packets_travel_both_ways_as_messagetype_status(
    city: AxisClient, vpcp: AxisClient
) -> None:
    packet, data = document()
    city.send_edoc(data, message_type="edoc")
    arrived = status(packet, "01", reporter=GOVERNMENT_OFFICE)

    reply = vpcp.send_edoc(arrived, message_type="status")
    take_back = city.send_edoc(status(packet, "13", reporter=CITY), message_type="status",
                               to=[GOVERNMENT_OFFICE])  # fmt: skip

    assert city.get_received_edoc_list("edoc") == []
    assert [i.doc_id for i in city.get_received_edoc_list("status")] == [reply.doc_id]
    assert city.get_edoc(reply.doc_id) == arrived
    assert [i.doc_id for i in vpcp.get_received_edoc_list("status")] == [take_back.doc_id]


def test_a_packet_acknowledged_fail_leaves_the_list_and_stays_marked_failed(
    city: AxisClient, vpcp: AxisClient, admin: httpx.Client
) -> None:
    sent = city.send_edoc(document()[1], message_type="edoc")

    vpcp.update_status(sent.doc_id, "fail")

    assert vpcp.get_received_edoc_list("edoc") == []
    queue = admin.get(f"/_sim/systems/{VPCP}/received").json()
    assert [(e["doc_id"], e["state"]) for e in queue] == [(sent.doc_id, "fail")]


def test_a_packet_marked_processing_stays_listed(city: AxisClient, vpcp: AxisClient) -> None:
    sent = city.send_edoc(document()[1], message_type="edoc")

    vpcp.update_status(sent.doc_id, "processing")

    [item] = vpcp.get_received_edoc_list("edoc")
    assert (item.doc_id, item.status) == (sent.doc_id, "processing")


def test_one_packet_for_two_ministries_reaches_both_systems(
    city: AxisClient, vpcp: AxisClient, make_client: MakeClient
) -> None:
    _, data = document(recipients=(GOVERNMENT_OFFICE, JUSTICE))

    sent = city.send_edoc(data, message_type="edoc")

    justice = make_client(MINISTRY)
    assert [i.doc_id for i in vpcp.get_received_edoc_list("edoc")] == [sent.doc_id]
    assert [i.doc_id for i in justice.get_received_edoc_list("edoc")] == [sent.doc_id]
    assert justice.get_edoc(sent.doc_id) == data


def test_the_to_parameter_routes_instead_of_the_packet_recipients(
    city: AxisClient, vpcp: AxisClient, make_client: MakeClient
) -> None:
    _, data = document(recipients=(GOVERNMENT_OFFICE, JUSTICE))

    city.send_edoc(data, message_type="edoc", to=[JUSTICE])

    assert vpcp.get_received_edoc_list("edoc") == []
    assert len(make_client(MINISTRY).get_received_edoc_list("edoc")) == 1


def test_a_ministry_document_for_a_district_reaches_the_city_hub_by_pattern(
    city: AxisClient, vpcp: AxisClient
) -> None:
    _, data = document(sender=GOVERNMENT_OFFICE, recipients=(DISTRICT,))

    sent = vpcp.send_edoc(data, message_type="edoc")

    [item] = city.get_received_edoc_list("edoc")
    assert (item.doc_id, item.recipients) == (sent.doc_id, (DISTRICT,))


def test_a_packet_for_two_agencies_of_one_system_is_one_item_naming_both(
    city: AxisClient, vpcp: AxisClient
) -> None:
    _, data = document(sender=GOVERNMENT_OFFICE, recipients=(CITY, DISTRICT))

    sent = vpcp.send_edoc(data, message_type="edoc")

    [item] = city.get_received_edoc_list("edoc")
    assert (item.doc_id, item.recipients) == (sent.doc_id, (CITY, DISTRICT))


def test_the_sender_sees_what_it_sent_and_how_far_it_got(
    city: AxisClient, vpcp: AxisClient
) -> None:
    packet, data = document()
    sent = city.send_edoc(data, message_type="edoc")
    before = city.get_sent_edoc_list("edoc")
    vpcp.update_status(sent.doc_id, "done")

    after = city.get_sent_edoc_list()

    assert [(i.sender_doc_id, i.to_code, i.receive_status) for i in before] == [
        (sent.doc_id, GOVERNMENT_OFFICE, "pending")
    ]
    [item] = after
    assert (item.sender_doc_id, item.from_code, item.to_code) == (
        sent.doc_id,
        CITY,
        GOVERNMENT_OFFICE,
    )
    assert (item.send_status, item.receive_status, item.message_type) == ("done", "done", "edoc")
    assert (item.title, item.notation) == (packet.header.subject, "UBND-VP")
    assert item.sent_time
    assert item.received_time
    assert city.get_sent_edoc_list("status") == []


def test_a_packet_injected_as_if_from_a_ministry_is_polled_by_the_city(
    city: AxisClient, admin: httpx.Client
) -> None:
    _, data = document(sender=JUSTICE, recipients=(CITY,))

    injected = admin.post(f"/_sim/systems/{CITY_HUB}/inject", content=data).json()

    [item] = city.get_received_edoc_list("edoc")
    assert (item.doc_id, item.sender) == (injected["DocId"], JUSTICE)
    assert city.get_edoc(item.doc_id) == data


def test_unreadable_bytes_can_be_injected_to_exercise_a_fail_acknowledgement(
    city: AxisClient, admin: httpx.Client
) -> None:
    injected = admin.post(
        f"/_sim/systems/{CITY_HUB}/inject",
        params={"messagetype": "edoc", "from": JUSTICE},
        content=b"not xml at all",
    ).json()

    assert city.get_edoc(injected["DocId"]) == b"not xml at all"
    city.update_status(injected["DocId"], "fail")
    assert city.get_received_edoc_list("edoc") == []


def test_what_a_system_received_can_be_read_back_by_an_operator(
    city: AxisClient, admin: httpx.Client
) -> None:
    _, data = document()
    sent = city.send_edoc(data, message_type="edoc")

    raw = admin.get(f"/_sim/systems/{VPCP}/received/{sent.doc_id}")

    assert raw.status_code == 200
    assert raw.content == data


def test_the_agency_list_names_every_agency_connected_with_its_parent(city: AxisClient) -> None:
    agencies = {a.code: (a.name, a.parent_code) for a in city.get_agencies_list()}

    assert agencies == {
        CITY: ("UBND thành phố Hà Nội", None),
        DISTRICT: ("UBND quận", CITY),
        GOVERNMENT_OFFICE: ("Văn phòng Chính phủ", None),
        JUSTICE: ("Bộ Tư pháp", None),
    }


def test_the_vxp_client_serves_the_hub_as_an_upstream(city: AxisClient, vpcp: AxisClient) -> None:
    config: AxisConfig = vpcp.config
    upstream = open_upstream(config)
    try:
        assert isinstance(upstream, Upstream)
        _, data = document()
        ref = city.send_edoc(data, message_type="edoc").doc_id

        [item] = upstream.list_received("edoc")
        assert upstream.fetch(item.doc_id) == data
        upstream.acknowledge(ref, "done")
        assert upstream.list_received("edoc") == []
        assert upstream.name == f"vxp:{VPCP}"
    finally:
        upstream.close()
