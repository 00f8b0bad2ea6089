"""The payload store on a filesystem: what a write leaves on disk, whatever happens to it."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest

from adapters.payloads.files import FileBlobStore
from hub.payloads import BlobStoreError


def _everything(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_blob_is_stored_under_its_sha256_with_nothing_else_beside_it(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    data = b"<edXML/>" * 1000

    key = store.put(memoryview(data))

    assert key == hashlib.sha256(data).hexdigest()
    assert store.read(key) == data
    assert _everything(tmp_path) == [f"{key[:2]}/{key[2:4]}/{key}"]


def test_a_folder_removed_after_a_write_is_made_again_for_the_next(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    first = store.put(b"first")
    shutil.rmtree(tmp_path / first[:2])

    again = store.put(b"first")

    assert again == first
    assert store.read(first) == b"first"


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    target = store.path(hashlib.sha256(b"x").hexdigest())

    def failing(out: object) -> None:
        raise OSError("disk full")

    with pytest.raises(BlobStoreError, match="disk full"):
        store._write(target, failing)

    assert _everything(tmp_path) == []


def test_threads_storing_at_once_each_leave_their_whole_blob(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    blobs = [bytes([n]) * (50_000 + n) for n in range(16)]
    keys: list[str] = []

    def put(data: bytes) -> None:
        keys.append(store.put(data))

    threads = [threading.Thread(target=put, args=(data,)) for data in blobs * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(keys)) == sorted(hashlib.sha256(data).hexdigest() for data in blobs)
    assert all(store.read(hashlib.sha256(data).hexdigest()) == data for data in blobs)
    assert len(_everything(tmp_path)) == len(blobs)
