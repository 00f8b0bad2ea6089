"""Identifiers of packets and deliveries: sortable by creation time, unguessable, URL-safe.

A ULID-like form: 10 characters of milliseconds then 16 random characters, in Crockford
base32, so ids sort by creation time (good for index locality) and leak nothing else.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["ID_LENGTH", "new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A new 26-character identifier."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(millis, 10) + _encode(secrets.randbits(80), 16)
