"""Fuzz target: reading and validating a packet, as ``edxml validate`` and the hub do.

Each input is read as bytes (the whole-packet fast path) and as a stream, with the default
limits and with tiny ones (so that every limit is reached by small inputs). Anything raised
other than the library's own EdxmlError is a crash, and so is a packet that the two read
paths judge differently.

    .venv/bin/python tests/fuzz/fuzz_reader.py [libFuzzer options] [CORPUS ...]
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports(include=["edxml"]):
    from edxml.inspect import check
    from edxml.limits import Limits

TINY = Limits(
    max_depth=6,
    max_text=64,
    max_elements=64,
    max_children=8,
    max_attributes=4,
    max_total_attributes=16,
    max_name=16,
    max_attribute_value=32,
    max_tag_whitespace=8,
    max_tag=96,
    max_comment=32,
    max_pi=48,
    max_other_nodes=4,
    max_attachments=2,
    max_recipients=2,
    max_issues=3,
)


def _codes(source: bytes | io.BytesIO, limits: Limits) -> list[str]:
    _, issues = check(source, limits=limits)
    return [issue.code for issue in issues]


def test_one_input(data: bytes) -> None:
    """Read ``data`` both ways under both sets of limits; the verdicts must agree."""
    for limits in (Limits(), TINY):
        whole = _codes(data, limits)
        streamed = _codes(io.BytesIO(data), limits)
        if whole != streamed:
            raise AssertionError(f"read paths disagree: {whole} (bytes) != {streamed} (stream)")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
