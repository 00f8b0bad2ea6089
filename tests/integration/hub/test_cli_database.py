"""The lienthong command against real databases: upgrade, import, export, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.auth.tokens import authenticate
from hub.cli import main
from hub.db.database import open_database
from hub.db.migrate import head_revision
from hub.directory import read_directory_file, sample_directory
from hub.errors import UnauthorizedError
from hub.logging import reset_logging
from hub.settings import Settings

from .conftest import snapshot

pytestmark = pytest.mark.integration

OFFICE = "000.00.01.H26"


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> Iterator[Settings]:
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    yield settings
    reset_logging()


def test_db_upgrade_brings_an_empty_database_to_head(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0

    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith(f"{head_revision()} (current")


def test_command_on_an_empty_database_asks_for_db_upgrade(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "export"]) == 1
    assert "run `lienthong db upgrade`" in capsys.readouterr().err


def test_sample_import_then_export_gives_the_same_agencies(
    environment: Settings, tmp_path: Path
) -> None:
    exported = tmp_path / "out.csv"
    main(["db", "upgrade"])

    assert main(["directory", "import", "--sample", "hanoi"]) == 0
    assert main(["directory", "export", "--format", "csv", "-o", str(exported)]) == 0

    original = read_directory_file(sample_directory("hanoi")).data()
    assert {e.code: e for e in read_directory_file(exported).data().agencies} == {
        e.code: e for e in original.agencies
    }


def test_dry_run_import_writes_nothing(environment: Settings) -> None:
    main(["db", "upgrade"])
    with open_database(environment) as database:
        before = snapshot(database.engine)

    assert main(["directory", "import", "--sample", "hanoi", "--dry-run"]) == 0

    with open_database(environment) as database:
        assert snapshot(database.engine) == before


def test_import_with_an_unknown_parent_fails_naming_line_and_field(
    environment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["db", "upgrade"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- code: 000.00.01.H26\n  name: Sở\n  level: 2\n  level_name: TP\n"
        "  parent: 000.00.00.H26\n  channel: inbox\n",
        encoding="utf-8",
    )

    assert main(["directory", "import", str(bad)]) == 1
    assert "bad.yaml:5, agency #1 (000.00.01.H26), field 'parent'" in capsys.readouterr().err


def test_agency_token_prints_a_token_that_authenticates(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["db", "upgrade"])
    main(["directory", "import", "--sample", "hanoi"])
    capsys.readouterr()

    assert main(["agency", "token", OFFICE, "--label", "iOffice"]) == 0

    token = capsys.readouterr().out.strip()
    with open_database(environment) as database, database.transaction() as session:
        assert authenticate(session, token).code == OFFICE


def test_revoke_token_command_stops_the_token(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["db", "upgrade"])
    main(["directory", "import", "--sample", "hanoi"])
    capsys.readouterr()
    main(["agency", "token", OFFICE])
    token = capsys.readouterr().out.strip()

    assert main(["agency", "revoke-token", OFFICE, "1"]) == 0

    assert main(["agency", "tokens", OFFICE]) == 0
    assert "\trevoked " in capsys.readouterr().out
    with (
        open_database(environment) as database,
        database.transaction() as session,
        pytest.raises(UnauthorizedError, match="revoked"),
    ):
        authenticate(session, token)


def test_show_of_an_unknown_agency_fails_clearly(
    environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["db", "upgrade"])

    assert main(["agency", "show", "000.00.77.H26"]) == 1
    assert "no agency '000.00.77.H26'" in capsys.readouterr().err
