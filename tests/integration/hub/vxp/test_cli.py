"""``lienthong agency vxp-secret|vxp-secrets|vxp-revoke|vxp-key|vxp-rekey``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.cli import main
from hub.db.database import Database
from hub.db.models import AuditEntry
from hub.directory import import_directory, parse_directory
from hub.logging import reset_logging
from hub.settings import Settings
from hub.vxp.secrets import SecretBox, system_keys

from .conftest import DIRECTORY, G22, H41, KEY

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    with database.transaction() as session:
        import_directory(session, parse_directory(DIRECTORY, "yaml"))
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(settings.storage.data_dir))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    monkeypatch.setenv("LIENTHONG_VXP_KEYS", KEY)
    yield database
    reset_logging()


def _issue(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert main(["agency", "vxp-secret", *args]) == 0
    system_id, secret = capsys.readouterr().out.strip().split("\t")
    return system_id, secret


def test_a_secret_is_shown_once_with_the_system_id_it_belongs_to(
    environment: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    system_id, secret = _issue(capsys, G22)

    with environment.transaction() as session:
        keys = system_keys(session, SecretBox([KEY]), system_id)
    assert system_id == G22
    assert secret.startswith("ltv_")
    assert keys is not None
    assert [stored.secret for stored in keys.secrets] == [secret]
    with environment.transaction() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions == ["vxp.secret-issued"]


def test_the_system_id_is_chosen_once(
    environment: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _issue(capsys, H41, "--system-id", "vxp.nghean.01")
    second, _ = _issue(capsys, H41)

    assert (first, second) == ("vxp.nghean.01", "vxp.nghean.01")
    assert main(["agency", "vxp-secret", H41, "--system-id", "other"]) == 1
    assert "already connects as system 'vxp.nghean.01'" in capsys.readouterr().err


def test_secrets_are_listed_by_prefix_and_revoked_one_by_one(
    environment: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _, old = _issue(capsys, G22)
    _issue(capsys, G22)

    assert main(["agency", "vxp-revoke", G22, "1"]) == 0
    capsys.readouterr()
    assert main(["agency", "vxp-secrets", G22]) == 0

    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [(line[0], line[2].split(" ")[0]) for line in lines] == [
        ("1", "revoked"),
        ("2", "active"),
    ]
    assert lines[0][1] == old[:11] + "…"
    assert old not in "\n".join("\t".join(line) for line in lines)


def test_without_a_key_no_secret_is_issued(
    environment: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIENTHONG_VXP_KEYS")

    assert main(["agency", "vxp-secret", G22]) == 1
    assert "LIENTHONG_VXP_KEYS" in capsys.readouterr().err


def test_after_a_rekey_the_old_key_can_be_dropped(
    environment: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret = _issue(capsys, G22)
    assert main(["agency", "vxp-key"]) == 0
    new = capsys.readouterr().out.strip()
    Fernet(new)
    monkeypatch.setenv("LIENTHONG_VXP_KEYS", f"{new},{KEY}")

    assert main(["agency", "vxp-rekey"]) == 0

    with environment.transaction() as session:
        keys = system_keys(session, SecretBox([new]), G22)
    assert keys is not None
    assert [stored.secret for stored in keys.secrets] == [secret]
