"""``lienthong directory changes``: import (and its dry run), list, apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import main
from hub.db.database import open_database
from hub.logging import reset_logging
from hub.settings import Settings

from .conftest import snapshot

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> Iterator[Settings]:
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    main(["db", "upgrade"])
    main(["directory", "import", "--sample", "hanoi"])
    yield settings
    reset_logging()


def test_a_dry_run_of_the_sample_writes_nothing_and_says_what_it_would_record(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_database(environment) as database:
        before = snapshot(database.engine)

    assert main(["directory", "changes", "import", "--sample", "hanoi-2025", "--dry-run"]) == 0

    captured = capsys.readouterr()
    assert "would record\thn-2025-07-van-mieu-quoc-tu-giam\t" in captured.out
    assert "no delivery on its way now is moved" in captured.out
    assert "would record 20 change(s) from hanoi-2025.yaml" in captured.err
    with open_database(environment) as database:
        assert snapshot(database.engine) == before


def test_the_imported_changes_are_listed_with_their_act_and_who_recorded_them(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "changes", "import", "--sample", "hanoi-2025", "--by", "an"]) == 0
    capsys.readouterr()

    assert main(["directory", "changes", "list", "--code", "000.00.04.H26"]) == 0

    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("hn-2025-03-tai-chinh\t")
    assert "recorded by an" in line
    assert "applied" in line


def test_a_csv_file_is_read_by_its_name(
    environment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rename.csv"
    path.write_text(
        "kind,effective,act,code,name\nrename,2025-07-01,QĐ 7,000.00.03.H26,Sở X\n",
        encoding="utf-8",
    )

    assert main(["directory", "changes", "import", str(path)]) == 0

    assert "rename 000.00.03.H26: Sở Tài chính → Sở X" in capsys.readouterr().out


def test_an_invalid_change_file_fails_naming_the_line_and_field(
    environment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "changes:\n  - kind: dissolve\n    effective: 2025-07-01\n    act: x\n"
        "    code: 000.00.99.H26\n",
        encoding="utf-8",
    )

    assert main(["directory", "changes", "import", str(path)]) == 1

    assert "bad.yaml:5, change #1" in capsys.readouterr().err


def test_apply_applies_nothing_when_everything_is_applied(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["directory", "changes", "import", "--sample", "hanoi-2025"])
    capsys.readouterr()

    assert main(["directory", "changes", "apply"]) == 0

    assert "applied 0 change(s)" in capsys.readouterr().err
