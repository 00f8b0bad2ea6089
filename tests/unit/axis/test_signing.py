"""Signing the axis headers as the official SDK does: names, key order, JSON, HMAC, timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest

from adapters.axis.protocol import (
    AXIS_TZ,
    ProtocolOptions,
    content_hash,
    format_timestamp,
    hash_file_matches,
    hmac_hex,
    parse_timestamp,
    recipients_header,
    sign_header_text,
    signed_headers,
)

RFC4231_KEY = "Jefe"
"""The public key of RFC 4231's second HMAC-SHA256 test case (a test vector, not a secret)."""

SIGNED_JSON = (
    '{"XroadVnpt-systemid":"hanoi.hub","XroadVnpt-servicetype":"eDoc",'
    '"XroadVnpt-messagetype":"edoc","XroadVnpt-to":"[\\"000.00.00.G22\\"]",'
    '"XroadVnpt-timestamp":"20112026T083000+0123"}'
)
SIGNED_JSON_HMAC = "f93a3175c3129c81391dd46d2a0d693c4f4274c156558f98cc86b55789e5a20a"
"""``openssl dgst -sha256 -hmac Jefe`` of SIGNED_JSON, computed outside this project."""


def _headers(secret: str = RFC4231_KEY) -> dict[str, str]:
    return signed_headers(
        {"servicetype": "eDoc", "messagetype": "edoc", "to": recipients_header(["000.00.00.G22"])},
        system_id="hanoi.hub",
        secret=secret,
        timestamp="20112026T083000+0123",
        options=ProtocolOptions(),
    )


def test_hmac_matches_the_rfc_4231_test_vector() -> None:
    assert hmac_hex(RFC4231_KEY, "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_every_parameter_travels_as_a_prefixed_header() -> None:
    headers = _headers()

    assert headers["XroadVnpt-servicetype"] == "eDoc"
    assert headers["XroadVnpt-messagetype"] == "edoc"
    assert headers["XroadVnpt-to"] == '["000.00.00.G22"]'
    assert headers["XroadVnpt-systemid"] == "hanoi.hub"
    assert headers["XroadVnpt-timestamp"] == "20112026T083000+0123"


def test_the_key_list_names_the_signed_keys_in_java_hashmap_order_joined_by_semicolons() -> None:
    # Buckets of 16: systemid 2, servicetype 2 (put after systemid), messagetype 5, to 11,
    # timestamp 15 (see test_javaorder).
    assert _headers()["XroadVnpt-sign-header-key"] == (
        "systemid;servicetype;messagetype;to;timestamp"
    )


def test_the_signed_json_is_compact_in_key_list_order() -> None:
    assert _headers()["XroadVnpt-sign-header"] == SIGNED_JSON


def test_known_headers_and_secret_give_the_known_signature() -> None:
    assert _headers()["XroadVnpt-hash-header"] == SIGNED_JSON_HMAC


def test_another_secret_gives_another_signature() -> None:
    assert _headers("another secret")["XroadVnpt-hash-header"] != SIGNED_JSON_HMAC


def test_the_signed_text_is_escaped_as_gson_escapes() -> None:
    assert sign_header_text({"name": "Hà Nội", "q": "a=<b>&'c'"}) == (
        '{"XroadVnpt-name":"Hà Nội","XroadVnpt-q":"a\\u003d\\u003cb\\u003e\\u0026\\u0027c\\u0027"}'
    )


@pytest.mark.parametrize("value", ["Hà Nội", "line\nbreak"])
def test_a_value_that_cannot_be_an_http_header_is_refused_before_sending(value: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        signed_headers(
            {"from": value}, system_id="s", secret="k", timestamp="t", options=ProtocolOptions()
        )


def test_a_custom_header_prefix_is_used_everywhere() -> None:
    headers = signed_headers(
        {"docId": "42"},
        system_id="s",
        secret="k",
        timestamp="t",
        options=ProtocolOptions(header_prefix="X-Vxp-"),
    )

    assert headers["X-Vxp-docId"] == "42"
    assert headers["X-Vxp-sign-header"] == (
        '{"X-Vxp-systemid":"s","X-Vxp-docId":"42","X-Vxp-timestamp":"t"}'
    )


ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
"""FIPS 180-2's SHA-256 of ``abc``."""
ABC_SDK_FORM = "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad"
"""The same bytes with ``01``, ``03``, ``00`` written ``1``, ``3``, ``0`` (by hand)."""


def test_the_hash_file_writes_each_byte_without_zero_padding_as_the_sdk() -> None:
    assert content_hash(b"abc") == ABC_SDK_FORM
    assert content_hash(b"abc", "padded") == ABC_SHA256


@pytest.mark.parametrize("declared", [ABC_SDK_FORM, ABC_SHA256, ABC_SHA256.upper()])
def test_a_hash_file_in_either_form_matches_the_body(declared: str) -> None:
    assert hash_file_matches(declared, b"abc")
    assert not hash_file_matches(declared, b"abd")


def test_a_hash_file_that_is_not_ascii_matches_nothing() -> None:
    assert not hash_file_matches("ba78é", b"abc")


def test_the_timestamp_is_written_on_vietnamese_local_time_in_the_sdk_layout() -> None:
    moment = dt.datetime(2026, 11, 20, 1, 30, 0, 123_000, tzinfo=dt.UTC)

    assert format_timestamp(moment) == "20112026T083000+0123"
    assert format_timestamp(moment, "iso") == "2026-11-20T08:30:00.123+07:00"


@pytest.mark.parametrize("style", ["sdk", "iso"])
def test_a_timestamp_reads_back_as_the_same_moment(style: Literal["sdk", "iso"]) -> None:
    moment = dt.datetime(2026, 11, 20, 1, 30, 0, 123_000, tzinfo=dt.UTC)

    assert parse_timestamp(format_timestamp(moment, style)) == moment


def test_a_zoneless_timestamp_is_read_as_axis_time() -> None:
    assert parse_timestamp("2026-11-20T08:30:00") == dt.datetime(
        2026, 11, 20, 8, 30, tzinfo=AXIS_TZ
    )


@pytest.mark.parametrize("text", ["", "yesterday", "32132026T083000+0000"])
def test_an_unreadable_timestamp_reads_as_none(text: str) -> None:
    assert parse_timestamp(text) is None
