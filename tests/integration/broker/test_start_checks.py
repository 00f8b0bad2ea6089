"""A hub process that cannot work says so in one plain line and exits, before announcing
anything: a broker that does not answer, an API port already taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

_CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:{port}/%2F"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lienthong(
    tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    environment.update(LIENTHONG_DATA_DIR=str(tmp_path / "var"), **env)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("command", ["run", "serve", "worker", "relay"])
def test_a_broker_that_does_not_answer_stops_the_process_with_one_line_naming_it(
    tmp_path: Path, command: str
) -> None:
    port = _closed_port()
    done, seconds = _lienthong(
        tmp_path, command, LIENTHONG_AMQP_URL=_CLOSED_BROKER.format(port=port)
    )

    lines = done.stderr.splitlines()
    assert done.returncode != 0
    assert seconds < 15
    assert 1 <= len(lines) <= 5, done.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "guest:guest" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "API on" not in done.stdout + done.stderr


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_taken_api_port_stops_the_process_without_announcing_an_address(
    tmp_path: Path, command: str, amqp_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done, _ = _lienthong(
            tmp_path, command, LIENTHONG_PORT=str(port), LIENTHONG_AMQP_URL=amqp_url
        )

    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"lienthong: 127.0.0.1:{port} is already in use: stop what listens there, or choose "
        "another port (LIENTHONG_PORT)"
    ]
