"""The evidence key and the commands that need no database: keygen, run's checkpoints."""

from __future__ import annotations

import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main, processes
from hub.errors import ConfigurationError
from hub.evidence.signing import load_signer, self_signed
from hub.logging import reset_logging
from hub.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(tmp_path / "var"))
    yield
    reset_logging()


def test_keygen_writes_a_secret_key_and_its_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "keys" / "hub.key", tmp_path / "keys" / "hub.pem"

    assert main(["evidence", "keygen", "--key", str(key), "--cert", str(cert)]) == 0

    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert load_signer(key, cert).certificate.subject.rfc4514_string() == "CN=lienthong evidence"


def test_keygen_keeps_an_existing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, cert = tmp_path / "hub.key", tmp_path / "hub.pem"
    key.write_text("mine")

    assert main(["evidence", "keygen", "--key", str(key), "--cert", str(cert)]) == 1

    assert key.read_text() == "mine"
    assert "--force" in capsys.readouterr().err


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    key, cert = tmp_path / "hub.key", tmp_path / "other.pem"
    key.write_bytes(self_signed("hub")[0])
    cert.write_bytes(self_signed("other")[1])

    with pytest.raises(ConfigurationError, match="public keys differ"):
        load_signer(key, cert)


def test_the_key_needs_its_certificate() -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_EVIDENCE_CERT_FILE"):
        load_settings(evidence_key_file="hub.key")


def test_run_starts_evidence_checkpoints_when_a_key_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[Mapping[str, Sequence[str]]] = []

    def run_all(settings: Settings, *, port: int | None = None, **options: Any) -> int:
        started.append(options.get("extra") or {})
        return 0

    monkeypatch.setattr(processes, "run_all", run_all)
    monkeypatch.setenv("LIENTHONG_EVIDENCE_KEY_FILE", "hub.key")
    monkeypatch.setenv("LIENTHONG_EVIDENCE_CERT_FILE", "hub.pem")
    monkeypatch.setenv("LIENTHONG_EVIDENCE_CHECKPOINT_SECONDS", "30")

    assert main(["run"]) == 0

    assert started == [{"evidence-checkpoints": ["evidence", "checkpoint", "--every", "30.0"]}]
