"""The database payload store on SQLite and PostgreSQL: content-addressed, chunked both ways."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.payloads.database import DatabaseBlobStore
from hub.db.database import Database
from hub.db.models import PayloadBlob, PayloadChunk
from hub.payloads import BlobNotFoundError, BlobStoreError

pytestmark = pytest.mark.integration

CHUNK = 1000


@pytest.fixture
def store(database: Database) -> DatabaseBlobStore:
    return DatabaseBlobStore(database.engine, chunk_bytes=CHUNK)


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, as a socket does."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        piece = self._data[: min(self._step, len(buffer))]
        buffer[: len(piece)] = piece
        self._data = self._data[len(piece) :]
        return len(piece)


def chunk_rows(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(PayloadChunk)) or 0)


def test_bytes_come_back_as_stored_under_their_sha256(store: DatabaseBlobStore) -> None:
    data = os.urandom(3 * CHUNK + 17)

    key = store.put(data)

    assert key == hashlib.sha256(data).hexdigest()
    assert store.read(key) == data
    assert store.exists(key)


def test_a_stream_is_cut_into_whole_chunks_whatever_the_reads_return(
    store: DatabaseBlobStore, database: Database
) -> None:
    data = os.urandom(5 * CHUNK)

    key, size = store.put_stream(Trickle(data, 333))  # type: ignore[arg-type]

    assert (key, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert chunk_rows(database) == 5
    assert store.read(key) == data


def test_reading_takes_one_chunk_at_a_time(store: DatabaseBlobStore) -> None:
    data = os.urandom(4 * CHUNK)
    key = store.put(data)

    with store.open(key) as handle:
        pieces = list(iter(lambda: handle.read(10 * CHUNK), b""))

    assert [len(piece) for piece in pieces] == [CHUNK] * 4
    assert b"".join(pieces) == data


def test_small_reads_cross_chunk_boundaries(store: DatabaseBlobStore) -> None:
    data = os.urandom(2 * CHUNK + 5)
    key = store.put(data)

    with store.open(key) as handle:
        pieces = list(iter(lambda: handle.read(7), b""))

    assert b"".join(pieces) == data


def test_an_empty_blob_is_stored_and_read(store: DatabaseBlobStore) -> None:
    key = store.put(b"")

    assert store.read(key) == b""


def test_the_same_bytes_twice_keep_one_copy(store: DatabaseBlobStore, database: Database) -> None:
    data = os.urandom(2 * CHUNK)

    store.put(data)
    store.put_stream(io.BytesIO(data))

    assert chunk_rows(database) == 2


def test_the_same_bytes_stored_at_once_from_two_threads_keep_one_copy(
    store: DatabaseBlobStore, database: Database
) -> None:
    data = os.urandom(3 * CHUNK)
    barrier = threading.Barrier(2)
    keys: list[str] = []
    failures: list[BaseException] = []

    def store_it() -> None:
        barrier.wait()
        try:
            keys.append(store.put_stream(io.BytesIO(data))[0])
        except BlobStoreError as exc:  # SQLite: the second writer may time out
            failures.append(exc)

    threads = [threading.Thread(target=store_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures
    assert len(set(keys)) == 1
    assert chunk_rows(database) == 3
    assert store.read(keys[0]) == data


def test_a_missing_blob_is_not_found(store: DatabaseBlobStore) -> None:
    missing = "0" * 64

    assert not store.exists(missing)
    with pytest.raises(BlobNotFoundError), store.open(missing):
        pass


def test_a_key_that_is_no_sha256_is_refused(store: DatabaseBlobStore) -> None:
    with pytest.raises(BlobStoreError, match="not a blob key"):
        store.exists("../../etc/passwd")


def test_delete_removes_the_chunks_and_ignores_a_missing_blob(
    store: DatabaseBlobStore, database: Database
) -> None:
    key = store.put(os.urandom(2 * CHUNK))

    store.delete(key)
    store.delete(key)

    assert not store.exists(key)
    assert chunk_rows(database) == 0


def test_stored_lists_every_key_with_when_it_was_written(
    store: DatabaseBlobStore, database: Database
) -> None:
    keys = {store.put(os.urandom(10)), store.put(os.urandom(10))}

    listed = dict(store.stored())

    assert set(listed) == keys
    with database.transaction() as session:
        first = session.scalars(select(PayloadBlob.stored_at)).first()
    assert first is not None
    assert all(
        abs(when - first.timestamp()) < timedelta(minutes=1).total_seconds()
        for when in listed.values()
    )


def test_a_failed_write_leaves_no_chunk_behind(
    store: DatabaseBlobStore, database: Database
) -> None:
    def pieces() -> Iterator[bytes]:
        yield os.urandom(CHUNK)
        raise BlobStoreError("the client went away")

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return next(chunks)

    chunks = pieces()
    with pytest.raises(BlobStoreError, match="went away"):
        store.put_stream(Broken())  # type: ignore[arg-type]

    assert chunk_rows(database) == 0
