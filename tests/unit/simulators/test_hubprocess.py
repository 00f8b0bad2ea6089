"""The process launcher: ready when its probe holds, a clear error with the log when the
process dies at start, and a clean stop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simulators.hubprocess import (
    HubProcess,
    HubProcessError,
    ManagedProcess,
    free_port,
    http_ready,
    hub_environment,
)


def test_a_process_is_ready_once_its_probe_holds_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        root=tmp_path,
        environment=hub_environment({}),
        log_path=tmp_path / "logs" / "server.log",
        ready=http_ready(f"http://127.0.0.1:{port}/"),
        name="http.server",
    )

    with server:
        assert server.running
        assert http_ready(f"http://127.0.0.1:{port}/")()

    assert not server.running
    assert server.returncode is not None


def test_a_process_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    dying = ManagedProcess(
        [sys.executable, "-c", "import sys; print('cannot open the database'); sys.exit(3)"],
        root=tmp_path,
        environment=hub_environment({}),
        log_path=tmp_path / "dying.log",
        ready=lambda: False,
        name="dying",
    )

    with pytest.raises(
        HubProcessError,
        match=r"(?s)dying ended at start-up with exit code 3.*cannot open the database",
    ):
        dying.start(timeout=30)


def test_the_hub_environment_keeps_only_the_settings_given() -> None:
    environment = hub_environment(
        {"LIENTHONG_PORT": "9000"},
        base={"PATH": "/bin", "LIENTHONG_DATABASE_URL": "postgresql://elsewhere"},
    )

    assert environment == {"PATH": "/bin", "LIENTHONG_PORT": "9000"}


def test_a_failing_set_up_command_is_named(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, {"LIENTHONG_DATA_DIR": str(tmp_path / "var")})

    with pytest.raises(
        HubProcessError, match=r"`lienthong agency token 000\.99\.99\.H99` exited 1"
    ):
        hub.lienthong_batch([["db", "upgrade"], ["agency", "token", "000.99.99.H99"]])
