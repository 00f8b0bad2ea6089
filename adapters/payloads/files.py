"""The payload store on a filesystem: each blob a file named by its SHA-256.

Writes go through a temporary file and a rename, so a crash never leaves a half-written blob
under a real key. The contract is :class:`hub.payloads.BlobStore`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from hub.payloads import BlobNotFoundError, BlobStoreError

__all__ = ["FileBlobStore"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


class FileBlobStore:
    """Blobs as files ``<root>/<k[:2]>/<k[2:4]>/<k>`` on a local or mounted filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[Path] = set()
        """Folders this store made or found, so a blob's write makes no ``mkdir`` for them."""

    def path(self, key: str) -> Path:
        """Where the blob of ``key`` lives (whether or not it exists)."""
        if not _KEY.match(key):
            raise BlobStoreError(f"not a blob key (64 hex characters): {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes | bytearray | memoryview) -> str:
        key = hashlib.sha256(data).hexdigest()
        target = self.path(key)
        if not target.exists():
            self._write(target, lambda out: out.write(data))
        return key

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=".in-") as tmp:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            key = digest.hexdigest()
            target = self.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp.name, target)
        except OSError as exc:
            raise BlobStoreError(f"cannot store blob under {self.root}: {exc}") from exc
        return key, size

    def _write(self, target: Path, write: object) -> None:
        # The temporary name is this thread's own (process and thread ids): no random name to
        # draw and no retry; one a crashed process left behind is overwritten.
        folder = target.parent
        temporary = folder / f".in-{target.name[:16]}-{os.getpid()}-{threading.get_ident()}"
        try:
            if folder not in self._folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            try:
                descriptor = os.open(temporary, _CREATE, 0o644)
            except FileNotFoundError:
                # The folder was removed since this store made it (a clean-up): make it again.
                folder.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(temporary, _CREATE, 0o644)
            try:
                with open(descriptor, "wb", closefd=False) as out:
                    write(out)  # type: ignore[operator]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, target)
        except OSError as exc:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise BlobStoreError(f"cannot store blob {target.name}: {exc}") from exc

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            handle = open(self.path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise BlobNotFoundError(f"no blob {key}") from exc
        except OSError as exc:
            raise BlobStoreError(f"cannot read blob {key}: {exc}") from exc
        with handle:
            yield handle

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise BlobStoreError(f"cannot delete blob {key}: {exc}") from exc

    def stored(self) -> Iterator[tuple[str, float]]:
        try:
            for first in sorted(self.root.iterdir()):
                if not first.is_dir() or len(first.name) != 2:
                    continue
                for second in sorted(first.iterdir()):
                    for path in second.iterdir():
                        if _KEY.match(path.name):
                            yield path.name, path.stat().st_mtime
        except FileNotFoundError:
            return
        except OSError as exc:
            raise BlobStoreError(f"cannot list the payload store: {exc}") from exc

    def copy_to(self, key: str, out: BinaryIO) -> None:
        """Stream a blob's bytes into ``out``."""
        with self.open(key) as handle:
            shutil.copyfileobj(handle, out, _CHUNK)
