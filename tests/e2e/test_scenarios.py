"""The shipped scenarios, shortened, against the whole hub; and the one-command demo.

One hub (``lienthong run`` on SQLite, through :mod:`simulators.hubprocess`) serves the module,
linked to a simulated axis node served over HTTP in this process, with the Hà Nội sample
directory set up as ``lienthong-sim setup`` does (a webhook port and secret per agency,
bound before the hub starts). Each test plays one shipped scenario at a reduced scale with the
simulated agencies in this process, and asserts that every expectation the scenario file
states held; the report is shown when one did not. The demo runs as ``lienthong-sim demo
--once`` in a process of its own. RabbitMQ is required (skipped locally when absent, failed
under ``CI=true``).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hub.auth.roles import ConsoleRole
from hub.console.users import check_login
from hub.db.database import open_database
from hub.settings import Settings
from simulators.agencies import WebhookServer
from simulators.axis import AxisSimulator, BackgroundServer
from simulators.axis.systems import systems_from
from simulators.broker import delete_topology
from simulators.demo import DEMO_SETTINGS
from simulators.hubprocess import HubProcess, free_port, simulator_argv
from simulators.scenario.deployment import (
    AxisLink,
    Deployment,
    axis_systems,
    read_directory,
    set_up,
    simulated_directory,
)
from simulators.scenario.runner import RunReport, ScenarioRunner
from simulators.scenario.spec import load_scenario

pytestmark = pytest.mark.e2e

CITY = "000.00.00.H26"
HUB_SYSTEM = "hanoi.hub"
SCENARIO_SETTINGS = {**DEMO_SETTINGS, "LIENTHONG_RETRY_DELAYS": "0.5,1,2,4,8,15,30"}
"""The demo's settings with a quicker first retry; the topology cleanup below uses them."""


@dataclass
class ScenarioHub:
    """The module's hub and what scenarios need to play against it."""

    deployment: Deployment
    servers: dict[int, WebhookServer]
    hub: HubProcess
    axis: BackgroundServer

    def play(self, name: str, scale: float) -> RunReport:
        """One run of a shipped scenario with the systems of its participants."""
        runner = ScenarioRunner(load_scenario(name), self.deployment, scale=scale)
        participants = sorted(runner.participants())
        with runner.open_cast(participants, servers=self.servers) as cast:
            report = runner.run(cast)
        assert self.hub.running, self.hub.log_tail()
        return report


@contextmanager
def running_scenario_hub(
    amqp_url: str, prefix: str, root: Path, database: dict[str, str]
) -> Iterator[ScenarioHub]:
    """The Hà Nội hub with its simulated agencies and axis, on ``database``'s settings."""
    data = read_directory("hanoi")
    servers = {
        entry.code: WebhookServer() for entry in data.agencies if entry.channel.value == "webhook"
    }
    data = simulated_directory(data, webhook_host="127.0.0.1", port_of=lambda c: servers[c].port)
    hub_secret = secrets.token_urlsafe(24)
    systems = axis_systems(data, hub_system=HUB_SYSTEM, city_root=CITY, hub_secret=hub_secret)
    (root / "axis-systems.yaml").write_text(yaml.safe_dump(systems), encoding="utf-8")
    simulator = AxisSimulator(systems_from(systems))
    with BackgroundServer(simulator.app) as axis:
        settings = {
            **SCENARIO_SETTINGS,
            **database,
            "LIENTHONG_DATA_DIR": str(root / "var"),
            "LIENTHONG_AMQP_URL": amqp_url,
            "LIENTHONG_AMQP_PREFIX": prefix,
            "LIENTHONG_AXIS_URL": axis.url,
            "LIENTHONG_AXIS_SYSTEM_ID": HUB_SYSTEM,
            "LIENTHONG_AXIS_SECRET": hub_secret,
            "LIENTHONG_AXIS_ORGAN_ID": CITY,
        }
        hub = HubProcess(root, settings, free_port(), log_path=root / "hub.log")
        try:
            deployment = set_up(
                hub,
                root,
                data,
                hub_url=hub.url,
                axis=AxisLink(
                    url=axis.url, systems=Path("axis-systems.yaml"), hub_system=HUB_SYSTEM
                ),
            )
            hub.start()
            yield ScenarioHub(
                deployment, {server.port: server for server in servers.values()}, hub, axis
            )
        finally:
            code = hub.stop()
            for server in servers.values():
                server.close()
            _cleanup(amqp_url, prefix, SCENARIO_SETTINGS)
    assert code == 0, hub.log_tail()


@pytest.fixture(scope="module")
def scenario_hub(
    amqp_url: str, session_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScenarioHub]:
    root = tmp_path_factory.mktemp("scenarios")
    with running_scenario_hub(amqp_url, f"{session_prefix}.scenarios", root, {}) as running:
        yield running


def _cleanup(amqp_url: str, prefix: str, settings: dict[str, str]) -> None:
    delays = [float(part) for part in settings["LIENTHONG_RETRY_DELAYS"].split(",")]
    delete_topology(amqp_url, prefix, delays, float(settings["LIENTHONG_RETRY_JITTER"]))


def _met(report: RunReport) -> dict[str, str]:
    """Each check's name → its detail, once every expectation held (the report otherwise)."""
    assert report.ok, report.render()
    return {check.name: check.detail for check in report.checks}


def test_city_day_delivers_every_document_at_every_level_with_its_statuses(
    scenario_hub: ScenarioHub,
) -> None:
    assert_city_day(scenario_hub)


def assert_city_day(scenario_hub: ScenarioHub) -> None:
    """city-day at 0.15 of its size: every document at every level, with its statuses."""
    report = scenario_hub.play("city-day", 0.15)

    checks = _met(report)
    assert {"delivered", "statuses", "changes", "no duplicates"} <= set(checks)
    levels = {row.level: row for row in report.rows}
    assert set(levels) == {1, 2, 3, 4, None}
    total = levels[None]
    assert total.sent > 20
    assert total.delivered == total.sent
    assert total.parked == 0


def test_axis_outage_retries_deliveries_to_ministries_and_delivers_them_once(
    scenario_hub: ScenarioHub,
) -> None:
    report = scenario_hub.play("axis-outage", 0.25)

    checks = _met(report)
    assert report.counters["retried"] >= 1, checks["retried"]
    ministries = next(row for row in report.rows if row.level == 1)
    assert ministries.sent > 0
    assert ministries.delivered == ministries.sent
    assert ministries.completed == ministries.sent


def test_flaky_communes_are_offered_deliveries_again_and_keep_each_once(
    scenario_hub: ScenarioHub,
) -> None:
    report = scenario_hub.play("flaky-commune", 0.25)

    checks = _met(report)
    assert report.counters["redelivered"] >= 1
    assert "no duplicates" in checks
    wards = next(row for row in report.rows if row.level == 4)
    assert wards.delivered < wards.sent, "the ward that never acknowledges keeps copies available"


def test_revokes_updates_replacements_and_take_backs_are_answered_as_profiles_say(
    scenario_hub: ScenarioHub,
) -> None:
    report = scenario_hub.play("revoke-update-replace", 0.25)

    checks = _met(report)
    assert "changes" in checks
    assert report.counters["changes"] >= 5


def test_reform_day_lands_every_document_in_flight_at_its_successor(
    amqp_url: str, session_prefix: str, tmp_path: Path
) -> None:
    """reform-day on a hub of its own (its changes stay): every check holds, documents in
    flight and after the change reached the successors or were refused naming them, and the
    console counts the day before and after the change by its own levels."""
    with running_scenario_hub(amqp_url, f"{session_prefix}.reform", tmp_path, {}) as hub:
        report = hub.play("reform-day", 0.5)

    checks = _met(report)
    assert {"landed", "figures by structure", "no duplicates", "statuses"} <= set(checks)
    assert report.counters["documents"] >= 10
    assert "refused naming them" in checks["landed"]


def test_the_scenario_command_exits_1_and_names_the_expectation_that_failed(
    scenario_hub: ScenarioHub, tmp_path: Path
) -> None:
    scenario = {
        "name": "impossible",
        "duration": 2,
        "flows": [
            {
                "name": "district-to-wards",
                "from": {"codes": ["000.00.22.H26"]},
                "to": {"level": 4},
                "count": 2,
            }
        ],
        "expect": {"settle_within": 30, "retried": {"min": 1000}},
    }
    path = tmp_path / "impossible.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    deployment = scenario_hub.deployment.base / "deployment.yaml"

    finished = subprocess.run(
        [*simulator_argv(), "scenario", str(path), "--deployment", str(deployment)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "FAIL retried: 0 (expected at least 1000)" in finished.stdout
    assert "ok   delivered" in finished.stdout


def test_the_demo_once_plays_city_day_and_prints_console_credentials_that_sign_in(
    amqp_url: str, session_prefix: str, tmp_path: Path
) -> None:
    prefix = f"{session_prefix}.demo-{uuid.uuid4().hex[:6]}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")},
        "LIENTHONG_AMQP_URL": amqp_url,
        "LIENTHONG_AMQP_PREFIX": prefix,
    }
    try:
        finished = subprocess.run(
            [
                *simulator_argv(),
                "demo",
                "--once",
                "--scale",
                "0.12",
                "--workdir",
                str(tmp_path / "demo"),
                "--port",
                str(free_port()),
                "--axis-port",
                str(free_port()),
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        _cleanup(amqp_url, prefix, DEMO_SETTINGS)

    output = finished.stdout
    assert finished.returncode == 0, output + finished.stderr[-3000:]
    header = next(line for line in output.splitlines() if line.startswith("level"))
    for column in ("sent", "delivered", "01 ack", "03 accepted", "06 done", "02 refused"):
        assert column in header
    for column in ("retried", "parked", "median", "p95"):
        assert column in header
    for level in ("1 Trung ương", "2 Thành phố", "3 Quận, huyện", "4 Xã, phường", "total"):
        assert re.search(rf"^{re.escape(level)}\s+\d+", output, re.MULTILINE), output
    assert "result: every expectation met" in output
    shown = re.search(
        r"web console: http://127\.0\.0\.1:\d+/console/  user (\S+), password (\S+)", output
    )
    assert shown is not None, output
    demo_settings = Settings(data_dir=tmp_path / "demo" / "var")
    with open_database(demo_settings) as database, database.transaction() as session:
        signed_in = check_login(session, shown.group(1), shown.group(2), address="127.0.0.1")
    assert signed_in.role is ConsoleRole.ADMIN
