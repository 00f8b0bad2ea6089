"""The operator's commands: audit verify and list, replay, operator tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from hub.auth.callers import AuthenticatedAgency, authenticate_bearer
from hub.cli import main
from hub.db.models import AuditEntry, Delivery, DeliveryState, Packet
from hub.errors import UnauthorizedError
from hub.logging import reset_logging
from hub.records import audit

from . import packets
from .conftest import Hub
from .packets import CITY, DISTRICT, WARD
from .test_retention import accepted

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def environment(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", hub.settings.database.url)
    monkeypatch.setenv("LIENTHONG_DATA_DIR", str(hub.settings.storage.data_dir))
    monkeypatch.setenv("LIENTHONG_AUTO_MIGRATE", "never")
    yield
    reset_logging()


def parked_delivery(hub: Hub) -> str:
    _, raw = packets.document(WARD, (DISTRICT, CITY))
    result = hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))
    delivery_id = result.deliveries[1].delivery_id
    hub.set_state(delivery_id, DeliveryState.PARKED, last_error="HTTP 502")
    return delivery_id


def test_replay_dry_run_prints_the_deliveries_and_changes_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    delivery_id = parked_delivery(hub)

    code = main(["replay", "--state", "parked", "--dry-run"])

    captured = capsys.readouterr()
    assert code == 0
    assert delivery_id in captured.out
    assert "would replay 1 parked deliveries" in captured.err
    with hub.database.transaction() as session:
        assert session.scalar(select(Delivery.state).where(Delivery.id == delivery_id)) == (
            DeliveryState.PARKED
        )


def test_replay_requeues_and_records_an_audit_entry(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    delivery_id = parked_delivery(hub)

    code = main(["replay", "--state", "parked", "--recipient", CITY, "--reason", "đã sửa"])

    assert code == 0
    with hub.database.transaction() as session:
        assert session.scalar(select(Delivery.state).where(Delivery.id == delivery_id)) == (
            DeliveryState.QUEUED
        )
        (entry,) = audit.latest(session, 5)
    assert (entry.reason, entry.actor.startswith("cli:")) == ("đã sửa", True)


def test_replay_without_a_reason_fails(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    parked_delivery(hub)

    code = main(["replay", "--state", "parked"])

    assert code == 1
    assert "needs a reason" in capsys.readouterr().err


def test_audit_verify_exits_0_on_an_intact_log(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    parked_delivery(hub)
    main(["replay", "--state", "parked", "--reason", "thử lại"])

    code = main(["audit", "verify"])

    assert code == 0
    assert "intact: 1 entries" in capsys.readouterr().out


def test_audit_verify_exits_1_naming_the_tampered_entry(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    parked_delivery(hub)
    main(["replay", "--state", "parked", "--reason", "thử lại"])
    with hub.database.transaction() as session:
        session.execute(update(AuditEntry).values(actor="operator:someone-else"))

    code = main(["audit", "verify"])

    assert code == 1
    assert "BROKEN at entry 1" in capsys.readouterr().out


def test_audit_list_shows_the_newest_entries(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    main(["operator", "token", "lan"])
    main(["operator", "token", "minh"])
    capsys.readouterr()

    code = main(["audit", "list", "--limit", "1"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(lines) == 1
    assert "operator.token-issued" in lines[0]
    assert "operator:minh" in lines[0]


def test_operator_token_authenticates_as_that_operator(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["operator", "token", "lan", "--label", "laptop"])

    token = capsys.readouterr().out.strip()
    assert code == 0
    with hub.database.transaction() as session:
        caller = authenticate_bearer(session, token)
    assert caller.actor == "operator:lan"


def test_revoked_operator_token_no_longer_authenticates(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["operator", "token", "lan"])
    token = capsys.readouterr().out.strip()
    main(["operator", "tokens"])
    token_id = capsys.readouterr().out.split("\t")[0]

    code = main(["operator", "revoke-token", token_id])

    assert code == 0
    with pytest.raises(UnauthorizedError, match="revoked"), hub.database.transaction() as session:
        authenticate_bearer(session, token)


def test_retention_removes_the_bytes_of_an_old_finished_packet(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    packet_id, sha256, deliveries = accepted(hub, (WARD,), days_ago=40)
    hub.set_state(deliveries[0], DeliveryState.DELIVERED)

    dry = main(["retention", "--days", "30", "--dry-run"])
    kept = hub.blobs.exists(sha256)
    code = main(["retention", "--days", "30", "--reason", "retention test"])

    assert (dry, kept, code) == (0, True, 0)
    output = capsys.readouterr().out
    assert "would remove the bytes of 1 finished packets" in output
    assert "removed the bytes of 1 finished packets" in output
    assert not hub.blobs.exists(sha256)
    with hub.database.transaction() as session:
        assert (
            session.scalar(select(Packet.payload_purged_at).where(Packet.id == packet_id))
            is not None
        )


def test_retention_without_a_reason_fails(hub: Hub) -> None:
    assert main(["retention", "--days", "30"]) != 0
