"""A ``java.util.HashMap<String, String>`` as the SDK's header map: its table, played step by step.

The SDK signs its headers in the map's iteration order (AXIS-SDK.md), so the emulator keeps
the same structure the JVM does rather than computing the order: a table of buckets (16 at
first), each key placed by ``String.hashCode`` spread as ``h ^ (h >>> 16)`` and masked with
``table length - 1``, new keys appended to the end of their bucket, the table doubled when the
size passes 0.75 of its length (each bucket split in order between ``j`` and ``j + old
length``), and doubled too when one bucket reaches 9 keys on a table shorter than 64 (where
the JVM would otherwise turn the bucket into a tree). Iteration walks the buckets in index
order. A tree bucket (9 equal-index keys on a table of 64) is not modelled: no header map gets
near it, and :meth:`JavaHashMap.put` raises ValueError rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["JavaHashMap", "java_string_hash", "spread_hash"]

_INITIAL_CAPACITY = 16
_LOAD_FACTOR_NUMERATOR, _LOAD_FACTOR_DENOMINATOR = 3, 4
_TREEIFY_LENGTH = 9
"""A bucket reaching this many keys is turned into a tree (or the table grows instead)."""
_MIN_TREEIFY_CAPACITY = 64


def java_string_hash(text: str) -> int:
    """``java.lang.String.hashCode()``: ``s[0]*31^(n-1) + … + s[n-1]`` over UTF-16 code units.

    The value is a signed 32-bit int, as Java prints it.
    """
    encoded = text.encode("utf-16-be", errors="surrogatepass")
    value = 0
    for index in range(0, len(encoded), 2):
        unit = (encoded[index] << 8) | encoded[index + 1]
        value = (31 * value + unit) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def spread_hash(key: str) -> int:
    """``HashMap.hash(key)``: the hash code xor its upper half (``h ^ (h >>> 16)``), unsigned."""
    unsigned = java_string_hash(key) & 0xFFFFFFFF
    return unsigned ^ (unsigned >> 16)


class JavaHashMap:
    """String keys to string values, iterated as the JVM's ``HashMap`` would iterate them."""

    def __init__(self) -> None:
        self._table: list[list[tuple[str, str]]] = [[] for _ in range(_INITIAL_CAPACITY)]
        self._size = 0

    @property
    def capacity(self) -> int:
        """The length of the table (a power of two, 16 at first)."""
        return len(self._table)

    def put(self, key: str, value: str) -> None:
        """Set ``key``: a known key keeps its place, a new one goes to the end of its bucket."""
        bucket = self._table[spread_hash(key) & (self.capacity - 1)]
        for position, (known, _) in enumerate(bucket):
            if known == key:
                bucket[position] = (key, value)
                return
        bucket.append((key, value))
        if len(bucket) >= _TREEIFY_LENGTH:
            if self.capacity >= _MIN_TREEIFY_CAPACITY:
                raise ValueError(
                    f"{len(bucket)} keys share one bucket of a table of {self.capacity}: the "
                    "JVM would make it a tree, whose order this emulation does not model"
                )
            self._resize()
        self._size += 1
        if self._size * _LOAD_FACTOR_DENOMINATOR > self.capacity * _LOAD_FACTOR_NUMERATOR:
            self._resize()

    def _resize(self) -> None:
        """Double the table, splitting each bucket in order into its low and high halves."""
        old = self.capacity
        table: list[list[tuple[str, str]]] = [[] for _ in range(2 * old)]
        for index, bucket in enumerate(self._table):
            for entry in bucket:
                high = spread_hash(entry[0]) & old
                table[index + old if high else index].append(entry)
        self._table = table

    def get(self, key: str) -> str | None:
        """The value of ``key``, or None."""
        for known, value in self._table[spread_hash(key) & (self.capacity - 1)]:
            if known == key:
                return value
        return None

    def items(self) -> list[tuple[str, str]]:
        """Every entry, in iteration order."""
        return [entry for bucket in self._table for entry in bucket]

    def keys(self) -> list[str]:
        """Every key, in iteration order."""
        return [key for key, _ in self.items()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __repr__(self) -> str:
        return f"JavaHashMap({dict(self.items())!r})"
