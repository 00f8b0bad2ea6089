"""The demo of the edxml library (``make demo``): samples, a new document, signature, statuses.

It reads every public sample it can find, builds a document from a ward to its district and
the city, signs and verifies it, shows what tampering does, and answers it with statuses.
Keys are made on the spot; nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

import edxml  # noqa: E402
from edxml.models import Organization  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples" / "edxml"


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 76 - len(text)))


def make_signer() -> tuple[rsa.RSAPrivateKey, x509.Certificate, x509.Certificate]:
    """A demo CA and a clerk's certificate issued by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Demo CA lienthong")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư UBND phường Văn Miếu")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert, ca


def show_samples() -> int:
    heading("Public samples (../shared/samples/edxml)")
    paths = sorted(SAMPLES.glob("*.edxml")) if SAMPLES.is_dir() else []
    if not paths:
        print("samples not found beside the clone; skipping")
        return 0
    print(f"{'file':<36} {'kind':<6} {'type':>4} {'code':>4}  {'signature':<13} valid")
    failures = 0
    for path in paths:
        report = edxml.inspect(path)
        signature = report.signature.status if report.signature else "-"
        business = "" if report.business_type is None else str(report.business_type)
        print(
            f"{path.name:<36} {report.kind or '?':<6} {business:>4} "
            f"{report.status_code or '':>4}  {signature:<13} {'yes' if report.valid else 'NO'}"
        )
        failures += not report.valid
    return failures


def show_document(folder: Path) -> int:
    heading("A new document: ward → district and city, signed")
    pdf = b"%PDF-1.7\n% demo document\n" + bytes(range(256)) * 64
    packet, contents = edxml.new_document(
        sender=Organization(organ_id="000.05.12.H26", organ_name="UBND phường Văn Miếu"),
        recipients=[
            Organization(organ_id="000.00.12.H26", organ_name="UBND quận Đống Đa"),
            Organization(organ_id="000.00.00.H26", organ_name="UBND thành phố Hà Nội"),
        ],
        number="125",
        notation="UBND-VP",
        subject="Về việc đẩy mạnh xử lý văn bản, hồ sơ công việc trên môi trường mạng",
        place="Hà Nội",
        files=[
            edxml.FileToAttach(pdf, name="bao-cao.pdf"),
            edxml.FileToAttach(b"Phu luc", name="phu-luc.doc", zip=True),
        ],
    )
    data = edxml.build(packet, contents)
    key, cert, ca = make_signer()
    signed = edxml.sign(data, key, cert)
    (folder / "van-ban.edxml").write_bytes(signed)
    report = edxml.inspect(signed, trust_anchors=[ca])
    print(f"document id   {report.document_id}")
    print(f"from → to     {report.from_} → {', '.join(report.to)}")
    for attachment in report.attachments:
        kind = "zip" if attachment.zipped else attachment.content_type
        print(f"attachment    {attachment.name} ({kind}, {attachment.size} bytes)")
    assert report.signature is not None
    print(f"signature     {report.signature.status}, trusted: {report.signature.trusted}")
    legacy = edxml.sign(data, key, cert, legacy=True)
    print(f"legacy layout {edxml.verify(legacy).status}")
    tampered = signed.replace("Về việc đẩy mạnh".encode(), "Về việc tạm dừng".encode())
    outcome = edxml.verify(tampered)
    print(f"tampered      {outcome.status}: {outcome.reason}")
    ok = report.signature.status == "valid" and outcome.status == "invalid"
    back = edxml.parse(data)
    print(f"round trip    parse(build(m)) == m: {back == packet}")

    heading("Statuses answering it")
    for code in ("01", "03", "06"):
        status = edxml.status_for(packet, code)
        seen = edxml.inspect(edxml.build(status))
        print(
            f"{code}  from {seen.from_} to {seen.to[0]}  "
            f"'{status.header.description}'  valid: {seen.valid}"
        )
        ok = ok and seen.valid
    return 0 if ok and back == packet else 1


def show_refusals() -> int:
    heading("Hostile and broken input")
    cases = {
        "external entity": b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML>&x;</edXML>',
        "not XML": b"%PDF-1.7 definitely not a packet",
        "no status code": edxml.build(
            edxml.status_for(edxml.new_document(
                sender="000.05.12.H26", recipients=["000.00.12.H26"], number="1",
                notation="X", subject="s")[0], "03")
        ).replace(b"<edXML:StatusCode>03</edXML:StatusCode>", b""),
    }  # fmt: skip
    for label, data in cases.items():
        _, issues = edxml.check(data)
        issue = issues[0]
        print(f"{label:<16} → [{issue.code}] {issue.element} line {issue.line}: {issue.message}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="accepted for the hub demo's interface")
    parser.parse_args()
    failures = show_samples()
    with tempfile.TemporaryDirectory() as folder:
        failures += show_document(Path(folder))
    failures += show_refusals()
    heading("Result")
    print("all checks passed" if not failures else f"{failures} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
