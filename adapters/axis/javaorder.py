"""The order in which a ``java.util.HashMap<String, …>`` iterates its keys, computed directly.

The official SDK signs its headers in that order (AXIS-SDK.md), so a client that wants its
``sign-header-key`` and ``sign-header`` to read exactly like the SDK's needs it. A HashMap
iterates its table bucket by bucket, and inside a bucket in the order the keys were put; a
key's bucket is ``spread(String.hashCode()) & (capacity - 1)`` with ``spread(h) = h ^ (h >>>
16)``. The capacity starts at 16 and doubles when the size passes three quarters of it, or
when one bucket reaches 9 keys while the capacity is below 64 (beyond that the JVM builds a
tree, whose order is not computed here: ValueError). Splitting a bucket on growth keeps its
keys' relative order, so the final order is the keys sorted by (final bucket, insertion).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["java_hashmap_order", "java_string_hash"]


def java_string_hash(text: str) -> int:
    """``String.hashCode()`` as an unsigned 32-bit value (31-polynomial over UTF-16 units)."""
    units = text.encode("utf-16-le", errors="surrogatepass")
    value = 0
    for low, high in zip(units[0::2], units[1::2], strict=True):
        value = (value * 31 + (high << 8 | low)) % (1 << 32)
    return value


def _spread(key: str) -> int:
    code = java_string_hash(key)
    return code ^ (code >> 16)


def java_hashmap_order(keys: Iterable[str]) -> list[str]:
    """``keys`` (put in this order; repeats keep their first place) as a HashMap iterates them.

    Raises ValueError when the map would hold a tree bucket (9 keys of one bucket at 64).
    """
    inserted = list(dict.fromkeys(keys))
    spreads = [_spread(key) for key in inserted]
    capacity = 16
    for size in range(1, len(inserted) + 1):
        newest = spreads[size - 1]
        same_bucket = sum(1 for h in spreads[:size] if (h ^ newest) & (capacity - 1) == 0)
        if same_bucket >= 9:
            if capacity >= 64:
                raise ValueError("a HashMap bucket of 9 keys at capacity 64 is a tree")
            capacity *= 2
        if size * 4 > capacity * 3:
            capacity *= 2
    positions = sorted(range(len(inserted)), key=lambda i: (spreads[i] & (capacity - 1), i))
    return [inserted[i] for i in positions]
