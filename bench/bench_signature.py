"""Benchmark of packet signatures: verify/s on a ~20 KB packet, peak RSS verifying 100 MB.

Prints numbers; asserts nothing. Keys are made at run time; the big packet lives in a
temporary directory. Peak RSS is the child process's VmHWM (Linux), which, unlike
ru_maxrss, does not inherit the parent's high-water mark. Run
``python bench/bench_signature.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edxml.signature import sign, verify  # noqa: E402
from tests.unit.sigtools import document_packet, root_ca, signer, write_big_packet  # noqa: E402

PEAK_RSS = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
CHILD = (
    PEAK_RSS
    + """
import sys, time
from edxml.signature import verify
started = time.perf_counter()
outcome = verify(sys.argv[1])
elapsed = time.perf_counter() - started
print(f"{outcome.status} {elapsed:.2f} {peak_rss_mb():.1f}")
"""
)
BASELINE = PEAK_RSS + "import edxml.signature\nprint(f'{peak_rss_mb():.1f}')"


def small_packet() -> bytes:
    """A document packet of about 20 KB, most of it a base64 attachment."""
    attachment = base64.b64encode(os.urandom(12_500)).decode()
    return document_packet(attachment=attachment)


def rate(packet: bytes, seconds: float, **options: object) -> float:
    """Verifications per second of ``packet`` on this core."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(50):
            verify(packet, **options)  # type: ignore[arg-type]
        done += 50
    return done / elapsed


def child(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
    )
    return result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run, 20 MB big packet")
    parser.add_argument("--size-mb", type=int, default=100, help="size of the big packet")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    size_mb = 20 if args.quick else args.size_mb
    identity = signer()

    packet = small_packet()
    print(f"small packet: {len(packet) / 1024:.1f} KB unsigned")
    for legacy in (False, True):
        signed = sign(packet, identity.key, identity.cert, legacy=legacy)
        layout = "legacy" if legacy else "standard"
        print(f"  verify, {layout:8} layout ({len(signed) / 1024:.1f} KB): ", end="", flush=True)
        print(f"{rate(signed, seconds):,.0f}/s")
    anchors = [root_ca().cert]
    signed = sign(packet, identity.key, identity.cert)
    trusted = rate(signed, seconds, trust_anchors=anchors)
    print(f"  verify + trust chain, standard: {trusted:,.0f}/s")

    with tempfile.TemporaryDirectory() as tmp:
        big = write_big_packet(Path(tmp) / "big.edxml", size_mb * 1024 * 1024)
        print(f"big packet: {big.stat().st_size / 2**20:.0f} MB")
        for legacy in (True, False):
            layout = "legacy" if legacy else "standard"
            started = time.perf_counter()
            signed_big = sign(big.read_bytes(), identity.key, identity.cert, legacy=legacy)
            path = Path(tmp) / f"signed-{layout}.edxml"
            path.write_bytes(signed_big)
            del signed_big
            took = time.perf_counter() - started
            status, elapsed, peak = child(CHILD, str(path)).split()
            print(
                f"  {layout:8} layout: signed in {took:.1f} s; verify {status} in {elapsed} s, "
                f"peak RSS {peak} MB"
            )
            path.unlink()
    print(f"  (a process that only imports edxml.signature: {child(BASELINE)} MB)")


if __name__ == "__main__":
    main()
