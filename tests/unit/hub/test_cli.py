"""The lienthong command without a database: usage errors, city generation, file errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import main
from hub.directory import read_directory_file
from hub.logging import reset_logging


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    yield
    reset_logging()


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: lienthong" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["frobnicate"]) == 2


def test_missing_argument_is_a_usage_error() -> None:
    assert main(["agency", "token"]) == 2


def test_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "generate", "--help"]) == 0
    assert "--communes-per-district" in capsys.readouterr().out


def test_generate_writes_a_city_of_the_requested_size(tmp_path: Path) -> None:
    output = tmp_path / "city.yaml"

    code = main(
        [
            "directory",
            "generate",
            "--districts",
            "3",
            "--communes-per-district",
            "4",
            "--departments",
            "5",
            "--seed",
            "1",
            "-o",
            str(output),
        ]
    )

    assert code == 0
    assert len(read_directory_file(output).agencies) == 2 + 5 + 3 * (1 + 4)


def test_generate_as_csv_writes_a_csv_directory(tmp_path: Path) -> None:
    output = tmp_path / "city.csv"

    assert (
        main(["directory", "generate", "--districts", "1", "--format", "csv", "-o", str(output)])
        == 0
    )

    assert output.read_text(encoding="utf-8").startswith("code,name,level,")


def test_impossible_city_fails_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["directory", "generate", "--districts", "90", "--departments", "40"])

    assert code == 1
    assert "at most 99" in capsys.readouterr().err


def test_import_of_an_invalid_file_names_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,level_name,channel\nX1,Sở,2,Thành phố,fax\n", encoding="utf-8")

    code = main(["directory", "import", str(bad)])

    assert code == 1
    assert "bad.csv:2, agency #1 (X1), field 'channel'" in capsys.readouterr().err


def test_import_of_a_missing_file_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "import", "nowhere.yaml"]) == 1
    assert "cannot read nowhere.yaml" in capsys.readouterr().err


def test_invalid_setting_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIENTHONG_PORT", "0")

    assert main(["db", "current"]) == 1
    assert "LIENTHONG_PORT" in capsys.readouterr().err


def test_import_from_stdin_without_format_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["directory", "import", "-"]) == 2
    assert "--format" in capsys.readouterr().err


def test_the_replay_limits_default_is_the_most_one_replay_may_touch() -> None:
    from hub.cli import build_parser
    from hub.transport.replay import MAX_REPLAY

    replay = build_parser()._subparsers._group_actions[0].choices["replay"]  # type: ignore[union-attr]
    limit = next(action for action in replay._actions if action.dest == "limit")
    assert f"default: {MAX_REPLAY}" in str(limit.help)
