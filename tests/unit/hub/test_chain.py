"""The hash chain walk shared by the audit log and the evidence chain."""

from __future__ import annotations

from hub.records.chain import GENESIS_HASH, Link, canonical_json, check_chain, link, sha256


def chain(count: int) -> list[Link]:
    links = []
    prev = GENESIS_HASH
    for position in range(1, count + 1):
        record = sha256(canonical_json({"n": position}))
        hashed = link(position, prev, record)
        links.append(Link(position, prev, hashed, hashed))
        prev = hashed
    return links


def test_an_intact_chain_checks_every_record() -> None:
    result = check_chain(chain(4))

    assert (result.ok, result.checked, result.head_hash) == (True, 4, chain(4)[-1].hash)


def test_a_missing_record_names_the_place_where_the_chain_breaks() -> None:
    links = chain(4)

    result = check_chain([links[0], links[2], links[3]])

    assert (result.ok, result.first_broken, result.checked) == (False, 3, 1)
    assert result.problem == "record 2 is missing (the next record is 3)"


def test_a_record_whose_content_changed_is_named() -> None:
    links = chain(3)
    tampered = Link(2, links[1].prev_hash, links[1].hash, "f" * 64)

    result = check_chain([links[0], tampered, links[2]], noun="entry")

    assert (result.ok, result.first_broken) == (False, 2)
    assert result.problem == "entry 2 was changed after it was written (its hash does not match)"


def test_a_problem_found_in_a_records_content_is_reported_with_its_place() -> None:
    links = chain(2)
    odd = Link(2, links[1].prev_hash, links[1].hash, links[1].hash, "its kind is wrong")

    result = check_chain([links[0], odd])

    assert result.problem == "record 2: its kind is wrong"


def test_the_link_depends_on_the_place() -> None:
    assert link(1, GENESIS_HASH, "a" * 64) != link(2, GENESIS_HASH, "a" * 64)


def test_canonical_json_sorts_keys_and_keeps_vietnamese() -> None:
    assert canonical_json({"b": "Đống Đa", "a": 1}) == '{"a":1,"b":"Đống Đa"}'
