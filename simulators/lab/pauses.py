"""Pauses in a stream of deliveries: the longest gap between consecutive arrivals."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

__all__ = ["longest_gap", "pause_after"]


def longest_gap(moments: Iterable[float], start: float, end: float) -> tuple[float, float]:
    """The longest time without an arrival between ``start`` and ``end``, and when it began
    (both bounds count as arrivals, so a stream that stopped before ``end`` shows the whole
    silence)."""
    inside = sorted(m for m in moments if start <= m <= end)
    points = [start, *inside, end]
    return max(((b - a, a) for a, b in itertools.pairwise(points)), default=(0.0, start))


def pause_after(moments: Iterable[float], fault: float, window: float) -> float:
    """The longest gap between arrivals that ends after ``fault`` and begins within
    ``window`` seconds of it: the delivery pause a fault caused (0 if none arrived)."""
    ordered = sorted(moments)
    gaps = [b - a for a, b in itertools.pairwise(ordered) if b > fault and a < fault + window]
    return max(gaps, default=0.0)
