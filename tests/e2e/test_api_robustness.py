"""Bad input over HTTP is refused with the status and error code an integrator can act on,
and leaves what the hub already accepted alone; agencies calling at once are all served."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from edxml import DocumentPacket, FileToAttach, Organization, build, status_for
from simulators.agencies import revoke_packet, update_packet

from .city import CITY, COMMUNE, DEPT_IT, DISTRICT, MEMBERS, UNKNOWN
from .observe import kept, packet_settled, settled_timeline
from .system import System

pytestmark = pytest.mark.e2e

MAX_PACKET_BYTES = 32_768


@pytest.fixture(scope="module")
def hub_settings() -> dict[str, str]:
    return {"LIENTHONG_MAX_PACKET_BYTES": str(MAX_PACKET_BYTES)}


@dataclass(frozen=True)
class Accepted:
    """A document the hub accepted and settled, with its views at that moment."""

    packet: DocumentPacket
    data: bytes
    packet_id: str
    timeline: dict[str, Any]
    view: dict[str, Any]


@pytest.fixture(scope="module")
def accepted(system: System) -> Accepted:
    """The commune's document to its district and the city, registered by both."""
    sent = system.agency(COMMUNE).send_document([DISTRICT, CITY])
    timeline = system.eventually(
        lambda: settled_timeline(
            system.operator,
            sent.packet.document_id,
            {DISTRICT: {"status": "03"}, CITY: {"status": "03"}},
        ),
        "the document is delivered and registered by both recipients",
    )
    view = system.operator.packet(sent.accepted.packet_id)
    return Accepted(sent.packet, sent.data, sent.accepted.packet_id, timeline, view)


@dataclass(frozen=True)
class Bad:
    """A refused request: what is posted, with whose token, and the answer expected."""

    make: Callable[[Accepted], bytes]
    poster: str | None
    """Whose token is used; None for a token the hub never issued."""
    status: int
    code: str
    streamed: bool = False
    """Sent in chunks, without a Content-Length."""


def _with_doctype(document: Accepted) -> bytes:
    declaration, rest = revoke_packet(document.packet)[1].split(b"\n", 1)
    return declaration + b'\n<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + rest


def _forged_status(document: Accepted) -> bytes:
    return build(status_for(document.packet, "06", reporter=CITY))


def _to_unknown_recipient(document: Accepted) -> bytes:
    header = document.packet.header
    widened = header.model_copy(update={"to": (*header.to, Organization(organ_id=UNKNOWN))})
    return revoke_packet(document.packet.model_copy(update={"header": widened}))[1]


def _oversize(document: Accepted) -> bytes:
    return update_packet(
        document.packet, files=[FileToAttach(os.urandom(MAX_PACKET_BYTES), name="phu-luc.bin")]
    )[1]


BAD = {
    "malformed-xml": Bad(
        lambda d: revoke_packet(d.packet)[1][:1500], COMMUNE, 400, "xml.malformed"
    ),
    "doctype": Bad(_with_doctype, COMMUNE, 400, "xml.dtd-forbidden"),
    "wrong-from": Bad(_forged_status, COMMUNE, 403, "packet.sender-mismatch"),
    "unknown-recipient": Bad(_to_unknown_recipient, COMMUNE, 422, "packet.unknown-recipient"),
    "oversize": Bad(_oversize, COMMUNE, 413, "packet.too-large"),
    "oversize-streamed": Bad(_oversize, COMMUNE, 413, "packet.too-large", streamed=True),
    "unknown-token": Bad(lambda d: revoke_packet(d.packet)[1], None, 401, "token.unknown"),
    "another-agency-token": Bad(
        lambda d: revoke_packet(d.packet)[1], DEPT_IT, 403, "packet.sender-mismatch"
    ),
    "another-agency-reposting-accepted-bytes": Bad(
        lambda d: d.data, DEPT_IT, 403, "packet.sender-mismatch"
    ),
}


def post(system: System, bad: Bad, document: Accepted) -> tuple[int, dict[str, Any]]:
    """Post the bad request; the status and the error body."""
    token = system.tokens[bad.poster] if bad.poster else "lt_" + secrets.token_urlsafe(32)
    data = bad.make(document)
    content = (data[i : i + 4096] for i in range(0, len(data), 4096)) if bad.streamed else data
    with system.client(token) as client:
        response = client.request(
            "POST", "/api/v1/packets", content=content, headers={"Content-Type": "application/xml"}
        )
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_request_is_refused_with_its_status_and_error_code(
    system: System, accepted: Accepted, case: str
) -> None:
    bad = BAD[case]

    status, body = post(system, bad, accepted)

    assert (status, body["error"]["code"]) == (bad.status, bad.code), body
    assert body["error"]["message"]


def test_an_unknown_recipient_is_named_in_the_refusal(system: System, accepted: Accepted) -> None:
    _, body = post(system, BAD["unknown-recipient"], accepted)

    assert body["error"]["codes"] == [UNKNOWN]


def test_a_missing_token_is_refused_with_401(system: System) -> None:
    response = httpx.post(f"{system.hub.url}/api/v1/packets", content=b"<edXML/>")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.missing"


def test_refused_requests_leave_accepted_documents_delivered_and_their_timelines_unchanged(
    system: System, accepted: Accepted
) -> None:
    fresh = system.agency(COMMUNE).send_document([DISTRICT, CITY])

    refused = {case: post(system, bad, accepted)[0] for case, bad in BAD.items()}
    view = system.eventually(
        lambda: packet_settled(system.operator, fresh.accepted.packet_id),
        "the document accepted before the refusals is delivered",
    )

    assert refused == {case: bad.status for case, bad in BAD.items()}
    assert {delivery["recipient"] for delivery in view["deliveries"]} == {DISTRICT, CITY}
    assert system.operator.timeline(accepted.packet.document_id) == accepted.timeline
    assert system.operator.packet(accepted.packet_id) == accepted.view
    for code in (DISTRICT, CITY):
        assert len(kept(system.agency(code), accepted.packet_id)) == 1


def test_agencies_making_their_first_calls_at_the_same_time_are_all_served(
    system: System,
) -> None:
    rounds, per_round = 3, len(MEMBERS)
    codes = [member.code for member in MEMBERS] * rounds
    tokens = [
        out.strip() for out in system.hub.lienthong_batch([["agency", "token", c] for c in codes])
    ]
    statuses: list[int] = []

    for number in range(rounds):
        start = threading.Barrier(per_round)

        def first_call(token: str, start: threading.Barrier = start) -> int:
            with system.client(token) as client:
                start.wait(10)
                return client.request("GET", "/api/v1/inbox", params={"limit": 1}).status_code

        with ThreadPoolExecutor(per_round) as pool:
            statuses += pool.map(first_call, tokens[number * per_round : (number + 1) * per_round])

    refused = [status for status in statuses if status != 200]
    assert not refused, f"{len(refused)} of {len(statuses)} first calls answered {set(refused)}"
