"""The payload store contract: raw packet bytes, stored once, named by their SHA-256.

The hub stores a packet's bytes exactly as received and passes only the key around (claim
check). Implementations live in ``adapters/payloads/``; the composition root picks one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol

__all__ = ["BlobNotFoundError", "BlobStore", "BlobStoreError"]


class BlobStoreError(Exception):
    """Raised when the payload store cannot read or write a blob."""


class BlobNotFoundError(BlobStoreError):
    """Raised when no blob has the key asked for."""


class BlobStore(Protocol):
    """Where raw packet bytes live, addressed by their SHA-256 (hex)."""

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Store ``data`` (if not already there) and return its key."""

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store the bytes read from ``stream``; return their key and size."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """The stored bytes of ``key``, for reading."""
        ...

    def read(self, key: str) -> bytes:
        """All the stored bytes of ``key``."""

    def exists(self, key: str) -> bool:
        """Whether a blob with this key is stored."""

    def delete(self, key: str) -> None:
        """Remove a blob (retention); missing blobs are ignored."""

    def stored(self) -> Iterator[tuple[str, float]]:
        """Every stored blob's key and when it was written (Unix time), in no order."""
