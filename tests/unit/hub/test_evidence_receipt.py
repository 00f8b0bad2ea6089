"""Receipts offline: one written by the hub verifies; any byte changed is caught and placed."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.evidence.offline import verify_receipt
from hub.evidence.receipt import (
    ReceiptCheckpoint,
    ReceiptRecord,
    issued_text,
    parse_statement,
    render,
    sign_receipt,
)
from hub.evidence.signing import HubSigner, self_signed
from hub.records.chain import GENESIS_HASH, canonical_json, link, sha256

PACKET = "01JZ0000000000000000000000"
KINDS = ("submitted", "made-available", "retrieved")


def hub_signer(name: str = "hub") -> HubSigner:
    return _signer_named(name)


@cache
def _signer_named(name: str) -> HubSigner:
    key_pem, cert_pem = self_signed(name)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return HubSigner(key=key, certificate=x509.load_pem_x509_certificate(cert_pem))


def receipt(name: str = "hub") -> bytes:
    """A receipt of three sealed records and the checkpoint over them, signed by ``name``."""
    return _receipt_by(name)


@cache
def _receipt_by(name: str) -> bytes:
    signer = hub_signer(name)
    records = []
    head = GENESIS_HASH
    for seq, kind in enumerate(KINDS, start=1):
        fields = {
            "v": 1,
            "kind": kind,
            "packet": PACKET,
            "sha256": "ab" * 32,
            "at": f"2026-07-01T0{seq}:00:00.000000+00:00",
            "sender": "000.00.01.H26",
            "note": "Ủy ban nhân dân phường Đống Đa",
        }
        if kind != "submitted":
            fields |= {"delivery": "01JZ0000000000000000000001", "recipient": "000.00.22.H26"}
        statement = canonical_json(fields)
        chained = link(seq, head, sha256(statement))
        records.append((ReceiptRecord(statement, sha256(statement), seq, head, chained), fields))
        head = chained
    checkpoint = canonical_json(
        {
            "v": 1,
            "checkpoint": 1,
            "at": "2026-07-01T04:00:00.000000+00:00",
            "first_seq": 1,
            "last_seq": 3,
            "head_hash": head,
            "prev_checkpoint": GENESIS_HASH,
            "certificate_sha256": signer.fingerprint,
        }
    )
    signed = ReceiptCheckpoint(checkpoint, sha256(checkpoint), signer.sign(checkpoint.encode()))
    root = render(
        issued=issued_text(datetime.now(UTC)),
        subject=PACKET,
        packets=[(PACKET, records)],
        checkpoint=(signed, parse_statement(checkpoint) or {}),
    )
    return sign_receipt(root, signer)


def changed(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_a_receipt_as_the_hub_wrote_it_verifies() -> None:
    check = verify_receipt(receipt(), hub_signer().certificate)

    assert (check.ok, check.problems) == (True, [])
    assert [fact.kind for fact in check.facts] == list(KINDS)
    assert check.checkpoint == 1


def test_a_receipt_does_not_verify_with_another_hubs_certificate() -> None:
    check = verify_receipt(receipt(), hub_signer("another hub").certificate)

    assert (check.ok, check.signature_valid) == (False, False)
    assert check.first_broken == "the receipt"
    assert "CN=hub" in check.problems[0]


@pytest.mark.parametrize("start", range(5))
def test_any_one_byte_changed_is_detected(start: int) -> None:
    data = receipt()
    certificate = hub_signer().certificate

    missed = [
        position
        for position in range(start, len(data), 5)
        if verify_receipt(changed(data, position), certificate).ok
    ]

    assert missed == []


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_byte_changed_in_a_statement_names_its_record(index: int) -> None:
    data = receipt()
    kind = KINDS[index]
    position = data.index(b'"kind":"' + kind.encode()) + 9

    check = verify_receipt(changed(data, position), hub_signer().certificate)

    assert (check.first_broken or "").startswith(f"record {index + 1} of the receipt ({kind}")


def test_a_space_turned_into_a_tab_inside_a_tag_is_caught_though_the_signature_holds() -> None:
    data = receipt()
    position = data.index(b" recordHash=", data.index(b'kind="retrieved"') - 400)
    tabbed = data[:position] + b"\t" + data[position + 1 :]

    check = verify_receipt(tabbed, hub_signer().certificate)

    assert (check.ok, check.signature_valid) == (False, True)
    assert (check.first_broken or "").startswith("record ")


def test_a_changed_checkpoint_is_named() -> None:
    data = receipt()
    position = data.index(b'"checkpoint":1') + 13

    check = verify_receipt(changed(data, position), hub_signer().certificate)

    assert check.first_broken == "the checkpoint"


def test_a_receipt_with_a_document_type_is_refused() -> None:
    data = b'<!DOCTYPE x [<!ENTITY e "x">]>' + receipt()

    check = verify_receipt(data, hub_signer().certificate)

    assert (check.ok, check.first_broken) == (False, "the receipt")


def test_a_truncated_receipt_is_placed_at_its_line() -> None:
    data = receipt()

    check = verify_receipt(data[: len(data) // 2], hub_signer().certificate)

    assert not check.ok
    assert "not well-formed" in check.problems[0]


_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _with_unused_bit_set(value: str) -> str | None:
    """``value`` with a padding bit of its last character set; None without padding."""
    core = value.rstrip()
    padded = core.rstrip("=")
    if len(padded) == len(core):
        return None
    last = _BASE64.index(padded[-1])
    return padded[:-1] + _BASE64[last ^ 1] + value[len(padded) :]


def _padded_signer() -> str:
    """The name of a test signer whose certificate's base64 ends in padding."""
    for number in range(200):
        name = f"hub {number}"
        der = hub_signer(name).certificate.public_bytes(serialization.Encoding.DER)
        if len(der) % 3:
            return name
    raise AssertionError("no certificate of 200 had a length that base64 pads")


@pytest.mark.parametrize("element", [b"DigestValue", b"X509Certificate"])
def test_a_base64_value_with_its_unused_bits_set_is_detected(element: bytes) -> None:
    name = _padded_signer()
    data = receipt(name)
    start = data.index(element + b">") + len(element) + 1
    end = data.index(b"</", start)
    loose = _with_unused_bit_set(data[start:end].decode("ascii"))
    assert loose is not None

    check = verify_receipt(
        data[:start] + loose.encode("ascii") + data[end:], hub_signer(name).certificate
    )

    assert check.ok is False
