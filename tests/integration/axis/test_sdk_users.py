"""An SDK user against the simulated axis over real HTTP: every request accepted, every answer read.

The SDK is :class:`VxpSdk` (AXIS-SDK.md byte for byte). One long-lived SDK object per system
makes every call, as an integration does, so each request also carries the header map's
leftovers and the timestamp of the object's creation. The agencies are those of the public
sample packets: the Government Office, Nghệ An, and a system serving Cao Bằng, Hải Phòng and
the sender and recipient of ``edoc_new``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import edxml
from simulators.axis import AxisSimulator, BackgroundServer, Faults
from simulators.axis.systems import systems_from
from simulators.vxpsdk import VxpSdk

VPCP, NGHE_AN, OTHERS = "vpcp", "nghean", "others"
G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
H13_SENDER, H17_SHORT = "002.00.20.H13", "28.22.H17"
SYSTEM_OF = {G22: VPCP, H41: NGHE_AN, H14: OTHERS, G17: OTHERS, H13_SENDER: OTHERS,
             H17_SHORT: OTHERS}  # fmt: skip


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    """A fresh secret per system."""
    return {system: secrets.token_urlsafe(24) for system in (VPCP, NGHE_AN, OTHERS)}


@pytest.fixture(scope="module")
def axis(keys: dict[str, str]) -> AxisSimulator:
    """The simulated node, with the sample packets' agencies."""
    return AxisSimulator(
        systems_from(
            {
                "systems": {
                    VPCP: {"secret": keys[VPCP], "agencies": [{"code": G22, "name": "VPCP"}]},
                    NGHE_AN: {"secret": keys[NGHE_AN], "agencies": [{"code": H41}]},
                    OTHERS: {
                        "secret": keys[OTHERS],
                        "agencies": [
                            {"code": H14, "name": "UBND Tỉnh Cao Bằng"},
                            {"code": G17, "name": "Sở TT&TT Hải Phòng", "parent_code": H14},
                            H13_SENDER,
                            H17_SHORT,
                        ],
                    },
                }
            }
        )
    )


@pytest.fixture(scope="module")
def served(axis: AxisSimulator) -> Iterator[BackgroundServer]:
    """The node on a free localhost port."""
    with BackgroundServer(axis.app) as running:
        yield running


@pytest.fixture
def sdks(
    served: BackgroundServer, axis: AxisSimulator, keys: dict[str, str]
) -> Iterator[dict[str, VxpSdk]]:
    """One SDK object per system, created a day ago, on an empty node."""
    axis.store.clear()
    axis.faults.clear()
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    made = {s: VxpSdk(served.url, s, key, clock=lambda: yesterday) for s, key in keys.items()}
    yield made
    for sdk in made.values():
        sdk.close()
    axis.max_clock_skew = None


def _send(sdks: dict[str, VxpSdk], data: bytes, **overrides: object) -> tuple[str, list[str]]:
    packet = edxml.parse(data)
    recipients = list(packet.recipients)
    sdk = sdks[SYSTEM_OF[packet.sender]]
    settings: dict[str, object] = {"sender": packet.sender, "to": recipients,
                                   "message_type": packet.kind, **overrides}  # fmt: skip
    sent = sdk.send_edoc(data, **settings)  # type: ignore[arg-type]
    assert sent is not None, sdk.last_error
    assert (sent.status, sent.error_code) == ("OK", "0"), sent.error_desc
    assert sent.doc_id
    return sent.doc_id, recipients


def test_every_sample_sent_by_the_sdk_is_accepted_and_fetched_byte_for_byte(
    sdks: dict[str, VxpSdk], sample_paths: list[Path]
) -> None:
    assert sample_paths
    for path in sample_paths:
        data = path.read_bytes()
        doc_id, recipients = _send(sdks, data)
        kind = edxml.parse(data).kind
        for code in recipients:
            receiver = sdks[SYSTEM_OF[code]]
            listed = receiver.get_received_edoc_list(kind)
            assert listed is not None, receiver.last_error
            assert (doc_id, code) in {(i.doc_id, i.to_code) for i in listed.items}, path.name
            fetched = receiver.get_edoc(doc_id)
            assert fetched is not None, receiver.last_error
            assert fetched.data == data, path.name


def test_a_packet_for_two_recipients_of_one_system_is_listed_once_per_code(
    sdks: dict[str, VxpSdk], samples_dir: Path
) -> None:
    data = (samples_dir / "edoc_update.edxml").read_bytes()
    doc_id, _ = _send(sdks, data, to=[H14, G17])

    listed = sdks[OTHERS].get_received_edoc_list("edoc")

    assert listed is not None, sdks[OTHERS].last_error
    assert sorted((i.doc_id, i.to_code, i.from_code) for i in listed.items) == [
        (doc_id, G17, G22),
        (doc_id, H14, G22),
    ]
    assert {(i.status, i.message_type, i.service_type) for i in listed.items} == {
        ("pending", "edoc", "eDoc")
    }
    assert all(i.created_time and i.updated_time and i.status_desc for i in listed.items)


def test_done_takes_a_packet_off_the_list_and_the_sender_sees_it(
    sdks: dict[str, VxpSdk], samples_dir: Path
) -> None:
    data = (samples_dir / "status_inbox_01.edxml").read_bytes()
    doc_id, _ = _send(sdks, data)
    receiver = sdks[VPCP]

    acknowledged = receiver.update_status(doc_id, "done")
    listed = receiver.get_received_edoc_list("status")
    history = sdks[NGHE_AN].get_sent_edoc_list()

    assert acknowledged is not None
    assert (acknowledged.status, acknowledged.error_code) == ("OK", "0")
    assert listed is not None
    assert listed.items == ()
    assert history is not None, sdks[NGHE_AN].last_error
    [item] = history.items
    assert (item.sender_doc_id, item.receiver_doc_id, item.from_code, item.to_code) == (
        doc_id,
        doc_id,
        H41,
        G22,
    )
    assert (item.send_status, item.receive_status, item.message_type) == ("done", "done", "status")
    assert item.sent_time
    assert item.received_time


def test_the_sent_list_names_each_receiver_with_the_documents_title_and_notation(
    sdks: dict[str, VxpSdk], samples_dir: Path
) -> None:
    data = (samples_dir / "edoc_update.edxml").read_bytes()
    doc_id, recipients = _send(sdks, data)

    history = sdks[VPCP].get_sent_edoc_list("edoc")

    assert history is not None, sdks[VPCP].last_error
    assert sorted(i.to_code for i in history.items) == sorted(recipients)
    item = history.items[0]
    assert item.sender_doc_id == doc_id
    assert item.title.startswith("V/v kết nối")
    assert item.notation == "VPCP-TTĐT"
    assert {i.receive_status for i in history.items} == {"pending"}
    assert {i.received_time for i in history.items} == {""}


def test_the_agency_list_is_readable_with_parents_as_pid(sdks: dict[str, VxpSdk]) -> None:
    listed = sdks[VPCP].get_agencies_list()

    assert listed is not None, sdks[VPCP].last_error
    parents = {a.code: a.pid for a in listed.items}
    assert parents[G17] == H14
    assert parents[G22] == ""
    assert {a.code: a.name for a in listed.items}[H14] == "UBND Tỉnh Cao Bằng"


def test_both_doc_id_spellings_with_different_values_are_served(
    sdks: dict[str, VxpSdk], samples_dir: Path
) -> None:
    first, _ = _send(sdks, (samples_dir / "status_inbox_01.edxml").read_bytes())
    second, _ = _send(sdks, (samples_dir / "status_finish_06.edxml").read_bytes())
    receiver = sdks[VPCP]

    assert receiver.get_edoc(first) is not None
    done = receiver.update_status(first, "done", doc_id_key="docid")
    fetched = receiver.get_edoc(second)  # docid still says `first`
    processing = receiver.update_status(second, "processing", doc_id_key="docid")

    assert receiver.headers.get("docId") == receiver.headers.get("docid") == second
    assert done is not None
    assert fetched is not None
    assert processing is not None
    assert (done.status, processing.status) == ("OK", "OK")
    assert fetched.data == (samples_dir / "status_finish_06.edxml").read_bytes()
    listed = receiver.get_received_edoc_list("status")
    assert listed is not None
    assert [(i.doc_id, i.status) for i in listed.items] == [(second, "processing")]


def test_update_status_takes_docid_when_both_spellings_differ(
    sdks: dict[str, VxpSdk], samples_dir: Path
) -> None:
    first, _ = _send(sdks, (samples_dir / "status_inbox_01.edxml").read_bytes())
    second, _ = _send(sdks, (samples_dir / "status_finish_06.edxml").read_bytes())
    receiver = sdks[VPCP]
    receiver.get_edoc(first)
    receiver.get_edoc(second)  # docId = second

    done = receiver.update_status(first, "done", doc_id_key="docid")

    assert done is not None
    assert done.status == "OK"
    listed = receiver.get_received_edoc_list("status")
    assert listed is not None
    assert [i.doc_id for i in listed.items] == [second]


def test_refusals_reach_the_sdk_user_with_their_code(
    sdks: dict[str, VxpSdk], samples_dir: Path, axis: AxisSimulator
) -> None:
    data = (samples_dir / "status_inbox_01.edxml").read_bytes()
    sdk = sdks[NGHE_AN]

    unknown = sdk.send_edoc(data, sender=H41, to=["000.00.00.X99"], message_type="status")
    truncated = sdk.send_edoc(data[:-40], sender=H41, message_type="status")
    axis.faults.set(Faults(down_for_seconds=30))
    down = sdk.send_edoc(data, sender=H41, to=[G22], message_type="status")
    listing_down = sdk.get_received_edoc_list("edoc")

    assert unknown is not None, sdk.last_error
    assert (unknown.status, unknown.error_code, unknown.doc_id) == ("FAIL", "UNKNOWN_RECIPIENT", "")
    assert truncated is not None
    assert truncated.error_code == "INVALID_EDXML"
    assert down is not None
    assert (down.error_code, down.doc_id) == ("SERVICE_UNAVAILABLE", "")
    assert listing_down is not None
    assert listing_down.error_code == "SERVICE_UNAVAILABLE"


def test_a_wrong_secret_or_a_stale_timestamp_when_checked_is_a_readable_refusal(
    sdks: dict[str, VxpSdk], served: BackgroundServer, axis: AxisSimulator
) -> None:
    with VxpSdk(served.url, VPCP, "not-the-secret") as intruder:
        refused = intruder.get_agencies_list()
    axis.max_clock_skew = 300
    stale = sdks[VPCP].get_received_edoc_list("edoc")

    assert refused is not None
    assert (refused.status, refused.error_code) == ("FAIL", "AUTH_FAILED")
    assert stale is not None
    assert stale.error_code == "TIMESTAMP_EXPIRED"
