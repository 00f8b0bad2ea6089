"""Revocation lists read from files, and read again when an operator replaces them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hub.errors import ConfigurationError
from hub.ingest.revocation import RevocationLists
from tests.unit import sigtools
from tests.unit.test_signature_revocation import revocation_list


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_list(path: Path, revoked: int) -> None:
    certs = [sigtools.signer().cert][:revoked]
    crl = revocation_list(sigtools.root_ca(), certs)
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


def revoked_serials(lists: RevocationLists) -> int:
    return sum(len(list(crl)) for crl in lists.current())


def test_a_replaced_file_is_read_again_after_the_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "root.crl"
    write_list(path, revoked=0)
    clock = Clock()
    lists = RevocationLists([path], check_seconds=60, clock=clock)
    write_list(path, revoked=1)

    before = revoked_serials(lists)
    clock.now = 61

    assert (before, revoked_serials(lists)) == (0, 1)


def test_a_broken_replacement_keeps_the_lists_read_before(tmp_path: Path) -> None:
    path = tmp_path / "root.crl"
    write_list(path, revoked=1)
    clock = Clock()
    lists = RevocationLists([path], check_seconds=60, clock=clock)
    path.write_bytes(b"half a download")
    clock.now = 61

    assert revoked_serials(lists) == 1


def test_an_unreadable_file_at_start_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "root.crl"
    path.write_bytes(b"not a list")

    with pytest.raises(ConfigurationError, match="LIENTHONG_CRLS"):
        RevocationLists([path])


def test_no_files_means_no_lists(tmp_path: Path) -> None:
    assert RevocationLists([]).current() == ()
