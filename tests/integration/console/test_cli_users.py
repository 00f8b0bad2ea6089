"""`lienthong user add|list|disable|enable|password|role`, audited, on each backend."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from hub.cli import main
from hub.db.database import open_database
from hub.db.models import AuditEntry, ConsoleUser
from hub.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def env(hub_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", hub_settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(hub_settings.storage.data_dir))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    return hub_settings


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_user_commands(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "mat-khau-dai-1\n")
    assert main(["user", "add", "lan", "--role", "admin", "--password-stdin"]) == 0
    _stdin(monkeypatch, "mat-khau-dai-2\n")
    assert main(["user", "add", "hoa", "--role", "viewer", "--password-stdin"]) == 0
    _stdin(monkeypatch, "short\n")
    assert main(["user", "add", "tu", "--role", "viewer", "--password-stdin"]) == 1
    assert main(["user", "role", "hoa", "operator"]) == 0
    assert main(["user", "disable", "hoa"]) == 0
    assert main(["user", "disable", "lan"]) == 1  # the last active admin
    _stdin(monkeypatch, "mat-khau-moi-3\n")
    assert main(["user", "password", "hoa", "--password-stdin"]) == 0
    capsys.readouterr()

    assert main(["user", "list"]) == 0

    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["hoa", "operator", "disabled"],
        ["lan", "admin", "active"],
    ]
    with open_database(env) as database, database.transaction() as session:
        hashes = session.scalars(select(ConsoleUser.password_hash)).all()
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert actions == [
        "console.user-added",
        "console.user-added",
        "console.user-role",
        "console.user-disabled",
        "console.user-password",
    ]


def test_without_a_terminal_the_password_must_come_on_stdin(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "")

    assert main(["user", "add", "lan", "--role", "admin"]) == 1
    assert "--password-stdin" in capsys.readouterr().err
