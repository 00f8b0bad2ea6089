"""Test helpers for signatures: throw-away CAs and leaf certificates, hand-written packets.

Keys are generated at test time and never written to the repository. The packets follow
the prefix layout of the public samples (default namespace on the root, ``edXML:`` inside).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from edxml.namespaces import EDXML_NS

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Identity:
    """A private key and its certificate."""

    key: PrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@functools.cache
def _rsa_key(slot: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_key(kind: str = "rsa", slot: int = 0) -> PrivateKey:
    """A key; RSA keys are cached per ``slot`` because generating them is slow."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return _rsa_key(slot)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Văn phòng UBND Thử nghiệm"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_cert(
    subject: str,
    key: PrivateKey,
    issuer: Identity | None = None,
    *,
    ca: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Identity:
    """A certificate for ``key``, self-signed when ``issuer`` is None."""
    now = datetime.now(UTC)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.cert.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return Identity(key, builder.sign(signer_key, hashes.SHA256()))


@functools.cache
def root_ca() -> Identity:
    """The test root CA."""
    return make_cert("Test Root CA", new_key(slot=1), ca=True)


@functools.cache
def other_ca() -> Identity:
    """A CA nobody trusts."""
    return make_cert("Other Root CA", new_key(slot=2), ca=True)


@functools.cache
def signer() -> Identity:
    """An RSA leaf issued by :func:`root_ca`."""
    return make_cert("Nguyễn Văn Thư", new_key(slot=3), root_ca())


@functools.cache
def stranger() -> Identity:
    """An RSA leaf issued by :func:`other_ca`."""
    return make_cert("Người lạ", new_key(slot=4), other_ca())


ATTACHMENT = base64.b64encode(bytes(range(256)) * 24).decode()


def document_packet(
    *,
    attachment: str = ATTACHMENT,
    subject: str = "V/v kết nối, liên thông phần mềm quản lý văn bản",
    newline: str = "\n",
    trace: bool = True,
) -> bytes:
    """A small document packet in the samples' layout."""
    trace_list = (
        """      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:Timestamp>2024/05/06 08:30:00</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Văn bản điện tử mới</edXML:BussinessDocReason>
          <edXML:Paper>0</edXML:Paper>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
"""
        if trace
        else ""
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.12.H26</edXML:OrganId>
          <edXML:OrganName>Sở Thông tin &amp; Truyền thông Hà Nội</edXML:OrganName>
        </edXML:From>
        <edXML:To>
          <edXML:OrganId>000.00.00.H26</edXML:OrganId>
          <edXML:OrganName>UBND Thành phố Hà Nội</edXML:OrganName>
        </edXML:To>
        <edXML:DocumentId>000.00.12.H26,2024/05/06,123/STTTT-VP</edXML:DocumentId>
        <edXML:Code>
          <edXML:CodeNumber>123</edXML:CodeNumber>
          <edXML:CodeNotation>STTTT-VP</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>Hà Nội</edXML:Place>
          <edXML:PromulgationDate>2024/05/06</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:DocumentType>
          <edXML:Type>1</edXML:Type>
          <edXML:TypeName>Công văn</edXML:TypeName>
        </edXML:DocumentType>
        <edXML:Subject>{subject}</edXML:Subject>
      </edXML:MessageHeader>
{trace_list}    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference>
          <edXML:ContentId>cid:1</edXML:ContentId>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:AttachmentName>congvan.pdf</edXML:AttachmentName>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <AttachmentName>congvan.pdf</AttachmentName>
      <ContentType>application/pdf</ContentType>
      <edXML:ContentTransferEncoded xmlns:edXML="{EDXML_NS}"
        >{attachment}</edXML:ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
"""
    return text.replace("\n", newline).encode("utf-8")


def status_packet() -> bytes:
    """A status packet (code 03): a header with only a MessageHeader."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.00.H26</edXML:OrganId>
        </edXML:From>
        <edXML:ResponseFor>
          <edXML:OrganId>000.00.12.H26</edXML:OrganId>
          <edXML:DocumentId>000.00.12.H26,2024/05/06,123/STTTT-VP</edXML:DocumentId>
        </edXML:ResponseFor>
        <edXML:StatusCode>03</edXML:StatusCode>
        <edXML:Description>Đã tiếp nhận, vào sổ</edXML:Description>
        <edXML:Timestamp>2024/05/06 09:00:00</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
""".encode()


def _big_chunks(size: int) -> Iterator[bytes]:
    head, tail = document_packet(attachment="@@ATTACHMENT@@").split(b"@@ATTACHMENT@@")
    yield head
    line = base64.b64encode(bytes(range(256)) * 3) + b"\n"
    block = line * 1024
    written = len(head) + len(tail)
    while written + len(block) <= size:
        yield block
        written += len(block)
    yield tail


def write_big_packet(path: Path, size: int) -> Path:
    """Write a document packet of about ``size`` bytes (mostly base64) to ``path``."""
    with path.open("wb") as out:
        for chunk in _big_chunks(size):
            out.write(chunk)
    return path
