"""`lienthong run` on one machine: relay, worker and API as children, stopped together."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hub.channels import Channel
from hub.db.models import DeliveryState, EvidenceRecord
from hub.evidence.signing import self_signed

from .conftest import WAIT_SECONDS, Hub

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_serves_the_api_delivers_and_stops_cleanly_on_sigterm(hub: Hub) -> None:
    port = free_port()
    hub.agency("000.00.12.H26", Channel.INBOX)
    delivery_id = hub.delivery("000.00.12.H26", Channel.INBOX)
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "--port", str(port)],
        env=hub.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        announced = child.stdout.readline().decode()
        assert announced.strip() == f"lienthong: API on http://127.0.0.1:{port}"
        hub.wait_state(delivery_id, DeliveryState.AVAILABLE)
        hub.wait_until(lambda: _healthy(port))
        child.send_signal(signal.SIGTERM)
        _out, errors = child.communicate(timeout=WAIT_SECONDS)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == 0, errors.decode()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_with_an_evidence_key_seals_what_its_worker_vouches_for(
    hub: Hub, tmp_path: Path
) -> None:
    key_pem, cert_pem = self_signed("run test")
    (tmp_path / "hub.key").write_bytes(key_pem)
    (tmp_path / "hub.pem").write_bytes(cert_pem)
    hub.agency("000.00.12.H26", Channel.INBOX)
    delivery_id = hub.delivery("000.00.12.H26", Channel.INBOX)
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "--port", str(free_port())],
        env=hub.environment(
            LIENTHONG_EVIDENCE_KEY_FILE=str(tmp_path / "hub.key"),
            LIENTHONG_EVIDENCE_CERT_FILE=str(tmp_path / "hub.pem"),
            LIENTHONG_EVIDENCE_CHECKPOINT_SECONDS="0.5",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        hub.wait_until(lambda: _sealed(hub, delivery_id) == ["made-available"])
        child.send_signal(signal.SIGTERM)
        _out, errors = child.communicate(timeout=WAIT_SECONDS)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == 0, errors.decode()


def _sealed(hub: Hub, delivery_id: str) -> list[str]:
    """Kinds of the delivery's evidence records that a checkpoint has sealed."""
    with hub.database.transaction() as session:
        return list(
            session.scalars(
                select(EvidenceRecord.kind).where(
                    EvidenceRecord.delivery_id == delivery_id, EvidenceRecord.seq.is_not(None)
                )
            )
        )
