"""The systemd unit set (deploy/systemd) is coherent: no service manager runs the tests.

One template unit per process kind, each running a ``lienthong`` command that parses, ready
by notification and watched by the watchdog its own checks feed, reporting to a health file
of its own instance; every ``LIENTHONG_*`` variable named is a setting.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hub.cli
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
KINDS = {"serve": "_serve", "worker": "_worker", "relay": "_relay", "axis-poll": "_axis_poll"}


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with every value it is given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit(kind: str) -> dict[str, dict[str, list[str]]]:
    return read_unit(UNITS / f"lienthong-{kind}@.service")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_process_kind_runs_its_lienthong_command(kind: str) -> None:
    command = unit(kind)["Service"]["ExecStart"][0].split()

    assert Path(command[0]).name == "lienthong"
    namespace = hub.cli.build_parser().parse_args(command[1:])
    assert namespace.command.__name__ == KINDS[kind]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_unit_is_ready_by_notification_and_watched_by_its_own_checks(kind: str) -> None:
    service = unit(kind)["Service"]

    assert service["Type"] == ["notify"]
    assert service["NotifyAccess"] == ["main"]
    assert int(service["WatchdogSec"][0]) >= 10
    assert service["Restart"] == ["always"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_instance_reports_to_a_health_file_of_its_own(kind: str) -> None:
    service = unit(kind)["Service"]
    health = [v for v in service["Environment"] if v.startswith("LIENTHONG_HEALTH_FILE=")]

    assert health == ["LIENTHONG_HEALTH_FILE=/run/%p-%i/ready"]
    assert service["RuntimeDirectory"] == ["%p-%i"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_unit_belongs_to_the_target_of_the_host(kind: str) -> None:
    sections = unit(kind)

    assert sections["Unit"]["PartOf"] == ["lienthong.target"]
    assert sections["Install"]["WantedBy"] == ["lienthong.target"]
    assert (UNITS / "lienthong.target").is_file()


def test_a_worker_has_time_to_finish_its_attempts_when_stopped() -> None:
    stop = int(unit("worker")["Service"]["TimeoutStopSec"][0])

    assert stop > Settings().worker.attempt_timeout


def test_every_lienthong_variable_of_the_units_is_a_setting() -> None:
    known = {variable for _, variable, _ in Settings.variables()}
    texts = [path.read_text("utf-8") for path in UNITS.iterdir()]
    used = {name for text in texts for name in re.findall(r"\bLIENTHONG_[A-Z0-9_]+", text)}

    assert used
    assert used <= known, f"not settings of hub/settings.py: {sorted(used - known)}"


def test_the_example_environment_is_a_valid_configuration() -> None:
    lines = (UNITS / "lienthong.env.example").read_text("utf-8").splitlines()
    values = dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))

    settings = Settings(**{k.removeprefix("LIENTHONG_").lower(): v for k, v in values.items()})

    assert settings.storage.payload_store == "database"
    assert len(settings.broker.urls) == 3
