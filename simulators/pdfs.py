"""Signed, unsigned and tampered PDFs for simulations and tests: a small PKI made on the spot.

Simulated agencies attach these to the documents they send, so the hub's count of digitally
signed documents (Decree 30/2020 signatures inside PDFs) can be checked against known
proportions. No key or certificate is stored anywhere: everything is generated per run.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

import edxml

SENDER = "000.00.12.H26"
RECIPIENT = "000.00.00.H26"


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Authority:
    """A test CA: its certificate and key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, common_name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def issue(self, common_name: str, organization: str | None = None) -> Signer:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(_usage(ca=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return Signer(cert, key, self)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass(frozen=True)
class TimeStampAuthority:
    """A test TSA (RSA: pyHanko's dummy timestamper signs with RSA only)."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    authority: Authority

    @classmethod
    def create(cls, authority: Authority) -> TimeStampAuthority:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA"))
            .issuer_name(authority.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(authority.key, hashes.SHA256())
        )
        return cls(cert, key, authority)

    def stamp(self, pdf: bytes) -> bytes:
        """``pdf`` with a document timestamp (ETSI.RFC3161) appended."""
        stamper = DummyTimeStamper(
            tsa_cert=_asn1(self.cert),
            tsa_key=_asn1_key(self.key),
            certs_to_embed=SimpleCertificateStore.from_certs([_asn1(self.authority.cert)]),
        )
        out = PdfTimeStamper(stamper).timestamp_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)),
            "sha256",
            validation_context=ValidationContext(trust_roots=[_asn1(self.authority.cert)]),
        )
        return out.getvalue()


@dataclass(frozen=True)
class Signer:
    """A signing certificate, its key, and the CA that issued it."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    authority: Authority

    def pyhanko_signer(self) -> signers.SimpleSigner:
        return signers.SimpleSigner(
            signing_cert=_asn1(self.cert),
            signing_key=_asn1_key(self.key),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(self.authority.cert)]),
        )


def blank_pdf(text: str = "Cong van so 1/UBND-VP") -> bytes:
    """A one-page PDF whose page shows ``text``."""
    writer = PdfFileWriter()
    content = generic.StreamObject(
        stream_data=f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    )
    font = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
        }
    )
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 595, 842)]
            ),
            generic.pdf_name("/Contents"): writer.add_object(content),
            generic.pdf_name("/Resources"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Font"): generic.DictionaryObject(
                        {generic.pdf_name("/F1"): writer.add_object(font)}
                    )
                }
            ),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign(pdf: bytes, signer: Signer, field: str = "Signature1") -> bytes:
    """``pdf`` with one more signature, in a new field, as an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(
        writer,
        signers.PdfSignatureMetadata(field_name=field),
        signer=signer.pyhanko_signer(),
    )
    return out.getvalue()


def flip_signed_byte(pdf: bytes) -> bytes:
    """``pdf`` with one byte changed inside the first signed range (the page's text)."""
    at = pdf.index(b"UBND")
    return pdf[:at] + b"X" + pdf[at + 1 :]


def relabel_as_unsupported_format(pdf: bytes) -> bytes:
    """``pdf`` with its signature's SubFilter renamed to the PKCS#1 format (same length)."""
    return pdf.replace(b"/adbe.pkcs7.detached", b"/adbe.x509.rsa_sha1 ", 1)


def append_update(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update that changes the page's text after signing."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    content = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td (Da sua) Tj ET")
    page[generic.pdf_name("/Contents")] = writer.add_object(content)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zipped(members: dict[str, bytes], level: int = 6) -> bytes:
    """A zip archive holding ``members`` (name → bytes), deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def packet(*files: edxml.FileToAttach) -> bytes:
    """A document packet carrying ``files``."""
    document, contents = edxml.new_document(
        sender=SENDER,
        recipients=[RECIPIENT],
        number="12",
        notation="UBND-VP",
        subject="Về việc thử nghiệm chữ ký số",
        files=files,
    )
    return edxml.build(document, contents)
