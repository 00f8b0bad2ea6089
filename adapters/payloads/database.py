"""The payload store in the tracking database: every host of a cluster shares it.

A blob is written as numbered chunks of one upload (a random id), then named by a row of
``payload_blobs`` (its SHA-256, size and upload) in the same transaction, so a crash leaves
nothing behind and two hosts storing the same bytes at once keep one copy (the second row is
not inserted and its chunks are deleted). Reading fetches one chunk at a time, so a 100 MB
packet goes both ways with one chunk in memory. The contract is :class:`hub.payloads.BlobStore`.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from sqlalchemy import Engine, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from hub.db.base import utcnow
from hub.db.models import PayloadBlob, PayloadChunk
from hub.payloads import BlobNotFoundError, BlobStoreError

__all__ = ["DatabaseBlobStore"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 1 << 20
"""Size of every chunk but a blob's last."""

_BLOBS = cast(Table, PayloadBlob.__table__)
_CHUNKS = cast(Table, PayloadChunk.__table__)


def _check(key: str) -> str:
    if not _KEY.match(key):
        raise BlobStoreError(f"not a blob key (64 hex characters): {key!r}")
    return key


class DatabaseBlobStore:
    """Blobs as chunks in the ``payload_chunks`` table, named in ``payload_blobs``."""

    def __init__(self, engine: Engine, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be at least 1")
        self._engine = engine
        self._chunk_bytes = chunk_bytes

    def put(self, data: bytes | bytearray | memoryview) -> str:
        key = hashlib.sha256(data).hexdigest()
        if self.exists(key):
            return key
        view = memoryview(data)
        stored, _ = self._write(
            view[start : start + self._chunk_bytes]
            for start in range(0, len(view), self._chunk_bytes)
        )
        return stored

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        return self._write(self._pieces(stream))

    def _pieces(self, stream: BinaryIO) -> Iterator[bytes]:
        """The stream cut into whole chunks (reads may return less than asked)."""
        pending = bytearray()
        while chunk := stream.read(self._chunk_bytes - len(pending)):
            pending += chunk
            if len(pending) >= self._chunk_bytes:
                yield bytes(pending)
                pending.clear()
        if pending:
            yield bytes(pending)

    def _write(self, pieces: Iterator[bytes | memoryview]) -> tuple[str, int]:
        upload = uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        try:
            with self._engine.begin() as connection:
                for seq, piece in enumerate(pieces):
                    digest.update(piece)
                    size += len(piece)
                    connection.execute(
                        insert(_CHUNKS), {"upload": upload, "seq": seq, "data": bytes(piece)}
                    )
                key = digest.hexdigest()
                if not self._name(connection, key, upload, size):
                    connection.execute(delete(_CHUNKS).where(_CHUNKS.c.upload == upload))
        except SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot store a blob in the database: {_reason(exc)}") from exc
        return key, size

    def _name(self, connection: Connection, key: str, upload: str, size: int) -> bool:
        """Name the upload's chunks ``key``; False when another upload already holds it."""
        values = {"sha256": key, "upload": upload, "size": size, "stored_at": utcnow()}
        dialect = connection.dialect.name
        statement: Any
        if dialect == "postgresql":
            statement = postgresql.insert(_BLOBS).values(values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(_BLOBS).values(values).on_conflict_do_nothing()
        else:
            if connection.execute(select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == key)).first():
                return False
            statement = insert(_BLOBS).values(values)
        return connection.execute(statement.returning(_BLOBS.c.sha256)).first() is not None

    def _find(self, key: str) -> tuple[str, int]:
        try:
            with self._engine.connect() as connection:
                row = connection.execute(
                    select(_BLOBS.c.upload, _BLOBS.c.size).where(_BLOBS.c.sha256 == _check(key))
                ).first()
        except SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot read blob {key}: {_reason(exc)}") from exc
        if row is None:
            raise BlobNotFoundError(f"no blob {key}")
        return str(row.upload), int(row.size)

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        upload, size = self._find(key)
        reader = _ChunkReader(self._engine, key, upload, size)
        try:
            yield cast(BinaryIO, reader)
        finally:
            reader.close()

    def read(self, key: str) -> bytes:
        out = io.BytesIO()
        with self.open(key) as handle:
            while chunk := handle.read(self._chunk_bytes):
                out.write(chunk)
        # getvalue() hands over BytesIO's own buffer: the bytes are not copied a second time.
        return out.getvalue()

    def exists(self, key: str) -> bool:
        try:
            self._find(key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        try:
            with self._engine.begin() as connection:
                upload = connection.scalar(
                    select(_BLOBS.c.upload).where(_BLOBS.c.sha256 == _check(key))
                )
                if upload is None:
                    return
                connection.execute(delete(_BLOBS).where(_BLOBS.c.sha256 == key))
                connection.execute(delete(_CHUNKS).where(_CHUNKS.c.upload == upload))
        except SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot delete blob {key}: {_reason(exc)}") from exc

    def stored(self) -> Iterator[tuple[str, float]]:
        try:
            with self._engine.connect() as connection:
                rows = connection.execution_options(yield_per=1000).execute(
                    select(_BLOBS.c.sha256, _BLOBS.c.stored_at)
                )
                for key, stored_at in rows:
                    yield str(key), stored_at.timestamp()
        except SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot list the payload store: {_reason(exc)}") from exc


class _ChunkReader(io.RawIOBase):
    """A blob's bytes read one chunk at a time, each chunk fetched when it is reached."""

    def __init__(self, engine: Engine, key: str, upload: str, size: int) -> None:
        super().__init__()
        self._engine = engine
        self._key = key
        self._upload = upload
        self._left = size
        self._seq = 0
        self._chunk = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        if self._left <= 0:
            return False
        try:
            with self._engine.connect() as connection:
                data = connection.scalar(
                    select(_CHUNKS.c.data).where(
                        _CHUNKS.c.upload == self._upload, _CHUNKS.c.seq == self._seq
                    )
                )
        except SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot read blob {self._key}: {_reason(exc)}") from exc
        if data is None:
            raise BlobStoreError(f"blob {self._key} lacks its chunk {self._seq}")
        self._chunk, self._offset = bytes(data), 0
        self._seq += 1
        self._left -= len(self._chunk)
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self._offset >= len(self._chunk) and not self._next_chunk():
            return b""
        start = self._offset
        self._offset = min(len(self._chunk), start + size)
        if start == 0 and self._offset == len(self._chunk):
            return self._chunk
        return self._chunk[start : self._offset]

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK_BYTES):
            parts.append(chunk)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        chunk = self.read(len(target))
        target[: len(chunk)] = chunk
        return len(chunk)


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip()
