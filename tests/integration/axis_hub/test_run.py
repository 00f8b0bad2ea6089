"""The axis link in the commands: `lienthong axis poll --once`, and `lienthong run` polling."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest

from hub.cli import main
from hub.db.models import DeliveryState
from hub.logging import reset_logging
from tests.integration.broker.conftest import WAIT_SECONDS
from tests.integration.hub.pipeline.packets import document

from .conftest import CITY_SYSTEM, GOVERNMENT_OFFICE, WARD, AxisHub

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _axis_environment(axis_hub: AxisHub) -> dict[str, str]:
    settings = axis_hub.hub.settings
    return axis_hub.hub.environment(
        LIENTHONG_AXIS_URL=settings.axis.url,
        LIENTHONG_AXIS_SYSTEM_ID=settings.axis.system_id,
        LIENTHONG_AXIS_SECRET=settings.axis.secret.get_secret_value(),
        LIENTHONG_AXIS_POLL_EDOC_SECONDS="0.2",
        LIENTHONG_AXIS_POLL_STATUS_SECONDS="0.2",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_axis_poll_once_receives_what_waits_and_reports_it(
    axis_hub: AxisHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD])
    for name, value in _axis_environment(axis_hub).items():
        if name.startswith("LIENTHONG_"):
            monkeypatch.setenv(name, value)

    try:
        assert main(["axis", "poll", "--once"]) == 0
    finally:
        reset_logging()

    assert capsys.readouterr().out.splitlines() == [
        "edoc\tlisted 1\taccepted 1\trepeated 0\trejected 0\tleft 0",
        "status\tlisted 0\taccepted 0\trepeated 0\trejected 0\tleft 0",
    ]
    assert axis_hub.queue_state(doc_id) == "done"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_polls_the_axis_and_delivers_to_the_local_agency(axis_hub: AxisHub) -> None:
    _, data = document(GOVERNMENT_OFFICE, (WARD,))
    doc_id = axis_hub.inject(data, to=[WARD])
    child = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "--port", str(_free_port())],
        env=_axis_environment(axis_hub),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        axis_hub.hub.wait_until(lambda: axis_hub.queue_state(doc_id) == "done")
        (packet,) = axis_hub.packets(submitted_by=f"vxp:{CITY_SYSTEM}")
        delivery = axis_hub.deliveries(packet.id)[WARD]
        axis_hub.hub.wait_state(delivery.id, DeliveryState.AVAILABLE)
        child.send_signal(signal.SIGTERM)
        _, errors = child.communicate(timeout=WAIT_SECONDS * 3)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == 0, errors.decode()
