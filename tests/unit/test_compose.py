"""docker-compose.yml is coherent: no Docker engine runs the tests, so its shape is checked.

Every service built from this repository runs a ``lienthong`` or ``lienthong-sim`` command
that parses; every long-running service has a health check; every ``depends_on`` names an
existing service with a condition it can meet; every ``LIENTHONG_*`` variable is a setting
of ``hub/settings.py``; the image installs every package of the distribution.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import hub.cli
import simulators.cli
import simulators.commands
import simulators.demo
from hub.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OURS = {name: service for name, service in SERVICES.items() if "build" in service}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def parses(command: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The handler a command line reaches, without running it (argparse errors exit 2)."""
    program, arguments = command[0], command[1:]
    if program == "lienthong":
        namespace = hub.cli.build_parser().parse_args(arguments)
        handler = getattr(namespace, "command", None)
        assert handler is not None, f"{command}: not a complete lienthong command"
        return str(handler.__name__)
    assert program == "lienthong-sim", f"{command}: not one of this project's commands"
    reached: list[str] = []

    def recorder(name: str) -> Any:
        def record(args: argparse.Namespace) -> int:
            reached.append(name)
            return 0

        return record

    for module in (simulators.cli, simulators.commands, simulators.demo):
        for name in dir(module):
            if name.startswith("cmd_") or name == "run_demo":
                monkeypatch.setattr(module, name, recorder(name))
    assert simulators.cli.main(arguments) == 0
    assert len(reached) == 1
    return reached[0]


def test_the_demo_stack_has_the_broker_the_database_the_hub_and_the_simulators() -> None:
    assert set(SERVICES) >= {
        "rabbitmq-1",
        "rabbitmq-2",
        "rabbitmq-3",
        "postgres",
        "migrate",
        "api",
        "worker",
        "relay",
        "axis-poller",
        "axis",
        "agencies",
    }
    assert all(SERVICES[f"rabbitmq-{n}"]["image"].endswith("-management") for n in (1, 2, 3))
    assert SERVICES["postgres"]["image"].startswith("postgres:")


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_service_runs_a_command_of_this_project(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parses([str(part) for part in OURS[name]["command"]], monkeypatch)


def test_the_hub_runs_as_separate_serve_worker_and_relay_processes() -> None:
    commands = {name: service["command"][:2] for name, service in OURS.items()}

    assert commands["api"] == ["lienthong", "serve"]
    assert commands["worker"] == ["lienthong", "worker"]
    assert commands["relay"] == ["lienthong", "relay"]
    assert commands["migrate"] == ["lienthong-sim", "setup"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_long_running_service_has_a_health_check(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SERVICES[name]
    if one_shot(service):
        waiting = [
            other
            for other in SERVICES.values()
            if other.get("depends_on", {}).get(name, {}).get("condition")
            == "service_completed_successfully"
        ]
        assert waiting, f"{name} runs once but nobody waits for it to complete"
        return
    check = service.get("healthcheck")
    assert check is not None, f"{name} has no healthcheck"
    test = [str(part) for part in check["test"]]
    assert test[0] in ("CMD", "CMD-SHELL")
    if test[0] == "CMD" and test[1] in ("lienthong", "lienthong-sim"):
        parses(test[1:], monkeypatch)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_name_existing_services_with_a_condition_they_can_meet(name: str) -> None:
    for other, rule in SERVICES[name].get("depends_on", {}).items():
        assert other in SERVICES, f"{name} depends on an unknown service {other}"
        condition = rule["condition"]
        assert condition in CONDITIONS
        if condition == "service_healthy":
            assert "healthcheck" in SERVICES[other], f"{other} has no healthcheck to wait for"
        if condition == "service_completed_successfully":
            assert one_shot(SERVICES[other]), f"{other} never completes"


def test_every_lienthong_variable_is_a_setting_of_the_hub() -> None:
    known = {variable for _, variable, _ in Settings.variables()}
    used = {
        variable
        for service in SERVICES.values()
        for variable in (service.get("environment") or {})
        if variable.startswith(ENV_PREFIX)
    }

    assert used
    assert used <= known, f"not settings of hub/settings.py: {sorted(used - known)}"


HUB_SERVICES = ("migrate", "api", "worker", "relay", "axis-poller")
LONG_RUNNING_HUB = ("api", "worker", "relay", "axis-poller")


def test_the_hub_processes_share_one_configuration_and_no_folder() -> None:
    environments = [SERVICES[name]["environment"] for name in HUB_SERVICES]

    assert len({env["LIENTHONG_DATABASE_URL"] for env in environments}) == 1
    assert {env["LIENTHONG_PAYLOAD_STORE"] for env in environments} == {"database"}
    for name in HUB_SERVICES:
        mounts = [mount.split(":")[1] for mount in SERVICES[name].get("volumes", [])]
        assert "/var/lib/lienthong" not in mounts, f"{name} shares a folder"


def test_the_hub_connects_to_each_node_of_the_rabbitmq_cluster() -> None:
    urls = Settings(**{"amqp_url": SERVICES["api"]["environment"]["LIENTHONG_AMQP_URL"]}).broker

    assert [urlsplit(url).hostname for url in urls.urls] == [
        "rabbitmq-1",
        "rabbitmq-2",
        "rabbitmq-3",
    ]
    for name in (f"rabbitmq-{n}" for n in (1, 2, 3)):
        assert f"rabbitmq-{name[-1]}" == SERVICES[name]["hostname"]
        assert SERVICES[name]["environment"]["RABBITMQ_ERLANG_COOKIE"]
        assert any(
            m.endswith("/etc/rabbitmq/conf.d/20-cluster.conf:ro") for m in SERVICES[name]["volumes"]
        )
    cluster = (ROOT / "deploy" / "rabbitmq" / "cluster.conf").read_text("utf-8")
    assert all(f"rabbit@rabbitmq-{n}" in cluster for n in (1, 2, 3))


@pytest.mark.parametrize("name", LONG_RUNNING_HUB)
def test_each_hub_process_is_checked_by_its_health_file_without_a_program(name: str) -> None:
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    health_file = service["environment"]["LIENTHONG_HEALTH_FILE"]

    assert test[0] == "CMD-SHELL"
    assert f"find {health_file} -mmin" in test[1]
    assert "python" not in test[1]
    assert "lienthong" not in test[1].replace(health_file, "")


def test_the_agencies_listen_where_migrate_points_the_webhooks() -> None:
    setup = [str(part) for part in SERVICES["migrate"]["command"]]
    option = {setup[i]: setup[i + 1] for i in range(2, len(setup) - 1) if setup[i].startswith("--")}

    assert option["--webhook-host"] == "agencies"
    assert option["--webhook-bind"] == "0.0.0.0"
    assert option["--hub-url"] == "http://api:8080"
    assert option["--axis-url"] == "http://axis:8090"
    health = " ".join(SERVICES["agencies"]["healthcheck"]["test"])
    assert f"127.0.0.1', {option['--webhook-port-base']}" in health


def test_named_volumes_are_declared_and_mounted_files_exist() -> None:
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts a missing file {source}"
            else:
                assert source in declared, f"{name} mounts an undeclared volume {source}"


def test_the_image_installs_every_package_of_the_distribution_from_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, re.MULTILINE))
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    tops = {name.split(".")[0] for name in packages["packages"]} | set(
        packages["package-dir"].values()
    )

    assert tops <= copied
    assert "pip install --require-hashes --no-deps -r requirements-runtime.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert not tops & set(ignored)
