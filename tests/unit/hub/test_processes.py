"""The long-running commands: stop on signals, refuse nonsense before connecting anywhere."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from hub.cli import main
from hub.cli.processes import stop_on_signals
from hub.logging import reset_logging


@pytest.fixture
def restored_signals() -> Iterator[None]:
    saved = {kind: signal.getsignal(kind) for kind in (signal.SIGTERM, signal.SIGINT)}
    yield
    for kind, handler in saved.items():
        signal.signal(kind, handler)


@pytest.mark.usefixtures("restored_signals")
def test_the_first_sigterm_asks_the_process_to_stop_and_the_second_is_not_caught() -> None:
    stop = stop_on_signals()

    os.kill(os.getpid(), signal.SIGTERM)

    assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_DFL


def test_a_worker_needs_at_least_one_thread(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert main(["worker", "--threads", "0"]) == 1
    finally:
        reset_logging()

    assert "--threads must be at least 1" in capsys.readouterr().err
