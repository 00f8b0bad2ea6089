"""Seed corpora for the fuzz targets, made at run time: packets the project builds itself,
and the public sample packets (read from the shared folder, never copied into the repository)
with their attachment content cut short so that the fuzzer mutates markup, not base64."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT.parent / "shared" / "samples" / "edxml"
SEED_CONTENT_MAX = 256
"""Base64 characters of attachment content kept in a seed."""

_CONTENT = re.compile(rb"(ContentTransferEncoded[^>]*>)([^<]*)(<)")


def _zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư thử nghiệm")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def generated_packets() -> list[bytes]:
    """Document and status packets built by edxml, unsigned, signed and legacy-signed."""
    from edxml.builder import build
    from edxml.compose import FileToAttach, new_document, status_for
    from edxml.signature import sign

    document, contents = new_document(
        sender="000.05.12.H26",
        recipients=["000.00.12.H26", "000.00.00.H26"],
        number="15",
        notation="UBND-VP",
        subject="Về việc triển khai chữ ký số chuyên dùng",
        date=dt.date(2026, 11, 20),
        place="Hà Nội",
        files=[
            FileToAttach(b"%PDF-1.7 seed", name="vanban.pdf"),
            FileToAttach(b"%PDF-1.7 zipped", name="phuluc.pdf", zip=True),
        ],
        timestamp=dt.datetime(2026, 11, 20, 8, 30, 0),
    )
    unsigned = build(document, contents)
    status = build(status_for(document, "03", timestamp=dt.datetime(2026, 11, 20, 9, 0, 0)))
    key, cert = _key_and_cert()
    return [
        unsigned,
        status,
        sign(unsigned, key, cert),
        sign(unsigned, key, cert, legacy=True),
        sign(status, key, cert, c14n="inclusive"),
    ]


def sample_packets() -> list[bytes]:
    """The public samples, attachment content cut short; none when the folder is absent."""
    if not SAMPLES_DIR.is_dir():
        return []
    return [
        _CONTENT.sub(lambda m: m[1] + m[2][:SEED_CONTENT_MAX] + m[3], path.read_bytes())
        for path in sorted(SAMPLES_DIR.glob("*.edxml"))
    ]


def attachment_texts() -> list[bytes]:
    """Base64 texts as attachments carry them: raw, zipped, wrapped, empty, unpadded."""
    pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
    return [
        base64.b64encode(pdf),
        base64.encodebytes(_zip_of("vanban.pdf", pdf)),
        base64.b64encode(_zip_of("a/../b.doc", b"x" * 64)),
        b"",
        base64.b64encode(b"abcde").rstrip(b"="),
    ]


def write(folder: Path, seeds: Iterable[bytes]) -> int:
    """Write each seed to ``folder`` under its hash; the number written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds:
        (folder / hashlib.sha256(seed).hexdigest()[:16]).write_bytes(seed)
        count += 1
    return count
