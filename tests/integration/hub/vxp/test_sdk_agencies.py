"""Agency systems built on the official SDK, pointed at the hub's VXP endpoint over real HTTP.

The SDK is :class:`VxpSdk` (AXIS-SDK.md byte for byte): it sends every public sample, lists,
fetches, acknowledges, lists what it sent and the agencies, and reads every answer as the SDK
reads it (a call that returns None is an answer the SDK would have lost).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import edxml
from edxml.builder import build
from edxml.compose import new_document
from edxml.models import Organization
from hub.db.models import DeliveryState
from simulators.vxpsdk import VxpSdk

from .conftest import G17, G22, H14, H41, VxpHub

pytestmark = pytest.mark.integration


def _send(hub: VxpHub, data: bytes) -> str:
    packet = edxml.parse(data)
    sdk = hub.sdk(packet.sender)
    sent = sdk.send_edoc(
        data, sender=packet.sender, to=list(packet.recipients), message_type=packet.kind
    )
    assert sent is not None, sdk.last_error
    assert (sent.status, sent.error_code) == ("OK", "0"), sent.error_desc
    assert sent.doc_id
    return sent.doc_id


def _delivery_ids(sdk: VxpSdk, doc_id: str) -> dict[str, str]:
    """Receiving code → the id it lists the packet under, from the sender's sent list."""
    history = sdk.get_sent_edoc_list()
    assert history is not None, sdk.last_error
    return {
        item.to_code: item.receiver_doc_id for item in history.items if item.sender_doc_id == doc_id
    }


def _two_recipients() -> bytes:
    packet, contents = new_document(
        sender=Organization(organ_id=G22, organ_name="Văn phòng Chính phủ"),
        recipients=(
            Organization(organ_id=H14, organ_name="UBND tỉnh Cao Bằng"),
            Organization(organ_id=G17, organ_name="Sở TT&TT"),
        ),
        number="12",
        notation="VPCP-KSTT",
        subject="Về việc kết nối hệ thống quản lý văn bản",
        date=dt.date(2026, 12, 7),
        place="Hà Nội",
        timestamp=dt.datetime(2026, 12, 7, 9, 0, 0),
    )
    return build(packet, contents)


def test_every_sample_sent_by_the_sdk_is_listed_fetched_byte_for_byte_and_acknowledged(
    vxp_hub: VxpHub, sample_paths: list[Path]
) -> None:
    assert sample_paths
    for path in sample_paths:
        data = path.read_bytes()
        packet = edxml.parse(data)
        doc_id = _send(vxp_hub, data)
        vxp_hub.work()
        ids = _delivery_ids(vxp_hub.sdk(packet.sender), doc_id)
        assert set(ids) == set(packet.recipients), path.name
        for code, delivery_id in ids.items():
            receiver = vxp_hub.sdk(code)
            listed = receiver.get_received_edoc_list(packet.kind)
            assert listed is not None, receiver.last_error
            assert (delivery_id, code, packet.sender) in {
                (i.doc_id, i.to_code, i.from_code) for i in listed.items
            }, path.name
            fetched = receiver.get_edoc(delivery_id)
            assert fetched is not None, receiver.last_error
            assert fetched.data == data, path.name
            acknowledged = receiver.update_status(delivery_id, "done")
            assert acknowledged is not None, receiver.last_error
            assert acknowledged.ok, acknowledged.error_desc
            assert vxp_hub.state(delivery_id) is DeliveryState.DELIVERED


def test_a_packet_for_two_recipients_is_listed_to_each_under_its_own_code(
    vxp_hub: VxpHub,
) -> None:
    doc_id = _send(vxp_hub, _two_recipients())
    vxp_hub.work()

    listed = {code: vxp_hub.sdk(code).get_received_edoc_list("edoc") for code in (H14, G17)}

    ids = _delivery_ids(vxp_hub.sdk(G22), doc_id)
    for code, answer in listed.items():
        assert answer is not None
        [item] = answer.items
        assert (item.doc_id, item.to_code, item.from_code) == (ids[code], code, G22)
        assert (item.status, item.message_type, item.service_type) == ("pending", "edoc", "eDoc")
        assert item.created_time
        assert item.updated_time
        assert item.status_desc


def test_done_takes_a_delivery_off_the_list_and_the_sender_sees_it_received(
    vxp_hub: VxpHub,
) -> None:
    doc_id = _send(vxp_hub, _two_recipients())
    vxp_hub.work()
    receiver = vxp_hub.sdk(H14)
    [item] = receiver.get_received_edoc_list("edoc").items  # type: ignore[union-attr]

    receiver.update_status(item.doc_id, "done")

    assert receiver.get_received_edoc_list("edoc").items == ()  # type: ignore[union-attr]
    history = vxp_hub.sdk(G22).get_sent_edoc_list("edoc")
    assert history is not None
    by_code = {i.to_code: i for i in history.items if i.sender_doc_id == doc_id}
    assert (by_code[H14].receive_status, by_code[G17].receive_status) == ("done", "pending")
    assert by_code[H14].received_time
    assert not by_code[G17].received_time
    assert by_code[H14].receiver_doc_id == item.doc_id
    assert by_code[H14].title == "Về việc kết nối hệ thống quản lý văn bản"
    assert by_code[H14].notation == "12/VPCP-KSTT"
    assert (by_code[H14].send_status, by_code[H14].message_type) == ("done", "edoc")


def test_fail_refuses_the_delivery_and_the_sender_sees_it(vxp_hub: VxpHub) -> None:
    doc_id = _send(vxp_hub, _two_recipients())
    vxp_hub.work()
    receiver = vxp_hub.sdk(G17)
    [item] = receiver.get_received_edoc_list("edoc").items  # type: ignore[union-attr]

    answer = receiver.update_status(item.doc_id, "fail")

    assert answer is not None
    assert answer.ok
    assert vxp_hub.state(item.doc_id) is DeliveryState.REFUSED
    history = vxp_hub.sdk(G22).get_sent_edoc_list()
    assert history is not None
    assert {i.receive_status for i in history.items if i.to_code == G17} == {"fail"}
    assert doc_id


def test_processing_changes_nothing_and_a_business_status_is_refused_readably(
    vxp_hub: VxpHub,
) -> None:
    _send(vxp_hub, _two_recipients())
    vxp_hub.work()
    receiver = vxp_hub.sdk(H14)
    [item] = receiver.get_received_edoc_list("edoc").items  # type: ignore[union-attr]

    processing = receiver.update_status(item.doc_id, "processing")
    inbox = receiver.update_status(item.doc_id, "inbox")

    assert processing is not None
    assert processing.ok
    assert vxp_hub.state(item.doc_id) is DeliveryState.AVAILABLE
    assert inbox is not None
    assert (inbox.status, inbox.error_code) == ("FAIL", "BAD_REQUEST")
    assert "status packets" in inbox.error_desc


def test_an_sdk_object_using_both_doc_id_spellings_fetches_and_acknowledges(
    vxp_hub: VxpHub,
) -> None:
    _send(vxp_hub, _two_recipients())
    _send(vxp_hub, _other_document())
    vxp_hub.work()
    receiver = vxp_hub.sdk(H14)
    first, second = receiver.get_received_edoc_list("edoc").items  # type: ignore[union-attr]

    fetched = receiver.get_edoc(first.doc_id, doc_id_key="docId")
    acknowledged = receiver.update_status(second.doc_id, "done", doc_id_key="docid")

    assert fetched is not None
    assert fetched.data
    assert acknowledged is not None
    assert acknowledged.ok, acknowledged.error_desc
    assert vxp_hub.state(second.doc_id) is DeliveryState.DELIVERED
    assert vxp_hub.state(first.doc_id) is DeliveryState.AVAILABLE


def _other_document() -> bytes:
    packet, contents = new_document(
        sender=Organization(organ_id=G22, organ_name="Văn phòng Chính phủ"),
        recipients=(Organization(organ_id=H14, organ_name="UBND tỉnh Cao Bằng"),),
        number="13",
        notation="VPCP-KSTT",
        subject="Về việc báo cáo",
        date=dt.date(2026, 12, 7),
        place="Hà Nội",
        timestamp=dt.datetime(2026, 12, 7, 9, 5, 0),
    )
    return build(packet, contents)


def test_the_same_bytes_sent_again_get_the_same_doc_id_and_nothing_new(vxp_hub: VxpHub) -> None:
    data = _two_recipients()

    first, again = _send(vxp_hub, data), _send(vxp_hub, data)

    assert first == again
    assert vxp_hub.work() == 2


def test_the_agencies_list_is_the_directory_with_parents_as_pid(vxp_hub: VxpHub) -> None:
    answer = vxp_hub.sdk(H41).get_agencies_list()

    assert answer is not None
    by_code = {agency.code: agency for agency in answer.items}
    assert by_code[G17].pid == H14
    assert by_code[G22].pid == ""
    assert by_code[G22].name == "Văn phòng Chính phủ"
