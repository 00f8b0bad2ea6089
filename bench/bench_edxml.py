"""Benchmark of the edxml library: inspect throughput, 100 MB packet memory, hostile refusals.

Prints numbers; asserts nothing. Packets are built by the project's own code, signed with
a key made at run time. Run with ``make bench-edxml`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from edxml.builder import build, write  # noqa: E402
from edxml.compose import FileToAttach, new_document  # noqa: E402
from edxml.errors import PacketError  # noqa: E402
from edxml.inspect import inspect  # noqa: E402
from edxml.signature import sign  # noqa: E402


def make_key() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A throwaway RSA-2048 key and self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư UBND quận Đống Đa")])
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


def packet_of(size: int) -> bytes:
    """An unsigned document packet whose attachment makes it about ``size`` bytes."""
    payload = os.urandom(max(0, size * 3 // 4 - 3000))
    packet, contents = new_document(
        sender="000.05.12.H26",
        recipients=["000.00.12.H26", "000.00.00.H26"],
        number="125",
        notation="UBND-VP",
        subject="Về việc đẩy mạnh xử lý văn bản, hồ sơ công việc trên môi trường mạng",
        place="Hà Nội",
        files=[FileToAttach(payload, name="van-ban.pdf")],
    )
    return build(packet, contents)


def bench_inspect(seconds: float) -> None:
    key, cert = make_key()
    small = sign(packet_of(20_000), key, cert)
    unsigned = packet_of(20_000)
    print(f"packet size: {len(small)} bytes signed, {len(unsigned)} unsigned")
    for label, data, verify in (
        ("inspect signed 20 KB (parse + schema + signature)", small, True),
        ("inspect unsigned 20 KB (parse + schema)", unsigned, True),
        ("inspect signed 20 KB without signature check", small, False),
    ):
        inspect(data, verify_signature=verify)
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            result = inspect(data, verify_signature=verify)
            count += 1
        elapsed = time.perf_counter() - start
        assert result.valid
        print(f"{label:<55} {count / elapsed:8.0f} /s   ({elapsed / count * 1e6:.0f} µs each)")


def bench_large(size_mb: int) -> None:
    key, cert = make_key()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.edxml"
        payload = Path(folder) / "payload.bin"
        with open(payload, "wb") as out:
            for _ in range(size_mb * 3 // 4):
                out.write(os.urandom(1 << 20))
        packet, contents = new_document(
            sender="000.05.12.H26",
            recipients=["000.00.12.H26"],
            number="9",
            notation="UBND",
            subject="Hồ sơ lớn",
            files=[FileToAttach(payload, name="ho-so.pdf")],
        )
        with open(path, "wb") as out:
            write(packet, out, contents)
        signed_path = Path(folder) / "large-signed.edxml"
        signed_path.write_bytes(sign(path.read_bytes(), key, cert))
        payload.unlink()
        path.unlink()
        size = signed_path.stat().st_size
        code = (
            "import sys, time\n"
            "from edxml.cli import main\n"
            "t = time.perf_counter()\n"
            "rc = main(['inspect', '--json', sys.argv[1]])\n"
            "print('ELAPSED', time.perf_counter() - t, file=sys.stderr)\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print('MAXRSS', hwm.split()[1], file=sys.stderr)\n"
            "sys.exit(rc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(signed_path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        facts = dict(
            line.split(" ", 1)
            for line in done.stderr.splitlines()
            if line.startswith(("ELAPSED", "MAXRSS"))
        )
        status = '"status": "valid"' in done.stdout
        print(
            f"edxml inspect of a {size / 1e6:.0f} MB signed packet: exit {done.returncode}, "
            f"signature valid: {status}, {float(facts.get('ELAPSED', 'nan')):.1f} s, "
            f"peak RSS {int(facts.get('MAXRSS', '0')) / 1024:.0f} MB"
        )


def bench_hostile() -> None:
    root = '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    lol = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    cases = {
        "external entity": f'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>{root}&x;</edXML>',
        "billion laughs": f"<!DOCTYPE edXML [{lol}]>{root}&a9;</edXML>",
        "deep nesting (1e6)": root + "<a>" * 1_000_000 + "</a>" * 1_000_000 + "</edXML>",
        "gigantic text (200 MB)": root + "<Subject>" + "A" * 200_000_000 + "</Subject></edXML>",
    }
    for label, text in cases.items():
        data = text.encode()
        start = time.perf_counter()
        try:
            inspect(data)
            outcome = "accepted (!)"
        except PacketError as exc:
            outcome = exc.code
        elapsed_ms = (time.perf_counter() - start) * 1000
        print(f"hostile {label:<24} refused as {outcome:<22} in {elapsed_ms:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run, 20 MB large packet")
    args = parser.parse_args()
    bench_inspect(1.0 if args.quick else 5.0)
    bench_large(20 if args.quick else 100)
    bench_hostile()


if __name__ == "__main__":
    main()
