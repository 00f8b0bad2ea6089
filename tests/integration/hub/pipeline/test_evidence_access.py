"""Receipts for the parties over HTTP, and the ``lienthong evidence`` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.api.app import create_app
from hub.cli import main
from hub.db.models import EvidenceRecord
from hub.evidence.offline import verify_receipt
from hub.logging import reset_logging

from .conftest import ApiClient, Hub
from .evidence import accept, delivered_everywhere, records, signer, write_pair
from .packets import CITY, DEPARTMENT, DISTRICT, WARD

pytestmark = pytest.mark.integration


@pytest.fixture
def signing_client(hub: Hub) -> Iterator[ApiClient]:
    """The hub's API with an evidence key."""
    app = create_app(hub.settings, hub.database, hub.blobs, evidence=signer())
    with ApiClient(app) as api:
        yield api


def evidence_url(packet_id: str) -> str:
    return f"/api/v1/packets/{packet_id}/evidence"


@pytest.mark.parametrize("party", [WARD, DISTRICT, CITY])
def test_the_sender_and_each_recipient_get_a_receipt_that_verifies(
    hub: Hub, signing_client: ApiClient, party: str
) -> None:
    result = delivered_everywhere(hub)

    response = signing_client.get(evidence_url(result.packet_id), headers=hub.auth(party))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert verify_receipt(response.content, signer().certificate).ok


def test_an_operator_gets_a_receipt(hub: Hub, signing_client: ApiClient) -> None:
    result = delivered_everywhere(hub)

    response = signing_client.get(evidence_url(result.packet_id), headers=hub.operator_auth())

    assert response.status_code == 200


def test_an_agency_that_is_no_party_is_told_the_packet_does_not_exist(
    hub: Hub, signing_client: ApiClient
) -> None:
    result = delivered_everywhere(hub)

    response = signing_client.get(evidence_url(result.packet_id), headers=hub.auth(DEPARTMENT))

    assert response.status_code == 404


def test_a_hub_without_an_evidence_key_says_so(hub: Hub, client: ApiClient) -> None:
    result = accept(hub)

    response = client.get(evidence_url(result.packet_id), headers=hub.auth(WARD))

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "evidence.not-configured"


@pytest.fixture
def environment(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings: the hub's database and the test key; the certificate's path."""
    key_file, cert_file = write_pair(tmp_path / "keys")
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", hub.settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(hub.settings.storage.data_dir))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    monkeypatch.setenv("LIENTHONG_EVIDENCE_KEY_FILE", str(key_file))
    monkeypatch.setenv("LIENTHONG_EVIDENCE_CERT_FILE", str(cert_file))
    yield cert_file
    reset_logging()


def test_an_exported_receipt_verifies_with_the_certificate_alone(
    hub: Hub, environment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = delivered_everywhere(hub)
    receipt = tmp_path / "receipt.xml"
    assert main(["evidence", "export", result.packet_id, "-o", str(receipt)]) == 0

    code = main(["evidence", "verify", str(receipt), "--cert", str(environment)])

    out = capsys.readouterr().out
    assert code == 0
    assert "receipt VALID" in out
    assert "retrieved" in out


def test_verify_names_the_record_in_which_a_byte_was_changed(
    hub: Hub, environment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = delivered_everywhere(hub)
    receipt = tmp_path / "receipt.xml"
    assert main(["evidence", "export", result.packet_id, "-o", str(receipt)]) == 0
    data = receipt.read_bytes()
    position = data.index(b'recipient="' + CITY.encode(), data.index(b'kind="delivered"')) + 13
    receipt.write_bytes(data[:position] + b"9" + data[position + 1 :])
    capsys.readouterr()

    code = main(["evidence", "verify", str(receipt), "--cert", str(environment)])

    out = capsys.readouterr().out
    assert code == 1
    assert "first broken: record 4 of the receipt (delivered of packet" in out


def test_checkpoint_then_verify_chain_reports_an_intact_chain(
    hub: Hub, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delivered_everywhere(hub)
    assert main(["evidence", "checkpoint"]) == 0

    code = main(["evidence", "verify-chain"])

    out = capsys.readouterr().out
    assert code == 0
    assert "evidence chain intact: 4 records in 1 signed checkpoints" in out


def test_verify_chain_names_the_first_changed_record(
    hub: Hub, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delivered_everywhere(hub)
    assert main(["evidence", "checkpoint"]) == 0
    target = records(hub)[1]
    with hub.database.transaction() as session:
        session.execute(
            update(EvidenceRecord)
            .where(EvidenceRecord.id == target.id)
            .values(statement=target.statement.replace("made-available", "made-availablf"))
        )

    code = main(["evidence", "verify-chain"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"BROKEN at record seq 2 (id {target.id}: made-available of packet" in out


def test_checkpoint_without_a_key_explains_how_to_make_one(
    hub: Hub, environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LIENTHONG_EVIDENCE_KEY_FILE")
    monkeypatch.delenv("LIENTHONG_EVIDENCE_CERT_FILE")

    code = main(["evidence", "checkpoint"])

    assert code == 1
    assert "lienthong evidence keygen" in capsys.readouterr().err
