"""Fuzz target: checking a packet's XML signature, alone and on the reader's pass.

Anything raised other than the library's own EdxmlError is a crash.

    .venv/bin/python tests/fuzz/fuzz_signature.py [libFuzzer options] [CORPUS ...]
"""

from __future__ import annotations

import contextlib
import io
import sys

import atheris

with atheris.instrument_imports(include=["edxml"]):
    from edxml.errors import EdxmlError
    from edxml.inspect import inspect_packet
    from edxml.signature import verify


def test_one_input(data: bytes) -> None:
    """Verify ``data`` as a stream, then inspect it (read, validate and verify in one pass)."""
    with contextlib.suppress(EdxmlError):
        verify(io.BytesIO(data))
    with contextlib.suppress(EdxmlError):
        inspect_packet(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
