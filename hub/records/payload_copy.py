"""Copying packet bytes from one payload store to another (the folder store into the
database store, when a hub moves to several hosts), each blob checked against its name.

A blob whose bytes no longer hash to its key is reported and not copied: the database store
names what it stores by its hash, so the damage would otherwise move under another name.
"""

from __future__ import annotations

import hashlib

import structlog
from pydantic import BaseModel, ConfigDict

from hub.payloads import BlobStore, BlobStoreError

__all__ = ["CopyReport", "copy_payloads"]

_CHUNK = 1 << 20
_log = structlog.get_logger(__name__)


class CopyReport(BaseModel):
    """What a copy did, or would do."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    copied: int = 0
    bytes: int = 0
    present: int = 0
    """Blobs the target already held."""
    damaged: list[str] = []
    """Keys whose bytes do not hash to the key, or that could not be read."""


def _digest(store: BlobStore, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_payloads(source: BlobStore, target: BlobStore, *, dry_run: bool = False) -> CopyReport:
    """Copy every blob of ``source`` that ``target`` lacks, streamed, checked by its hash.

    Raises:
        BlobStoreError: a store cannot be listed, or the target cannot store.
    """
    copied = present = size = 0
    damaged: list[str] = []
    for key, _ in source.stored():
        if target.exists(key):
            present += 1
            continue
        try:
            matches = _digest(source, key) == key
        except BlobStoreError as exc:
            _log.warning("payloads.unreadable", key=key, error=str(exc))
            matches = False
        if not matches:
            damaged.append(key)
            continue
        if not dry_run:
            with source.open(key) as handle:
                stored, length = target.put_stream(handle)
            if stored != key:  # changed between the check and the copy
                target.delete(stored)
                damaged.append(key)
                continue
            size += length
        copied += 1
    _log.info("payloads.copied", copied=copied, present=present, damaged=len(damaged))
    return CopyReport(dry_run=dry_run, copied=copied, bytes=size, present=present, damaged=damaged)
