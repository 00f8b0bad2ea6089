"""Reading packets from many threads at once gives each the same answer as reading alone.

The lxml fast path once shared one parser and compiled XPaths between threads, which crashed
the hub's API process (a segfault in lxml) under concurrent posts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import edxml
from tests.unit import packets


def _fingerprint(data: bytes) -> tuple[object, ...]:
    inspection = edxml.inspect(data)
    return (inspection.valid, inspection.kind, inspection.document_id, tuple(inspection.to))


def test_concurrent_reads_agree_with_reads_one_at_a_time() -> None:
    samples = [
        packets.document_bytes(),
        packets.edit(packets.document_bytes(), "UBND-VP", "UBND-KT"),
        *(packets.status_bytes(code) for code in ("01", "02", "03", "05", "06")),
    ]
    expected = [_fingerprint(data) for data in samples]

    with ThreadPoolExecutor(max_workers=8) as pool:
        rounds = [pool.submit(lambda: [_fingerprint(data) for data in samples]) for _ in range(40)]
        results = [future.result() for future in rounds]

    assert all(result == expected for result in results)
