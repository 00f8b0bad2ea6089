"""The hub's axis client sends what the official SDK sends (the emulator of AXIS-SDK.md).

Each request of :class:`AxisClient` is compared with the same call made first on a fresh
:class:`VxpSdk` object (a long-lived SDK object also carries leftovers of earlier calls, which
no axis can require): body, content type, and every header name and value. At the same
instant even the timestamp, the signed JSON and its HMAC are identical; at another instant
only those differ. The client's signature is then verified as an axis must verify the SDK's:
the HMAC over the ``XroadVnpt-sign-header`` bytes as received, then each header it names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import edxml
from adapters.axis import AxisClient, AxisConfig, ProtocolOptions
from simulators.vxpsdk import VxpSdk

SYSTEM = "hanoi.hub"
CITY = "000.00.00.H26"
MOMENT = dt.datetime(2026, 11, 20, 1, 30, 0, 123_000, tzinfo=dt.UTC)
TIMESTAMP_DERIVED = {"xroadvnpt-timestamp", "xroadvnpt-sign-header", "xroadvnpt-hash-header"}
ANSWER = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "ok", "DocId": "tx-1"}


class Capture:
    """A node that keeps each request and answers OK (a packet to getEdoc, else a list)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        data = "PGVkWE1MLz4=" if request.url.path.endswith("/getEdoc") else []
        return httpx.Response(200, json={**ANSWER, "data": data})


def _client(
    capture: Capture, secret: str, moment: dt.datetime, options: ProtocolOptions | None = None
) -> AxisClient:
    config = AxisConfig(
        url="http://axis.test/vxp",
        system_id=SYSTEM,
        secret=secret,  # type: ignore[arg-type]
        organ_id=CITY,
        options=options or ProtocolOptions(),
    )
    return AxisClient(config, transport=httpx.MockTransport(capture), clock=lambda: moment)


def _sdk(capture: Capture, secret: str, moment: dt.datetime) -> VxpSdk:
    return VxpSdk(
        "http://axis.test/vxp",
        SYSTEM,
        secret,
        clock=lambda: moment,
        transport=httpx.MockTransport(capture),
    )


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in request.headers.multi_items())


Call = tuple[Callable[[AxisClient], Any], Callable[[VxpSdk], Any]]

CALLS: dict[str, Call] = {
    "getReceivedEdocList": (
        lambda c: c.get_received_edoc_list("status"),
        lambda s: s.get_received_edoc_list("status"),
    ),
    "getEdoc": (lambda c: c.get_edoc("tx-1"), lambda s: s.get_edoc("tx-1")),
    "updateStatus": (
        lambda c: c.update_status("tx-1", "done"),
        lambda s: s.update_status("tx-1", "done"),
    ),
    "getSentEdocList": (lambda c: c.get_sent_edoc_list(), lambda s: s.get_sent_edoc_list()),
    "getSentEdocList(edoc)": (
        lambda c: c.get_sent_edoc_list("edoc"),
        lambda s: s.get_sent_edoc_list("edoc"),
    ),
    "getAgenciesList": (lambda c: c.get_agencies_list(), lambda s: s.get_agencies_list()),
}


def _pair(
    client_call: Callable[[AxisClient], Any],
    sdk_call: Callable[[VxpSdk], Any],
    *,
    client_moment: dt.datetime = MOMENT,
    options: ProtocolOptions | None = None,
) -> tuple[httpx.Request, httpx.Request, str]:
    secret = secrets.token_urlsafe(24)
    ours, theirs = Capture(), Capture()
    with (
        _client(ours, secret, client_moment, options) as client,
        _sdk(theirs, secret, MOMENT) as sdk,
    ):
        client_call(client)
        assert sdk_call(sdk) is not None, sdk.last_error
    return ours.requests[0], theirs.requests[0], secret


def _verify_as_an_axis_must(request: httpx.Request, secret: str) -> None:
    """HMAC over the sign-header bytes as received, then each named header carries its value."""
    raw = next(v for k, v in request.headers.raw if k.lower() == b"xroadvnpt-sign-header")
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert request.headers["XroadVnpt-hash-header"] == expected
    signed = json.loads(raw)
    assert list(signed) == [
        f"XroadVnpt-{key}" for key in request.headers["XroadVnpt-sign-header-key"].split(";")
    ]
    for name, value in signed.items():
        assert value in request.headers.get_list(name)


def _send(data: bytes, recipients: list[str], kind: str) -> Call:
    return (
        lambda c: c.send_edoc(data, message_type=kind, to=recipients),  # type: ignore[arg-type]
        lambda s: s.send_edoc(data, sender=CITY, to=recipients, message_type=kind),
    )


def test_every_sample_packet_is_sent_exactly_as_the_sdk_sends_it(sample_paths: list[Path]) -> None:
    assert sample_paths
    for path in sample_paths:
        data = path.read_bytes()
        packet = edxml.parse(data)

        ours, theirs, secret = _pair(*_send(data, list(packet.recipients), packet.kind))

        assert ours.url == theirs.url
        assert ours.content == theirs.content == data + b"\r\n"
        assert _headers(ours) == _headers(theirs), path.name
        assert 32 <= len(ours.headers["XroadVnpt-hash-file"]) <= 64
        _verify_as_an_axis_must(ours, secret)


@pytest.mark.parametrize("operation", CALLS)
def test_every_other_call_is_made_exactly_as_the_sdk_makes_it(operation: str) -> None:
    ours, theirs, secret = _pair(*CALLS[operation])

    assert ours.url == theirs.url
    assert ours.content == theirs.content
    assert _headers(ours) == _headers(theirs)
    _verify_as_an_axis_must(ours, secret)


def test_at_another_instant_only_the_timestamp_and_what_signs_it_differ() -> None:
    data = b"<edXML>two recipients</edXML>"
    later = MOMENT + dt.timedelta(hours=5, milliseconds=7)

    ours, theirs, secret = _pair(
        *_send(data, ["000.00.00.G22", "000.00.00.H41"], "edoc"), client_moment=later
    )

    differing = {name for name, _ in set(_headers(ours)).symmetric_difference(_headers(theirs))}
    assert differing == TIMESTAMP_DERIVED
    assert ours.headers["XroadVnpt-to"] == '["000.00.00.G22","000.00.00.H41"]'
    assert ours.headers["XroadVnpt-timestamp"] == "20112026T133000+0130"
    _verify_as_an_axis_must(ours, secret)


def test_the_padded_hash_form_changes_the_hash_file_and_nothing_else_unsigned() -> None:
    data = b"<edXML>padded</edXML>"

    ours, theirs, _ = _pair(*_send(data, [CITY], "edoc"),
                            options=ProtocolOptions(hash_file_form="padded"))  # fmt: skip

    assert ours.headers["XroadVnpt-hash-file"] == hashlib.sha256(data).hexdigest()
    differing = {name for name, _ in set(_headers(ours)).symmetric_difference(_headers(theirs))}
    assert differing == {"xroadvnpt-hash-file", "xroadvnpt-sign-header", "xroadvnpt-hash-header"}
