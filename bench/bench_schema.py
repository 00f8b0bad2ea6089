"""Schema validation speed: libxml2 (lxml) against xmlschema on parsed edXML packets.

Validates already-parsed trees, so only validation is timed: a ~20 KB document built from
the public sample edoc_new.edxml (its base64 cut to size), the full sample (~370 KB, mostly
base64), the same with the base64 removed (as the hub validates large packets), and the
public status packets in turn. Prints validations per second for each engine.

    .venv/bin/python bench/bench_schema.py [--seconds 2] [--samples ../shared/samples/edxml]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from edxml.namespaces import clark
from edxml.schema import Kind, validate, validate_with_xmlschema

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = ROOT.parent / "shared" / "samples" / "edxml"
TARGET_SIZE = 20 * 1024

Validator = Callable[[etree._ElementTree, Kind], object]


def parse(data: bytes) -> etree._ElementTree:
    """The tree of a packet, ignoring stray bytes before the XML declaration."""
    return etree.fromstring(data[data.index(b"<") :]).getroottree()


def with_content(tree: etree._ElementTree, size: int | None) -> etree._ElementTree:
    """A copy of a document whose attachments hold at most ``size`` base64 characters."""
    copy = parse(etree.tostring(tree))
    for node in copy.iter(clark("ContentTransferEncoded")):
        text = node.text or ""
        node.text = text[: size - size % 4] if size is not None else text
    return copy


def document_of_size(tree: etree._ElementTree, target: int) -> etree._ElementTree:
    """A copy of a document cut to about ``target`` bytes when serialized."""
    skeleton = len(etree.tostring(with_content(tree, 0), encoding="utf-8"))
    return with_content(tree, max(target - skeleton, 0))


def rate(
    validator: Validator, trees: list[etree._ElementTree], kind: Kind, seconds: float
) -> float:
    """Validations per second of ``validator`` cycling over ``trees`` for about ``seconds``."""
    for tree in trees:
        issues = validator(tree, kind)
        if issues:
            raise SystemExit(f"benchmark packet is invalid: {issues}")
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for tree in trees:
            validator(tree, kind)
        count += len(trees)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES, help="sample folder")
    args = parser.parse_args()

    full = parse((args.samples / "edoc_new.edxml").read_bytes())
    statuses = [parse(path.read_bytes()) for path in sorted(args.samples.glob("status_*.edxml"))]
    cases: list[tuple[str, list[etree._ElementTree], Kind]] = [
        ("document ~20 KB", [document_of_size(full, TARGET_SIZE)], "edoc"),
        ("document, full sample", [full], "edoc"),
        ("document, base64 removed", [with_content(full, 0)], "edoc"),
        (f"status (x{len(statuses)} samples)", statuses, "status"),
    ]

    print(f"{'packet':<28}{'bytes':>9}{'lxml /s':>12}{'xmlschema /s':>15}{'ratio':>8}")
    for label, trees, kind in cases:
        size = sum(len(etree.tostring(tree, encoding="utf-8")) for tree in trees) // len(trees)
        fast = rate(validate, trees, kind, args.seconds)
        slow = rate(validate_with_xmlschema, trees, kind, args.seconds)
        print(f"{label:<28}{size:>9}{fast:>12,.0f}{slow:>15,.0f}{fast / slow:>7.0f}x")


if __name__ == "__main__":
    main()
