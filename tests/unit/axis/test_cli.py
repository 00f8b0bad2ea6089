"""``lienthong-sim axis``: its options, and a clear error for a bad systems file."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.cli import main


def test_the_axis_command_documents_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["axis", "--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    for option in ("--systems", "--port", "--host", "--max-clock-skew", "--refusals-as-200"):
        assert option in out


def test_a_missing_systems_file_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "systems.yaml"

    assert main(["axis", "--systems", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_packets_command_is_still_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["packets", "--count", "1", "--out", str(tmp_path)]) == 0
    assert list(tmp_path.glob("edoc-*.edxml"))
