"""The client's Java HashMap order, computed directly, is the order the JVM iterates in.

Two independent statements of the same JVM behaviour are compared: the adapter's closed form
(:mod:`adapters.axis.javaorder`) and the emulator's table played put by put
(:mod:`simulators.vxpsdk.javamap`, itself checked against OpenJDK's output).
"""

from __future__ import annotations

import random
import string

import pytest

from adapters.axis.javaorder import java_hashmap_order, java_string_hash
from simulators.vxpsdk.javamap import JavaHashMap

PRINTED_BY_OPENJDK = [
    (
        [
            "timestamp",
            "systemid",
            "from",
            "to",
            "servicetype",
            "messagetype",
            "hash-file",
            "Content-Type",
        ],
        "systemid;servicetype;messagetype;hash-file;from;to;timestamp;Content-Type",
    ),
    (
        ["timestamp", "systemid", "docId", "status", "Content-Type"],
        "systemid;docId;timestamp;status;Content-Type",
    ),
    (["Aa", "BB", "C#", "Ab"], "Aa;BB;C#;Ab"),
]


def _table_order(keys: list[str]) -> list[str] | None:
    table = JavaHashMap()
    try:
        for key in keys:
            table.put(key, "v")
    except ValueError:
        return None
    return table.keys()


def _closed_form(keys: list[str]) -> list[str] | None:
    try:
        return java_hashmap_order(keys)
    except ValueError:
        return None


def test_hash_codes_are_unsigned_java_string_hash_codes() -> None:
    assert java_string_hash("to") == 3707
    assert java_string_hash("servicetype") == (1 << 32) - 1927416977


@pytest.mark.parametrize(("keys", "printed"), PRINTED_BY_OPENJDK)
def test_known_key_sets_come_out_as_the_jvm_printed_them(keys: list[str], printed: str) -> None:
    assert ";".join(java_hashmap_order(keys)) == printed


def test_a_key_put_twice_keeps_its_first_place() -> None:
    assert java_hashmap_order(["status", "timestamp", "status"]) == ["status", "timestamp"]


def test_the_closed_form_agrees_with_the_table_put_by_put() -> None:
    draw = random.Random(7)
    parts = ("Aa", "BB")
    colliding = [a + b + c + d for a in parts for b in parts for c in parts for d in parts]
    trees = 0
    for round_ in range(1500):
        keys = [
            "".join(draw.choices(string.ascii_letters + "-_", k=draw.randint(0, 10)))
            for _ in range(draw.randint(0, 60))
        ]
        if round_ % 3 == 0:  # many keys in one bucket: growth by the tree rule, or a tree
            keys = keys[: draw.randint(0, 30)] + draw.sample(colliding, draw.randint(0, 10))
        expected = _table_order(keys)
        trees += expected is None
        assert _closed_form(keys) == expected, keys
    assert trees > 0
