"""Attachment content: streaming base64 decoding, size, SHA-256, zip detection, extraction.

Decoding runs on the base64 text as it arrives from the parser, so an attachment of any
size passes through in pieces and is never held whole in memory.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from edxml.errors import AttachmentError

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
"""Local file header, empty archive, spanned archive."""

_XML_WHITESPACE = b" \t\r\n"

T = TypeVar("T")


def is_zip(head: bytes) -> bool:
    """Whether bytes starting with ``head`` are a zip archive, judged by its magic."""
    return head[:4] in ZIP_MAGICS


class Base64Decoder:
    """Decodes base64 text given in pieces; counts, hashes and optionally writes the bytes."""

    def __init__(self, out: BinaryIO | None = None, *, line: int | None = None) -> None:
        self._pending = b""
        self._hash = hashlib.sha256()
        self._head = b""
        self._out = out
        self.size = 0
        self.line = line
        self.padding_added = False

    def feed(self, text: str) -> None:
        """Take the next piece of base64 text (XML whitespace anywhere is ignored)."""
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise AttachmentError(
                "attachment content is not valid base64: "
                f"non-ASCII character {exc.object[exc.start]!r}",
                code="attachment.bad-base64",
                element="ContentTransferEncoded",
                line=self.line,
            ) from exc
        raw = self._pending + raw.translate(None, _XML_WHITESPACE)
        usable = len(raw) - len(raw) % 4
        self._pending = raw[usable:]
        if usable:
            self._emit(raw[:usable])

    def _emit(self, text: bytes) -> None:
        try:
            data = binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise AttachmentError(
                f"attachment content is not valid base64: {exc}",
                code="attachment.bad-base64",
                element="ContentTransferEncoded",
                line=self.line,
            ) from exc
        if len(self._head) < 4:
            self._head += data[: 4 - len(self._head)]
        self._hash.update(data)
        self.size += len(data)
        if self._out is not None:
            self._out.write(data)

    def close(self) -> None:
        """Finish: decode what is left, padding a truncated last group if needed."""
        if self._pending:
            rest = self._pending
            self._pending = b""
            if len(rest) % 4 == 1:
                raise AttachmentError(
                    "attachment content ends with a truncated base64 group",
                    code="attachment.bad-base64",
                    element="ContentTransferEncoded",
                    line=self.line,
                )
            self.padding_added = True
            self._emit(rest + b"=" * (-len(rest) % 4))

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes decoded so far."""
        return self._hash.hexdigest()

    @property
    def zipped(self) -> bool:
        """Whether the decoded bytes start with a zip magic."""
        return is_zip(self._head)


AttachmentOpener = Callable[[int, str | None], BinaryIO | None]
"""Called with (index, attachment name) when an attachment starts; returns where to write
its decoded bytes, or None to only count and hash it."""


def safe_filename(name: str | None, index: int) -> str:
    """A file name safe to create in a folder: no directories, no control characters."""
    base = Path((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return base or f"attachment-{index + 1}"


def folder_opener(folder: Path) -> AttachmentOpener:
    """An opener that writes each attachment to ``folder`` under a safe, unique file name."""
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()

    def open_one(index: int, name: str | None) -> BinaryIO:
        filename = safe_filename(name, index)
        if filename in used:
            filename = f"{index + 1}-{filename}"
        used.add(filename)
        return open(folder / filename, "wb")

    return open_one


_ZIP_FAULTS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    OSError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
    IndexError,
)
"""What zipfile raises on a damaged or unusual archive: a bad offset (a negative seek), a
truncated member, an unknown compression method, encryption, a corrupt stream, a member
with an empty name."""


def _guarded(call: Callable[[], T]) -> T:
    """``call()``, with zipfile's faults turned into :class:`AttachmentError`."""
    try:
        return call()
    except _ZIP_FAULTS as exc:
        raise AttachmentError(
            f"the attachment is not a readable zip archive: {exc}", code="attachment.bad-zip"
        ) from exc


def zip_members(data: BinaryIO) -> list[str]:
    """Names of the files inside a zip archive."""

    def names() -> list[str]:
        with zipfile.ZipFile(data) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()]

    return _guarded(names)


def extract_inner(archive_file: BinaryIO, dest: BinaryIO, member: str | None = None) -> str:
    """Copy one file out of a zip (the only one, or ``member``) to ``dest``; return its name.

    Faults of the archive are :class:`AttachmentError`; errors writing ``dest`` are the
    caller's and pass through unchanged.
    """
    archive = _guarded(lambda: zipfile.ZipFile(archive_file))
    with archive:
        files = _guarded(lambda: [info for info in archive.infolist() if not info.is_dir()])
        if member is not None:
            chosen = [info for info in files if info.filename == member]
        else:
            chosen = files[:1] if len(files) == 1 else []
        if not chosen:
            names = ", ".join(info.filename for info in files) or "none"
            raise AttachmentError(
                f"choose the file to extract (zip holds: {names})"
                if member is None
                else f"{member!r} is not in the zip (it holds: {names})",
                code="attachment.zip-member",
            )
        inner = _guarded(lambda: archive.open(chosen[0]))
        with inner:
            while block := _guarded(lambda: inner.read(1 << 16)):
                dest.write(block)
    return chosen[0].filename


def decode_to_bytes(text: str) -> bytes:
    """Decode a whole base64 text (small attachments, tests)."""
    out = io.BytesIO()
    decoder = Base64Decoder(out)
    decoder.feed(text)
    decoder.close()
    return out.getvalue()
