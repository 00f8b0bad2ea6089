"""Packet signatures: verification outcomes, signing in both layouts, tampering and trust."""

from __future__ import annotations

import base64
import io
import re
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree
from signxml.signer import XMLSigner
from signxml.verifier import XMLVerifier

import edxml.signature as signature_module
from edxml.errors import PacketError, SigningError
from edxml.namespaces import DSIG_NS, EDXML_NS
from edxml.signature import SignatureOutcome, load_key_and_cert, sign, verify
from tests.unit import sigtools
from tests.unit.sigtools import (
    Identity,
    document_packet,
    make_cert,
    new_key,
    root_ca,
    status_packet,
    stranger,
    write_big_packet,
)

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGNATURE_SPAN = re.compile(rb"<(ds:)?Signature[ >].*?</(ds:)?Signature>", re.DOTALL)


@pytest.fixture
def signer() -> Identity:
    return sigtools.signer()


def signed_document(signer: Identity, **options: object) -> bytes:
    return sign(document_packet(), signer.key, signer.cert, **options)  # type: ignore[arg-type]


def flip_base64_char(data: bytes, start: int) -> bytes:
    char = data[start : start + 1]
    return data[:start] + (b"B" if char != b"B" else b"C") + data[start + 1 :]


# -- the public samples ------------------------------------------------------------------


def test_public_document_samples_are_unverifiable_because_of_the_truncated_certificate(
    edoc_sample_paths: list[Path],
) -> None:
    assert edoc_sample_paths
    for path in edoc_sample_paths:
        outcome = verify(path)
        assert outcome.status == "unverifiable", path.name
        assert outcome.reason is not None
        assert "certificate" in outcome.reason
        assert outcome.layout == "legacy"
        assert outcome.signer == "CN=user05"
        assert outcome.signature_algorithm == RSA_SHA1


def test_public_status_samples_carry_no_signature(status_sample_paths: list[Path]) -> None:
    assert status_sample_paths
    for path in status_sample_paths:
        assert verify(path).status == "absent", path.name


# -- signing and verifying ---------------------------------------------------------------


@pytest.mark.parametrize("c14n", ["exclusive", "inclusive"])
@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
@pytest.mark.parametrize("packet", [document_packet, status_packet], ids=["document", "status"])
def test_signed_packet_verifies_as_valid(
    signer: Identity, packet: object, legacy: bool, c14n: str
) -> None:
    assert callable(packet)
    signed = sign(packet(), signer.key, signer.cert, legacy=legacy, c14n=c14n)  # type: ignore[arg-type]
    outcome = verify(signed)
    assert outcome.status == "valid", outcome.reason
    assert outcome.layout == ("legacy" if legacy else "standard")
    assert outcome.c14n_algorithm is not None
    assert ("exc-c14n" in outcome.c14n_algorithm) == (c14n == "exclusive")


def test_valid_outcome_reports_algorithms_signer_and_fingerprint(signer: Identity) -> None:
    outcome = verify(signed_document(signer))
    assert outcome.signature_algorithm == RSA_SHA256
    assert outcome.digest_algorithm == "http://www.w3.org/2001/04/xmlenc#sha256"
    assert outcome.signer == signer.cert.subject.rfc4514_string()
    assert outcome.certificate_sha256 == signer.cert.fingerprint(hashes.SHA256()).hex()
    assert outcome.digest_matches is True
    assert outcome.trusted is None
    assert outcome.signature_count == 1


@pytest.mark.parametrize("c14n", ["exclusive", "inclusive"])
def test_signxml_accepts_our_standard_layout_signature(signer: Identity, c14n: str) -> None:
    signed = signed_document(signer, c14n=c14n)
    result = XMLVerifier().verify(signed, x509_cert=signer.cert)
    assert not isinstance(result, list)
    assert result.signed_xml is not None


def test_signature_made_directly_by_signxml_verifies(signer: Identity) -> None:
    root = etree.fromstring(document_packet())
    signed = etree.tostring(XMLSigner().sign(root, key=signer.key, cert=[signer.cert]))
    outcome = verify(signed)
    assert outcome.status == "valid", outcome.reason
    assert outcome.c14n_algorithm == "http://www.w3.org/2006/12/xml-c14n11"


def test_legacy_layout_can_use_rsa_sha1_for_old_receivers(signer: Identity) -> None:
    outcome = verify(signed_document(signer, legacy=True, algorithm="rsa-sha1"))
    assert outcome.status == "valid", outcome.reason
    assert outcome.signature_algorithm == RSA_SHA1
    assert outcome.digest_algorithm == "http://www.w3.org/2000/09/xmldsig#sha1"


def test_standard_layout_refuses_rsa_sha1(signer: Identity) -> None:
    with pytest.raises(SigningError, match="rsa-sha1"):
        signed_document(signer, algorithm="rsa-sha1")


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_ecdsa_signature_verifies(legacy: bool) -> None:
    ec_signer = make_cert("EC signer", new_key("ec"), root_ca())
    outcome = verify(signed_document(ec_signer, legacy=legacy))
    assert outcome.status == "valid", outcome.reason
    assert outcome.signature_algorithm == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


def test_legacy_signature_is_unprefixed_in_the_edxml_namespace(signer: Identity) -> None:
    root = etree.fromstring(signed_document(signer, legacy=True))
    element = root.find(f".//{{{EDXML_NS}}}Signature")
    assert element is not None
    assert element.prefix is None
    names = [etree.QName(e).localname for e in element.iter("*")]
    assert names[:4] == ["Signature", "SignedInfo", "CanonicalizationMethod", "SignatureMethod"]
    assert "X509SubjectName" in names
    assert "X509Certificate" in names
    assert root.find(f".//{{{DSIG_NS}}}Signature") is None


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_signature_is_placed_right_after_trace_header_list(signer: Identity, legacy: bool) -> None:
    root = etree.fromstring(signed_document(signer, legacy=legacy))
    trace = root.find(f".//{{{EDXML_NS}}}TraceHeaderList")
    assert trace is not None
    following = trace.getnext()
    assert following is not None
    assert etree.QName(following).localname == "Signature"
    assert following.getnext() is None


def test_status_packet_signature_is_placed_right_after_message_header(signer: Identity) -> None:
    root = etree.fromstring(sign(status_packet(), signer.key, signer.cert))
    message = root.find(f".//{{{EDXML_NS}}}MessageHeader")
    assert message is not None
    following = message.getnext()
    assert following is not None
    assert etree.QName(following).text == f"{{{DSIG_NS}}}Signature"


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_signing_changes_nothing_but_the_inserted_signature(signer: Identity, legacy: bool) -> None:
    packet = document_packet(newline="\r\n")
    signed = sign(packet, signer.key, signer.cert, legacy=legacy)
    span = SIGNATURE_SPAN.search(signed)
    assert span is not None
    before, after = signed[: span.start()], signed[span.end() :]
    assert before.endswith(b"</edXML:TraceHeaderList>\r\n      ")
    assert before.rstrip() + after == packet


def test_packet_with_leading_stray_bytes_is_signed_without_them(signer: Identity) -> None:
    signed = sign(b"1212" + document_packet(), signer.key, signer.cert, legacy=True)
    assert signed.startswith(b"<?xml")
    assert verify(signed).status == "valid"


def test_packet_without_default_namespace_gets_a_declared_legacy_signature(
    signer: Identity,
) -> None:
    packet = document_packet().replace(
        f'<edXML xmlns="{EDXML_NS}">'.encode(), f'<edXML:edXML xmlns:edXML="{EDXML_NS}">'.encode()
    )
    packet = packet.replace(b"</edXML>\n", b"</edXML:edXML>\n")
    packet = re.sub(
        rb"<(/?)(AttachmentEncoded|Attachment|Content|ContentId)", rb"<\1edXML:\2", packet
    )
    packet = packet.replace(b"<AttachmentName>congvan.pdf</AttachmentName>", b"")
    packet = packet.replace(b"<ContentType>application/pdf</ContentType>", b"")
    signed = sign(packet, signer.key, signer.cert, legacy=True)
    assert f'<Signature xmlns="{EDXML_NS}">'.encode() in signed
    assert verify(signed).status == "valid"


def test_sign_accepts_pem_bytes_for_key_and_certificate(signer: Identity) -> None:
    signed = sign(document_packet(), signer.key_pem, signer.cert_pem)
    assert verify(signed).status == "valid"


def test_load_key_and_cert_reads_an_encrypted_key(signer: Identity, tmp_path: Path) -> None:
    key_path = tmp_path / "key.pem"
    key_path.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"mat-khau"),
        )
    )
    cert_path = tmp_path / "cert.der"
    cert_path.write_bytes(signer.cert.public_bytes(serialization.Encoding.DER))
    key, cert = load_key_and_cert(key_path, cert_path, password=b"mat-khau")
    assert cert == signer.cert
    assert verify(sign(document_packet(), key, cert)).status == "valid"


def test_load_key_and_cert_with_a_wrong_password_raises_signing_error(
    signer: Identity, tmp_path: Path
) -> None:
    key_path = tmp_path / "key.pem"
    key_path.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right"),
        )
    )
    cert_path = tmp_path / "cert.pem"
    cert_path.write_bytes(signer.cert_pem)
    with pytest.raises(SigningError, match="private key"):
        load_key_and_cert(key_path, cert_path, password=b"wrong")


def test_certificate_of_another_key_is_refused(signer: Identity) -> None:
    with pytest.raises(SigningError, match="does not belong"):
        sign(document_packet(), signer.key, stranger().cert)


def test_packet_without_edxml_header_cannot_be_signed(signer: Identity) -> None:
    with pytest.raises(SigningError, match="edXMLHeader"):
        sign(b"<r><x/></r>", signer.key, signer.cert)


def test_signing_a_signed_packet_is_refused(signer: Identity) -> None:
    signed = signed_document(signer)
    with pytest.raises(SigningError, match="already carries a signature"):
        sign(signed, signer.key, signer.cert)


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_replace_true_resigns_with_exactly_one_signature(signer: Identity, legacy: bool) -> None:
    signed = signed_document(signer, legacy=True)
    resigned = sign(signed, stranger().key, stranger().cert, legacy=legacy, replace=True)
    outcome = verify(resigned)
    assert outcome.status == "valid", outcome.reason
    assert outcome.signature_count == 1
    assert outcome.signer == stranger().cert.subject.rfc4514_string()
    spans = list(SIGNATURE_SPAN.finditer(resigned))
    assert len(spans) == 1
    assert resigned[: spans[0].start()].rstrip() + resigned[spans[0].end() :] == document_packet()


# -- tampering -----------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_changed_header_character_is_invalid_with_a_digest_reason(
    signer: Identity, legacy: bool
) -> None:
    signed = signed_document(signer, legacy=legacy)
    tampered = signed.replace(b"STTTT-VP</edXML:CodeNotation>", b"STTTT-VQ</edXML:CodeNotation>")
    assert tampered != signed
    outcome = verify(tampered)
    assert outcome.status == "invalid"
    assert outcome.reason is not None
    assert "digest" in outcome.reason
    assert outcome.digest_matches is False


def test_changed_attachment_byte_is_invalid(signer: Identity) -> None:
    signed = signed_document(signer)
    start = signed.index(b"<edXML:ContentTransferEncoded") + 200
    outcome = verify(flip_base64_char(signed, start))
    assert outcome.status == "invalid"
    assert outcome.digest_matches is False


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_altered_signature_value_is_invalid_with_a_signature_reason(
    signer: Identity, legacy: bool
) -> None:
    signed = signed_document(signer, legacy=legacy)
    match = re.search(rb"SignatureValue>([^<]+)<", signed)
    assert match is not None
    value = bytearray(base64.b64decode(match.group(1)))
    value[10] ^= 0x01
    tampered = signed.replace(match.group(1), base64.b64encode(bytes(value)))
    outcome = verify(tampered)
    assert outcome.status == "invalid"
    assert outcome.reason is not None
    assert "signature value" in outcome.reason
    assert outcome.digest_matches is True


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_swapped_certificate_is_invalid(signer: Identity, legacy: bool) -> None:
    signed = signed_document(signer, legacy=legacy)
    match = re.search(rb"X509Certificate>([^<]+)<", signed)
    assert match is not None
    other = base64.b64encode(stranger().cert.public_bytes(serialization.Encoding.DER))
    outcome = verify(signed.replace(match.group(1), other))
    assert outcome.status == "invalid"
    assert outcome.signer == stranger().cert.subject.rfc4514_string()


def _with_unreadable_subject(der: bytes) -> bytes:
    """``der`` with a byte of its subject's common name made invalid UTF-8: the certificate
    still loads (cryptography reads names only when asked), its subject does not."""
    common_name = bytes([0x06, 0x03, 0x55, 0x04, 0x03])
    value = der.rindex(common_name) + len(common_name) + 2
    return der[:value] + b"\xff" + der[value + 1 :]


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_an_embedded_certificate_whose_subject_cannot_be_read_is_unverifiable(
    signer: Identity, legacy: bool
) -> None:
    signed = signed_document(signer, legacy=legacy)
    match = re.search(rb"X509Certificate>([^<]+)<", signed)
    assert match is not None
    der = signer.cert.public_bytes(serialization.Encoding.DER)
    damaged = signed.replace(match.group(1), base64.b64encode(_with_unreadable_subject(der)))
    outcome = verify(damaged)
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "certificate" in outcome.reason
    assert verify(io.BytesIO(damaged)) == outcome


def test_an_embedded_certificate_of_an_unknown_version_is_unverifiable(signer: Identity) -> None:
    signed = signed_document(signer)
    match = re.search(rb"X509Certificate>([^<]+)<", signed)
    assert match is not None
    der = signer.cert.public_bytes(serialization.Encoding.DER)
    version = der.index(bytes([0xA0, 0x03, 0x02, 0x01, 0x02])) + 4
    damaged_der = der[:version] + bytes([18]) + der[version + 1 :]
    outcome = verify(signed.replace(match.group(1), base64.b64encode(damaged_der)))
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "version" in outcome.reason


def test_an_embedded_certificate_with_non_ascii_characters_is_unverifiable(
    signer: Identity,
) -> None:
    signed = signed_document(signer)
    match = re.search(rb"X509Certificate>([^<]+)<", signed)
    assert match is not None
    damaged = signed.replace(match.group(1), match.group(1)[:40] + "chữ".encode() + b"==")
    outcome = verify(damaged)
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "base64" in outcome.reason


# -- unverifiable and absent ---------------------------------------------------------------


def test_packet_without_signature_is_absent() -> None:
    outcome = verify(document_packet())
    assert outcome == SignatureOutcome(status="absent")


def test_reference_to_an_element_id_is_unverifiable(signer: Identity) -> None:
    signed = signed_document(signer).replace(b'URI=""', b'URI="#header"')
    outcome = verify(signed)
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "URI" in outcome.reason


def test_signature_without_certificate_is_unverifiable(signer: Identity) -> None:
    signed = re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", b"", signed_document(signer), flags=re.S)
    outcome = verify(signed)
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "certificate" in outcome.reason
    assert outcome.digest_matches is True


def test_unsupported_signature_method_is_unverifiable(signer: Identity) -> None:
    signed = signed_document(signer).replace(
        RSA_SHA256.encode(), b"http://www.w3.org/2000/09/xmldsig#dsa-sha1"
    )
    outcome = verify(signed)
    assert outcome.status == "unverifiable"
    assert outcome.reason is not None
    assert "signature method" in outcome.reason


def test_only_the_first_signature_in_document_order_is_evaluated(signer: Identity) -> None:
    packet = document_packet().replace(
        b"</AttachmentEncoded>", b"<Signature><SignedInfo/></Signature></AttachmentEncoded>"
    )
    root = etree.fromstring(packet)
    trace = root.find(f".//{{{EDXML_NS}}}TraceHeaderList")
    assert trace is not None
    placeholder = etree.Element(f"{{{DSIG_NS}}}Signature", Id="placeholder")
    trace.addnext(placeholder)
    signed = etree.tostring(XMLSigner().sign(root, key=signer.key, cert=[signer.cert]))
    outcome = verify(signed)
    assert outcome.status == "valid", outcome.reason
    assert outcome.signature_count == 2


def test_packet_with_a_doctype_raises_instead_of_returning_an_outcome() -> None:
    packet = b'<!DOCTYPE edXML [<!ENTITY e "x">]>' + document_packet().split(b"?>", 1)[1]
    with pytest.raises(PacketError):
        verify(packet)


# -- trust ---------------------------------------------------------------------------------


def test_certificate_issued_by_a_trust_anchor_is_trusted(signer: Identity) -> None:
    outcome = verify(signed_document(signer), trust_anchors=[root_ca().cert])
    assert outcome.status == "valid"
    assert outcome.trusted is True
    assert outcome.trust_reason is None


def test_certificate_from_another_ca_is_not_trusted(signer: Identity) -> None:
    outcome = verify(signed_document(stranger()), trust_anchors=[root_ca().cert])
    assert outcome.status == "valid"
    assert outcome.trusted is False
    assert outcome.trust_reason is not None
    assert "trust anchor" in outcome.trust_reason


def test_trust_is_not_evaluated_without_anchors(signer: Identity) -> None:
    assert verify(signed_document(signer)).trusted is None


def test_expired_certificate_is_not_trusted_and_says_why() -> None:
    now = datetime.now(UTC)
    expired = make_cert(
        "Hết hạn",
        new_key(slot=5),
        root_ca(),
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=10),
    )
    outcome = verify(signed_document(expired), trust_anchors=[root_ca().cert])
    assert outcome.status == "valid"
    assert outcome.trusted is False
    assert outcome.trust_reason is not None
    assert "expired" in outcome.trust_reason


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
def test_intermediate_certificate_in_key_info_completes_the_chain(legacy: bool) -> None:
    intermediate = make_cert("Intermediate CA", new_key(slot=6), root_ca(), ca=True)
    leaf = make_cert("Cán bộ văn thư", new_key(slot=7), intermediate)
    signed = signed_document(leaf, legacy=legacy, chain=[intermediate.cert])
    outcome = verify(signed, trust_anchors=[root_ca().cert])
    assert outcome.status == "valid", outcome.reason
    assert outcome.signer == leaf.cert.subject.rfc4514_string()
    assert outcome.trusted is True


def test_trust_anchors_can_be_given_as_pem_files(signer: Identity, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(stranger().cert_pem + root_ca().cert_pem)
    assert verify(signed_document(signer), trust_anchors=[anchors]).trusted is True


# -- sources and the streaming path --------------------------------------------------------


class NonSeekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("streaming", [False, True], ids=["in-memory", "streaming"])
def test_verify_reads_paths_files_and_unseekable_streams(
    signer: Identity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    if streaming:
        monkeypatch.setattr(signature_module, "FAST_PATH_MAX", 1024)
    signed = signed_document(signer)
    path = tmp_path / "signed.edxml"
    path.write_bytes(signed)
    with path.open("rb") as handle:
        from_file = verify(handle)
    from_stream = verify(io.BufferedReader(NonSeekable(signed)))
    for outcome in (verify(path), verify(str(path)), from_file, from_stream):
        assert outcome.status == "valid", outcome.reason


@pytest.mark.parametrize("legacy", [False, True], ids=["standard", "legacy"])
@pytest.mark.parametrize("c14n", ["exclusive", "inclusive"])
def test_streaming_path_reaches_the_same_outcomes_as_the_fast_path(
    signer: Identity, monkeypatch: pytest.MonkeyPatch, legacy: bool, c14n: str
) -> None:
    signed = signed_document(signer, legacy=legacy, c14n=c14n)
    tampered = signed.replace("Hà Nội</edXML:Place>".encode(), "Hà Nộj</edXML:Place>".encode())
    fast = [verify(signed), verify(tampered)]
    monkeypatch.setattr(signature_module, "FAST_PATH_MAX", 0)
    assert [verify(signed), verify(tampered)] == fast
    assert [o.status for o in fast] == ["valid", "invalid"]


def test_signature_after_a_large_buffer_is_checked_in_a_second_pass(
    signer: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = etree.fromstring(document_packet())
    signed = etree.tostring(XMLSigner().sign(root, key=signer.key, cert=[signer.cert]))
    monkeypatch.setattr(signature_module, "FAST_PATH_MAX", 0)
    monkeypatch.setattr(signature_module, "_BUFFER_MAX", 100)
    assert verify(signed).status == "valid"
    tampered = flip_base64_char(signed, signed.index(b"<edXML:ContentTransferEncoded") + 200)
    assert verify(tampered).status == "invalid"


@pytest.mark.slow
def test_thirty_megabyte_packet_is_verified_streaming_in_bounded_memory(
    signer: Identity, tmp_path: Path
) -> None:
    started = time.perf_counter()
    packet = write_big_packet(tmp_path / "big.edxml", 30 * 1024 * 1024).read_bytes()
    signed_path = tmp_path / "signed.edxml"
    signed_path.write_bytes(sign(packet, signer.key, signer.cert, legacy=True))
    del packet
    tracemalloc.start()
    try:
        outcome = verify(signed_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.status == "valid", outcome.reason
    assert peak < 8 * 1024 * 1024
    assert time.perf_counter() - started < 10
