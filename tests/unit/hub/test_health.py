"""Health reports: a file touched while every check passes, systemd told READY and WATCHDOG."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli.processes import _child_environment
from hub.health.reporter import HealthReporter
from hub.health.systemd import SystemdNotifier
from hub.settings import load_settings


class Switch:
    """A check that passes or fails as told."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def __call__(self) -> None:
        if self.problem is not None:
            raise ConnectionError(self.problem)


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's notification socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify"))
        listener.settimeout(2)
        yield listener


def messages(listener: socket.socket, count: int) -> list[str]:
    return [listener.recv(4096).decode() for _ in range(count)]


def test_the_file_is_touched_while_every_check_passes(tmp_path: Path) -> None:
    health = tmp_path / "run" / "worker.ready"
    reporter = HealthReporter({"database": Switch(), "broker": Switch()}, file=health)

    assert reporter.beat()
    assert health.is_file()


def test_the_file_goes_when_a_check_fails(tmp_path: Path) -> None:
    health = tmp_path / "worker.ready"
    broker = Switch()
    reporter = HealthReporter({"broker": broker}, file=health)
    reporter.beat()

    broker.problem = "3 of 4 consumers are not consuming"

    assert not reporter.beat()
    assert not health.exists()
    assert reporter.problems() == ["broker: 3 of 4 consumers are not consuming"]


def test_stopping_removes_the_file(tmp_path: Path) -> None:
    health = tmp_path / "relay.ready"
    reporter = HealthReporter({"database": Switch()}, file=health, interval=0.05)
    reporter.start()
    reporter.stop()

    assert not health.exists()


def test_systemd_hears_ready_once_then_the_watchdog_on_each_pass(
    tmp_path: Path, systemd: socket.socket
) -> None:
    reporter = HealthReporter(
        {"database": Switch()}, file=None, notifier=SystemdNotifier(str(tmp_path / "notify"))
    )

    reporter.beat()
    reporter.beat()

    first, second = messages(systemd, 2)
    assert first.splitlines() == ["READY=1", "WATCHDOG=1", "STATUS=ready"]
    assert second.splitlines() == ["WATCHDOG=1", "STATUS=ready"]


def test_a_failing_check_feeds_no_watchdog_and_says_why(
    tmp_path: Path, systemd: socket.socket
) -> None:
    database = Switch()
    database.problem = "connection refused"
    reporter = HealthReporter(
        {"database": database}, file=None, notifier=SystemdNotifier(str(tmp_path / "notify"))
    )

    reporter.beat()

    assert messages(systemd, 1) == ["STATUS=not ready: database: connection refused"]


def test_no_notifier_without_a_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert SystemdNotifier.from_environment() is None


def test_each_child_of_run_reports_to_a_file_of_its_own() -> None:
    settings = load_settings(health_file="/run/lienthong/ready")

    child = _child_environment({"PATH": "/bin"}, settings, "relay")

    assert child == {"PATH": "/bin", "LIENTHONG_HEALTH_FILE": "/run/lienthong/ready.relay"}
