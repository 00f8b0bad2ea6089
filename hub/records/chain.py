"""Hash chains: the canonical form records are hashed in, the link between them, the check.

Both chains of the hub use it: the audit log (operator actions, linked as they are written)
and the evidence of sending and delivery (linked when a checkpoint seals them). A record's
hash is the SHA-256 of its canonical JSON; :func:`check_chain` walks records in chain order
and stops at the first whose position, link or hash is wrong, so the report names it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "ChainCheck",
    "Link",
    "broken",
    "canonical_json",
    "check_chain",
    "link",
    "sha256",
]

GENESIS_HASH = "0" * 64
"""What the first record of a chain links to."""


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The one text a record is hashed in: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(position: int, prev_hash: str, record_hash: str) -> str:
    """The chain hash at ``position``: it binds the record to its place and to all before it."""
    return sha256(f"{position}:{prev_hash}:{record_hash}")


@dataclass(frozen=True)
class Link:
    """One record as a chain check sees it."""

    position: int
    """Its place in the chain: 1, 2, 3, ... without gaps."""
    prev_hash: str
    """The hash it says comes before it."""
    hash: str
    """The chain hash it stores."""
    expected_hash: str
    """The chain hash recomputed from its content and ``prev_hash``."""
    problem: str | None = None
    """Something already found wrong with the record's content, for people."""


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking a chain."""

    ok: bool
    checked: int
    """Records that verify (all of them when ``ok``; those before the broken one otherwise)."""
    first_broken: int | None
    """Position of the first broken record."""
    problem: str | None
    head_hash: str
    """Chain hash of the last record that verifies (``GENESIS_HASH`` for none)."""


def check_chain(
    links: Iterable[Link],
    *,
    noun: str = "record",
    start: int = 1,
    start_hash: str = GENESIS_HASH,
) -> ChainCheck:
    """Walk ``links`` in chain order from ``start``; stop at the first broken one.

    A record is broken when one is missing before it, when it does not link to the hash of
    the record before it, when its content was found wrong, or when its stored hash is not
    the one its content gives.
    """
    expected_position = start
    expected_prev = start_hash
    count = 0
    for item in links:
        problem = broken(item, expected_position, expected_prev, noun)
        if problem is not None:
            return ChainCheck(False, count, item.position, problem, expected_prev)
        count += 1
        expected_prev = item.hash
        expected_position = item.position + 1
    return ChainCheck(True, count, None, None, expected_prev)


def broken(item: Link, expected_position: int, expected_prev: str, noun: str) -> str | None:
    """What is wrong with ``item`` where the chain expects ``expected_position`` after a
    record whose hash is ``expected_prev``; None when it holds."""
    if item.position != expected_position:
        return f"{noun} {expected_position} is missing (the next {noun} is {item.position})"
    if item.prev_hash != expected_prev:
        return f"{noun} {item.position} does not link to the {noun} before it"
    if item.problem is not None:
        return f"{noun} {item.position}: {item.problem}"
    if item.expected_hash != item.hash:
        return f"{noun} {item.position} was changed after it was written (its hash does not match)"
    return None
