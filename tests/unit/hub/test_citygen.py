"""The generated city: requested size, valid codes and parents, reproducible from its seed."""

from __future__ import annotations

from collections import Counter

import pytest

from edxml.agency import parse_agency_code
from hub.directory import DirectoryData, check_directory, dump_yaml, parse_yaml
from hub.directory.citygen import CityPlan, generate_city


@pytest.fixture(scope="module")
def default_city() -> DirectoryData:
    return generate_city(CityPlan())


def test_default_city_has_the_requested_size(default_city: DirectoryData) -> None:
    per_level = Counter(entry.level for entry in default_city.agencies)

    assert per_level == {1: 1, 2: 1 + 40, 3: 30, 4: 30 * 20}
    assert len(default_city.agencies) == CityPlan().agency_count


def test_every_code_is_qcvn_and_unique(default_city: DirectoryData) -> None:
    codes = [entry.code for entry in default_city.agencies]

    assert len(set(codes)) == len(codes)
    assert all(parse_agency_code(code).qcvn for code in codes)


def test_parents_exist_and_match_the_codes(default_city: DirectoryData) -> None:
    codes = {entry.code for entry in default_city.agencies}
    local = [entry for entry in default_city.agencies if entry.code.endswith("H99")]

    assert all(entry.parent is None or entry.parent in codes for entry in default_city.agencies)
    assert all(entry.parent == parse_agency_code(entry.code).parent for entry in local)


def test_generated_file_passes_the_import_checks(default_city: DirectoryData) -> None:
    directory = parse_yaml(dump_yaml(default_city))

    assert check_directory(directory) == []


def test_same_seed_gives_the_same_city() -> None:
    assert generate_city(CityPlan(seed=7)) == generate_city(CityPlan(seed=7))


def test_another_seed_gives_other_names() -> None:
    names = {entry.name for entry in generate_city(CityPlan(seed=1)).agencies}
    other = {entry.name for entry in generate_city(CityPlan(seed=2)).agencies}

    assert names != other


def test_commune_names_are_unique_within_a_district(default_city: DirectoryData) -> None:
    names_per_district = Counter(
        (entry.parent, entry.name) for entry in default_city.agencies if entry.level == 4
    )

    assert max(names_per_district.values()) == 1


def test_offices_are_added_under_each_district() -> None:
    city = generate_city(CityPlan(districts=2, communes_per_district=3, offices_per_district=4))

    offices = [e for e in city.agencies if e.level == 3 and e.parent != "000.00.00.H99"]
    assert len(offices) == 2 * 4
    assert (
        len(city.agencies)
        == CityPlan(districts=2, communes_per_district=3, offices_per_district=4).agency_count
    )


def test_plan_beyond_two_digit_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 99"):
        generate_city(CityPlan(districts=60, departments=40))
