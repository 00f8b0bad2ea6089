"""The axis commands: `run` adds the poller when an axis is configured; clear refusals without."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main, processes
from hub.logging import reset_logging
from hub.settings import Settings


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(tmp_path / "var"))
    yield
    reset_logging()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Mapping[str, Sequence[str]]]:
    """The extra children `run` would start (run_all is replaced)."""
    calls: list[Mapping[str, Sequence[str]]] = []

    def run_all(settings: Settings, *, port: int | None = None, **options: Any) -> int:
        calls.append(options.get("extra") or {})
        return 0

    monkeypatch.setattr(processes, "run_all", run_all)
    return calls


def test_run_starts_the_axis_poller_when_an_axis_is_configured(
    monkeypatch: pytest.MonkeyPatch, started: list[Mapping[str, Sequence[str]]]
) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LIENTHONG_AXIS_SYSTEM_ID", "hanoi.hub")
    monkeypatch.setenv("LIENTHONG_AXIS_SECRET", "secret")

    assert main(["run"]) == 0

    assert started == [{"axis-poll": ["axis", "poll"]}]


def test_run_starts_no_poller_without_an_axis(
    started: list[Mapping[str, Sequence[str]]],
) -> None:
    assert main(["run"]) == 0

    assert started == [{}]


def test_axis_poll_without_an_axis_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["axis", "poll", "--once"]) == 1

    assert "no national axis is configured: set LIENTHONG_AXIS_URL" in capsys.readouterr().err


def test_sync_axis_without_an_axis_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "sync-axis"]) == 1

    assert "set LIENTHONG_AXIS_URL" in capsys.readouterr().err
