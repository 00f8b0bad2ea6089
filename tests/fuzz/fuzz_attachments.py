"""Fuzz target: decoding attachment content, and the zip archives some senders put there.

The input is base64 text (read as Latin-1, so any character can appear), fed to the decoder
in pieces of a size taken from its first byte; what decodes as a zip is listed and its file
extracted, and every name is made a safe file name. Anything raised other than the library's
own EdxmlError is a crash, and so is a "safe" file name that is not.

    .venv/bin/python tests/fuzz/fuzz_attachments.py [libFuzzer options] [CORPUS ...]
"""

from __future__ import annotations

import io
import sys

import atheris

# zipfile is instrumented too: the archives' paths through it are what is worth exploring.
with atheris.instrument_imports(include=["edxml", "zipfile"]):
    from edxml.attachments import Base64Decoder, extract_inner, is_zip, safe_filename, zip_members
    from edxml.errors import EdxmlError


class _Discard(io.RawIOBase):
    """A writable sink that keeps nothing (a zip bomb costs time here, not memory)."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def _decoded(data: bytes) -> bytes | None:
    piece = 1 + (data[0] % 64) if data else 1
    text = data[1:].decode("latin-1")
    out = io.BytesIO()
    decoder = Base64Decoder(out)
    try:
        for start in range(0, len(text), piece):
            decoder.feed(text[start : start + piece])
        decoder.close()
    except EdxmlError:
        return None
    return out.getvalue()


def test_one_input(data: bytes) -> None:
    """Decode, then treat the bytes as an archive; names of members made safe."""
    decoded = _decoded(data)
    if decoded is None or not is_zip(decoded):
        decoded = data
    try:
        names = zip_members(io.BytesIO(decoded))
        extract_inner(io.BytesIO(decoded), _Discard(), names[0] if names else None)
    except EdxmlError:
        names = []
    for index, name in enumerate([*names, data.decode("utf-8", "replace")]):
        safe = safe_filename(name, index)
        if not safe or "/" in safe or "\\" in safe or safe in (".", ".."):
            raise AssertionError(f"unsafe file name {safe!r} made from {name!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
