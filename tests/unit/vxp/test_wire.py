"""The formats of the VXP endpoint: hash-file in both forms, timestamps, the axis's times."""

from __future__ import annotations

import datetime as dt
import hashlib

from hub.vxp.wire import VIETNAM, axis_time, hash_file_matches, parse_timestamp
from simulators.vxpsdk import sdk_hash_file, sdk_timestamp

# A packet whose digest has bytes below 0x10, so the SDK's form is shorter than 64 characters.
DATA = b"<edXML>0</edXML>" * 3


def test_the_sdks_unpadded_hash_file_matches() -> None:
    assert len(sdk_hash_file(DATA)) < 64
    assert hash_file_matches(sdk_hash_file(DATA), DATA)


def test_the_usual_64_character_hash_file_matches_in_any_case() -> None:
    assert hash_file_matches(hashlib.sha256(DATA).hexdigest().upper(), DATA)


def test_a_hash_file_of_other_bytes_does_not_match() -> None:
    assert not hash_file_matches(sdk_hash_file(DATA + b" "), DATA)
    assert not hash_file_matches("é" * 64, DATA)


def test_the_sdks_timestamp_is_read_in_vietnamese_time_with_its_milliseconds() -> None:
    moment = dt.datetime(2026, 12, 7, 1, 2, 3, 45_000, tzinfo=dt.UTC)

    assert parse_timestamp(sdk_timestamp(moment)) == moment
    assert parse_timestamp("not a time") is None


def test_answered_times_are_vietnamese_local_time() -> None:
    moment = dt.datetime(2026, 12, 7, 20, 30, 0, tzinfo=dt.UTC)

    assert axis_time(moment) == "2026/12/08 03:30:00"
    assert axis_time(moment.astimezone(VIETNAM)) == "2026/12/08 03:30:00"
    assert axis_time(None) == ""
