"""The simulated axis's systems file: forms, secrets from the environment, routing."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from simulators.axis.systems import Systems, SystemsFileError, load_systems, systems_from

CITY = "000.00.00.H26"
DISTRICT = "000.00.12.H26"
VPCP = "000.00.00.G22"


def _systems() -> Systems:
    return systems_from(
        {
            "systems": {
                "hanoi.hub": {"secret": "a", "agencies": [{"code": CITY, "name": "UBND"}, "*.H26"]},
                "district.direct": {"secret": "b", "agencies": [DISTRICT]},
                "vpcp": {"secret": "c", "agencies": [VPCP]},
            }
        }
    )


def test_a_yaml_file_with_secrets_from_the_environment_is_loaded(tmp_path: Path) -> None:
    secret = secrets.token_hex(8)
    path = tmp_path / "systems.yaml"
    path.write_text(
        "systems:\n"
        "  hanoi.hub:\n"
        "    secret_env: HANOI_AXIS_SECRET\n"
        "    agencies:\n"
        f"      - code: {CITY}\n"
        "        name: UBND thành phố Hà Nội\n",
        "utf-8",
    )

    systems = load_systems(path, environ={"HANOI_AXIS_SECRET": secret})

    system = systems.get("hanoi.hub")
    assert system is not None
    assert system.secret == secret
    assert secret not in repr(system)
    assert [a.name for a in systems.agencies()] == ["UBND thành phố Hà Nội"]


def test_a_list_of_systems_with_ids_is_read_too() -> None:
    systems = systems_from({"systems": [{"id": "vpcp", "secret": "k", "agencies": [VPCP]}]})

    assert systems.route(VPCP) == ["vpcp"]


def test_an_exact_code_wins_over_a_pattern() -> None:
    systems = _systems()

    assert systems.route(DISTRICT) == ["district.direct"]
    assert systems.route("000.05.12.H26") == ["hanoi.hub"]
    assert systems.route("000.00.00.G99") == []


def test_a_system_serves_its_patterns_for_sending() -> None:
    systems = _systems()

    assert systems.serves("hanoi.hub", "000.05.12.H26")
    assert not systems.serves("vpcp", CITY)
    assert not systems.serves("unknown", CITY)


def test_the_agency_list_holds_exact_codes_only() -> None:
    assert [a.code for a in _systems().agencies()] == [CITY, DISTRICT, VPCP]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "'systems' key"),
        ({"systems": "x"}, "mapping of system id"),
        ({"systems": {"s": {"agencies": []}}}, "secret"),
        ({"systems": {"s": {"secret": "a", "secret_env": "X"}}}, "not both"),
        ({"systems": {"s": {"secret_env": "UNSET_AXIS_SECRET"}}}, "UNSET_AXIS_SECRET"),
        ({"systems": [{"id": "s", "secret": "a"}, {"id": "s", "secret": "b"}]}, "twice"),
        ({"systems": {"s": {"secret": "a", "colour": "red"}}}, "colour"),
    ],
)
def test_a_broken_systems_file_says_what_to_fix(data: object, message: str) -> None:
    with pytest.raises(SystemsFileError, match=message):
        systems_from(data, environ={})


def test_a_file_that_is_not_yaml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "systems.yaml"
    path.write_text("systems: [unclosed", "utf-8")

    with pytest.raises(SystemsFileError, match=r"systems\.yaml"):
        load_systems(path)
