"""Revocation: a packet signed with a certificate its CA has revoked is not trusted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from edxml.errors import EdxmlError
from edxml.inspect import inspect
from edxml.signature import load_crls, sign, verify
from tests.unit import sigtools
from tests.unit.sigtools import Identity, document_packet, make_cert, new_key, root_ca


def revocation_list(
    issuer: Identity,
    revoked: list[x509.Certificate],
    *,
    next_update: timedelta = timedelta(days=7),
    revoked_at: datetime | None = None,
) -> x509.CertificateRevocationList:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + next_update)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(revoked_at or now - timedelta(minutes=30))
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256())  # type: ignore[arg-type]


def signed_by(identity: Identity) -> bytes:
    return sign(document_packet(), identity.key, identity.cert)  # type: ignore[arg-type]


def test_a_revoked_signing_certificate_is_not_trusted() -> None:
    signer = sigtools.signer()
    crl = revocation_list(root_ca(), [signer.cert])

    outcome = verify(signed_by(signer), trust_anchors=[root_ca().cert], crls=[crl])

    assert outcome.status == "valid"
    assert outcome.trusted is False
    assert outcome.trust_reason is not None
    assert "was revoked on" in outcome.trust_reason


def test_a_certificate_the_list_does_not_name_stays_trusted() -> None:
    other = make_cert("Trần Thị Ký", new_key(slot=5), root_ca())
    crl = revocation_list(root_ca(), [other.cert])

    outcome = verify(signed_by(sigtools.signer()), trust_anchors=[root_ca().cert], crls=[crl])

    assert (outcome.status, outcome.trusted) == ("valid", True)


def test_an_out_of_date_list_leaves_revocation_unknown_and_the_signer_untrusted() -> None:
    crl = revocation_list(root_ca(), [], next_update=timedelta(hours=-1))

    outcome = verify(signed_by(sigtools.signer()), trust_anchors=[root_ca().cert], crls=[crl])

    assert outcome.trusted is False
    assert outcome.trust_reason is not None
    assert "out of date" in outcome.trust_reason


def test_a_list_not_signed_by_the_issuer_is_ignored() -> None:
    forged = x509.CertificateRevocationListBuilder()
    now = datetime.now(UTC)
    forged = (
        forged.issuer_name(root_ca().cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(sigtools.signer().cert.serial_number)
            .revocation_date(now - timedelta(minutes=5))
            .build()
        )
    )
    crl = forged.sign(sigtools.other_ca().key, hashes.SHA256())  # type: ignore[arg-type]

    outcome = verify(signed_by(sigtools.signer()), trust_anchors=[root_ca().cert], crls=[crl])

    assert outcome.trusted is True


def test_a_revocation_dated_in_the_future_does_not_count_yet() -> None:
    signer = sigtools.signer()
    crl = revocation_list(
        root_ca(), [signer.cert], revoked_at=datetime.now(UTC) + timedelta(days=1)
    )

    outcome = verify(signed_by(signer), trust_anchors=[root_ca().cert], crls=[crl])

    assert outcome.trusted is True


def test_an_intermediate_revoked_by_the_root_breaks_the_chain() -> None:
    intermediate = make_cert("Test Intermediate CA", new_key(slot=6), root_ca(), ca=True)
    leaf = make_cert("Lê Văn Ký", new_key(slot=7), intermediate)
    packet = sign(
        document_packet(),
        leaf.key,  # type: ignore[arg-type]
        leaf.cert,
        chain=[intermediate.cert],
    )
    crl = revocation_list(root_ca(), [intermediate.cert])

    trusted = verify(packet, trust_anchors=[root_ca().cert])
    revoked = verify(packet, trust_anchors=[root_ca().cert], crls=[crl])

    assert trusted.trusted is True
    assert revoked.trusted is False
    assert "Test Intermediate CA" in (revoked.trust_reason or "")


def test_inspect_judges_revocation_on_the_same_pass() -> None:
    signer = sigtools.signer()
    crl = revocation_list(root_ca(), [signer.cert])

    signature = inspect(signed_by(signer), trust_anchors=[root_ca().cert], crls=[crl]).signature

    assert signature is not None
    assert signature.trusted is False


def test_lists_are_read_from_pem_files_with_several_and_from_der(tmp_path: Path) -> None:
    first = revocation_list(root_ca(), [sigtools.signer().cert])
    second = revocation_list(sigtools.other_ca(), [])
    pem = tmp_path / "lists.pem"
    pem.write_bytes(
        first.public_bytes(serialization.Encoding.PEM)
        + second.public_bytes(serialization.Encoding.PEM)
    )
    der = tmp_path / "list.crl"
    der.write_bytes(first.public_bytes(serialization.Encoding.DER))

    assert len(load_crls([pem, der])) == 3


def test_an_unreadable_list_is_an_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.crl"
    junk.write_bytes(b"not a list")

    with pytest.raises(EdxmlError, match=r"junk\.crl") as raised:
        load_crls([junk])
    assert raised.value.code == "signature.crl"
