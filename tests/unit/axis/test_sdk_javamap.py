"""The SDK emulator's header map iterates as a JVM's ``java.util.HashMap`` does.

The expected orders and hash codes were printed by OpenJDK 17 (``new HashMap<>()`` filled in
the order given, ``String.join(";", map.keySet())``; ``"…".hashCode()``); the first few cases
are also worked out by hand below. When a JDK is on the PATH, one more test compares random
key sets with a live JVM.
"""

from __future__ import annotations

import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from simulators.vxpsdk.javamap import JavaHashMap, java_string_hash, spread_hash

SEND_KEYS = ["timestamp", "systemid", "from", "to", "servicetype", "messagetype", "hash-file",
             "Content-Type"]  # fmt: skip

JVM_ORDERS = [
    (SEND_KEYS, "systemid;servicetype;messagetype;hash-file;from;to;timestamp;Content-Type"),
    (
        ["timestamp", "systemid", "docId", "status", "Content-Type"],
        "systemid;docId;timestamp;status;Content-Type",
    ),
    (
        [*SEND_KEYS, "docId", "status", "docid"],
        "systemid;servicetype;messagetype;hash-file;docId;docid;from;to;timestamp;Content-Type;"
        "status",
    ),
    (
        [*SEND_KEYS, "docId", "status", "docid", "k1", "k2", "k3", "k4"],
        "systemid;messagetype;docId;docid;k1;k2;k3;k4;servicetype;hash-file;from;to;timestamp;"
        "Content-Type;status",
    ),
    (["Aa", "BB", "C#", "Ab"], "Aa;BB;C#;Ab"),
    (
        [
            "AaAaAaAa",
            "AaAaAaBB",
            "AaAaBBAa",
            "AaAaBBBB",
            "AaBBAaAa",
            "AaBBAaBB",
            "AaBBBBAa",
            "AaBBBBBB",
            "BBAaAaAa",
            "BBAaAaBB",
            "x",
        ],
        "AaAaAaAa;AaAaAaBB;AaAaBBAa;AaAaBBBB;AaBBAaAa;AaBBAaBB;AaBBBBAa;AaBBBBBB;BBAaAaAa;"
        "BBAaAaBB;x",
    ),
]


def _filled(keys: list[str]) -> JavaHashMap:
    table = JavaHashMap()
    for key in keys:
        table.put(key, "v")
    return table


def test_string_hash_codes_by_hand() -> None:
    assert java_string_hash("to") == ord("t") * 31 + ord("o") == 3707
    assert java_string_hash("from") == ((102 * 31 + 114) * 31 + 111) * 31 + 109 == 3151786
    assert java_string_hash("") == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [("servicetype", -1927416977), ("Hà Nội", -2025526538), ("\U0001f600x", 54959989)],
)
def test_string_hash_codes_overflow_to_signed_ints_over_utf16_units(text: str, code: int) -> None:
    assert java_string_hash(text) == code


def test_the_hash_is_spread_with_its_upper_half_before_masking() -> None:
    # "from": 3151786 = 0x3017AA; 0x3017AA >>> 16 = 0x30; 0x3017AA ^ 0x30 = 0x30179A.
    assert spread_hash("from") == 0x30179A
    assert spread_hash("from") & 15 == 10
    # "to" fits in 16 bits: nothing to spread, bucket 3707 & 15 = 11.
    assert spread_hash("to") & 15 == 11


def test_keys_iterate_by_bucket_then_by_insertion_by_hand() -> None:
    # timestamp, Content-Type and status all land in bucket 15 of 16; systemid and
    # servicetype in bucket 2: within a bucket, the first one put comes first.
    for key in ("timestamp", "Content-Type", "status"):
        assert spread_hash(key) & 15 == 15
    assert _filled(["status", "timestamp", "Content-Type"]).keys() == [
        "status",
        "timestamp",
        "Content-Type",
    ]
    assert _filled(["Content-Type", "timestamp"]).keys() == ["Content-Type", "timestamp"]


@pytest.mark.parametrize(("keys", "printed"), JVM_ORDERS)
def test_iteration_order_is_the_jvms(keys: list[str], printed: str) -> None:
    assert ";".join(_filled(keys).keys()) == printed


def test_the_table_doubles_past_three_quarters_full() -> None:
    table = _filled([f"k{n}" for n in range(12)])
    assert table.capacity == 16
    table.put("k12", "v")
    assert table.capacity == 32
    assert len(table) == 13


def test_a_bucket_of_nine_keys_doubles_a_small_table_instead_of_becoming_a_tree() -> None:
    parts = ("Aa", "BB")  # equal hash codes, so any string of them has the same hash too
    colliding = [a + b + c + d for a in parts for b in parts for c in parts for d in parts]
    assert len({java_string_hash(key) for key in colliding}) == 1

    table = _filled(colliding[:8])
    assert table.capacity == 16
    table.put(colliding[8], "v")
    assert (table.capacity, len(table)) == (32, 9)
    assert table.keys() == colliding[:9]


def test_putting_a_known_key_again_keeps_its_place_and_takes_the_new_value() -> None:
    table = _filled(SEND_KEYS)
    table.put("from", "000.00.00.G22")

    assert ";".join(table.keys()) == JVM_ORDERS[0][1]
    assert table.get("from") == "000.00.00.G22"
    assert len(table) == len(SEND_KEYS)


_JAVA_PROGRAM = """
import java.util.*;
public class Order {
  public static void main(String[] args) throws Exception {
    java.io.BufferedReader in =
        new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
    String line;
    while ((line = in.readLine()) != null) {
      HashMap<String, String> map = new HashMap<>();
      for (String key : line.split(";")) map.put(key, "v");
      System.out.println(String.join(";", map.keySet()));
    }
  }
}
"""


@pytest.mark.skipif(shutil.which("javac") is None, reason="no JDK on the PATH")
def test_random_key_sets_iterate_as_a_live_jvm_iterates_them(tmp_path: Path) -> None:
    draw = random.Random(20261120)
    alphabet = string.ascii_letters + string.digits + "-_"
    sets = [
        ["".join(draw.choices(alphabet, k=draw.randint(1, 12))) for _ in range(draw.randint(1, 40))]
        for _ in range(200)
    ]
    (tmp_path / "Order.java").write_text(_JAVA_PROGRAM)
    subprocess.run(["javac", "Order.java"], cwd=tmp_path, check=True, timeout=120)
    printed = subprocess.run(
        ["java", "-cp", str(tmp_path), "Order"],
        input="\n".join(";".join(keys) for keys in sets) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()

    assert printed == [";".join(_filled(keys).keys()) for keys in sets]
