"""The shipped Hà Nội directory: self-consistent, the seed plan's units, honest about codes."""

from __future__ import annotations

import pytest

from edxml.agency import parse_agency_code
from hub.channels import Channel
from hub.directory import AgencyEntry, check_directory, read_directory_file, sample_directory

REAL_CODES = {"000.00.00.H26", "000.00.00.G22", "000.00.00.G01"}
PILOT_DISTRICTS = (
    "Hoàn Kiếm",
    "Đống Đa",
    "Hoàng Mai",
    "Thanh Xuân",
    "Long Biên",
    "Đông Anh",
    "Thanh Trì",
    "Mỹ Đức",
    "Quốc Oai",
    "Phú Xuyên",
    "Sơn Tây",
)
DONG_DA_WARDS = (
    "Văn Miếu",
    "Nam Đồng",
    "Khương Thượng",
    "Quốc Tử Giám",
    "Phương Liên",
    "Khâm Thiên",
    "Ngã Tư Sở",
    "Láng Thượng",
    "Láng Hạ",
    "Thịnh Quang",
)
PLAN_DEPARTMENTS = (
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Thông tin và Truyền thông",
    "Sở Xây dựng",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Công Thương",
    "Sở Lao động - Thương binh và Xã hội",
)


@pytest.fixture(scope="module")
def agencies() -> dict[str, AgencyEntry]:
    directory = read_directory_file(sample_directory("hanoi"))
    return {item.entry.code: item.entry for item in directory.agencies}


def _by_name(agencies: dict[str, AgencyEntry]) -> dict[str, AgencyEntry]:
    return {entry.name: entry for entry in agencies.values()}


def test_sample_is_complete_on_its_own() -> None:
    directory = read_directory_file(sample_directory("hanoi"))

    assert check_directory(directory) == []
    assert [level.level for level in directory.levels] == [1, 2, 3, 4]


def test_only_documented_real_codes_are_not_illustrative(agencies: dict[str, AgencyEntry]) -> None:
    not_illustrative = {code for code, entry in agencies.items() if not entry.illustrative}

    assert not_illustrative == REAL_CODES


def test_every_code_has_the_qcvn_form(agencies: dict[str, AgencyEntry]) -> None:
    assert all(parse_agency_code(code).qcvn for code in agencies)


def test_local_parents_agree_with_the_codes(agencies: dict[str, AgencyEntry]) -> None:
    local = [entry for entry in agencies.values() if entry.code.endswith("H26")]

    assert all(entry.parent == parse_agency_code(entry.code).parent for entry in local)


def test_people_committee_heads_the_city(agencies: dict[str, AgencyEntry]) -> None:
    city = agencies["000.00.00.H26"]

    assert (city.parent, city.level) == (None, 2)


def test_departments_of_the_plan_are_present(agencies: dict[str, AgencyEntry]) -> None:
    departments = [e for e in agencies.values() if e.parent == "000.00.00.H26" and e.level == 2]

    assert 15 <= len(departments) <= 25
    assert set(PLAN_DEPARTMENTS) <= {entry.name for entry in departments}
    assert {entry.channel for entry in departments} == {Channel.WEBHOOK}


def test_pilot_districts_of_the_plan_are_present(agencies: dict[str, AgencyEntry]) -> None:
    districts = [e for e in agencies.values() if e.parent == "000.00.00.H26" and e.level == 3]

    names = [entry.name for entry in districts]
    assert len(names) == len(PILOT_DISTRICTS)
    assert all(any(name.endswith(f" {pilot}") for name in names) for pilot in PILOT_DISTRICTS)
    assert {entry.channel for entry in districts} == {Channel.INBOX}


def test_every_pilot_district_has_its_office(agencies: dict[str, AgencyEntry]) -> None:
    districts = {e.code for e in agencies.values() if e.parent == "000.00.00.H26" and e.level == 3}
    offices = [e for e in agencies.values() if e.name.startswith("Văn phòng HĐND và UBND")]

    assert {office.parent for office in offices} == districts
    assert all(office.may_send_for == (office.parent,) for office in offices)


def test_wards_of_dong_da_from_the_letter_are_present(agencies: dict[str, AgencyEntry]) -> None:
    by_name = _by_name(agencies)
    dong_da = by_name["UBND quận Đống Đa"].code

    wards = [by_name[f"UBND phường {ward}"] for ward in DONG_DA_WARDS]

    assert {(ward.parent, ward.level, ward.channel) for ward in wards} == {
        (dong_da, 4, Channel.INBOX)
    }


def test_ministries_are_reached_through_the_axis(agencies: dict[str, AgencyEntry]) -> None:
    central = [entry for entry in agencies.values() if entry.level == 1]

    assert "000.00.00.G22" in {entry.code for entry in central}
    assert len(central) >= 4
    assert {entry.channel for entry in central} == {Channel.AXIS}
