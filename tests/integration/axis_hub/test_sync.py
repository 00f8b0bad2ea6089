"""`lienthong directory sync-axis`: the axis's agency list in the directory, idempotently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.channels import Channel
from hub.cli import main
from hub.db.database import Database
from hub.db.models import Agency
from hub.directory import import_directory, read_directory_file, sample_directory
from hub.logging import reset_logging
from hub.settings import Settings
from simulators.axis import BackgroundServer

from .conftest import (
    CITY,
    CITY_DEPARTMENT,
    CITY_SYSTEM,
    GOVERNMENT_OFFICE,
    OTHER_CITY,
    OTHER_DEPARTMENT,
    SAAS_SYSTEM,
    SECURITY,
)

pytestmark = pytest.mark.integration

CREATED = (OTHER_CITY, OTHER_DEPARTMENT, SAAS_SYSTEM)


@pytest.fixture
def city_directory(
    database: Database,
    settings: Settings,
    server: BackgroundServer,
    system_secrets: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Database]:
    """The sample directory, and the environment of a hub linked to the node."""
    with database.transaction() as session:
        import_directory(session, read_directory_file(sample_directory("hanoi")))
        renamed = session.get(Agency, GOVERNMENT_OFFICE)
        assert renamed is not None
        renamed.name = "VPCP (tên cũ)"
    for name, value in {
        "DATABASE_URL": settings.database.url,
        "DATA_DIR": str(tmp_path / "var"),
        "AXIS_URL": server.url,
        "AXIS_SYSTEM_ID": CITY_SYSTEM,
        "AXIS_SECRET": system_secrets[CITY_SYSTEM],
        "AXIS_ORGAN_ID": CITY,
    }.items():
        monkeypatch.setenv(f"LIENTHONG_{name}", value)
    yield database
    reset_logging()


def test_sync_creates_the_outside_agencies_and_leaves_the_citys_alone(
    city_directory: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with city_directory.transaction() as session:
        before = {row.code: (row.channel, row.name) for row in session.scalars(select(Agency))}

    assert main(["directory", "sync-axis"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted(
        [
            f"created\t{OTHER_CITY}",
            f"created\t{OTHER_DEPARTMENT}",
            f"created\t{SAAS_SYSTEM}",
            f"updated\t{GOVERNMENT_OFFICE}",
            f"local\t{CITY}",
            f"local\t{CITY_DEPARTMENT}",
        ]
    )
    rows = _agencies(city_directory)
    placed = {code: (rows[code].level, rows[code].parent_code) for code in CREATED}
    assert placed == {
        OTHER_CITY: (2, None),
        OTHER_DEPARTMENT: (3, OTHER_CITY),
        SAAS_SYSTEM: (1, None),
    }
    created = rows[OTHER_DEPARTMENT]
    assert (created.channel, created.illustrative, created.active, created.name) == (
        Channel.AXIS,
        False,
        True,
        "Sở Nội vụ TP Hồ Chí Minh",
    )
    assert created.channel_settings == {"system": "vxp"}
    assert rows[GOVERNMENT_OFFICE].name == "Văn phòng Chính phủ"
    assert (rows[CITY].channel, rows[CITY].name) == before[CITY]
    assert CITY_DEPARTMENT not in rows
    assert rows[SECURITY].channel is Channel.AXIS


def test_syncing_the_same_list_again_changes_nothing(
    city_directory: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "sync-axis"]) == 0
    first = {code: row.updated_at for code, row in _agencies(city_directory).items()}
    capsys.readouterr()

    assert main(["directory", "sync-axis"]) == 0

    captured = capsys.readouterr()
    assert "0 created, 0 updated, 5 unchanged" in captured.err
    assert {code: row.updated_at for code, row in _agencies(city_directory).items()} == first


def test_a_dry_run_reports_without_writing(
    city_directory: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "sync-axis", "--dry-run"]) == 0

    assert "would sync" in capsys.readouterr().err
    assert OTHER_CITY not in _agencies(city_directory)


def _agencies(database: Database) -> dict[str, Agency]:
    with database.transaction() as session:
        return {row.code: row for row in session.scalars(select(Agency))}
