"""The axis down, slow or failing: transient errors while it lasts, success after."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from adapters.axis import (
    AxisClient,
    AxisConfig,
    AxisTransientError,
    AxisUnavailableError,
    Operation,
)
from hub.axis.delivery_errors import delivery_errors
from hub.errors import TransientDeliveryError
from simulators.axis import AxisSimulator, Faults
from tests.integration.axis.conftest import VPCP, MakeClient
from tests.integration.axis.traffic import document


def _wait_until_up(simulator: AxisSimulator, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while simulator.faults.down_remaining() > 0 and time.monotonic() < deadline:
        time.sleep(0.02)


def test_while_the_axis_is_down_calls_fail_transiently_and_succeed_after(
    city: AxisClient, vpcp: AxisClient, simulator: AxisSimulator
) -> None:
    _, data = document()
    simulator.faults.set(Faults(down_for_seconds=0.3))

    with pytest.raises(AxisUnavailableError) as sending:
        city.send_edoc(data, message_type="edoc")
    with pytest.raises(AxisUnavailableError) as polling:
        vpcp.get_received_edoc_list("edoc")
    _wait_until_up(simulator)
    sent = city.send_edoc(data, message_type="edoc")

    assert (sending.value.http_status, sending.value.delay) == (503, 1.0)
    assert polling.value.http_status == 503
    assert [item.doc_id for item in vpcp.get_received_edoc_list("edoc")] == [sent.doc_id]


def test_a_brief_failure_is_retried_inside_the_call_unnoticed(
    make_client: MakeClient, simulator: AxisSimulator
) -> None:
    patient = make_client(VPCP, http_attempts=3)
    simulator.faults.set(Faults(fail_rate=0.5, seed=1))  # draws: fail, then succeed

    assert patient.get_received_edoc_list("edoc") == []


def test_an_outage_reaches_the_hub_as_a_transient_delivery_error_with_the_delay(
    city: AxisClient, simulator: AxisSimulator
) -> None:
    simulator.faults.set(Faults(down_for_seconds=5))

    with pytest.raises(TransientDeliveryError) as caught, delivery_errors():
        city.send_edoc(document()[1], message_type="edoc")

    assert caught.value.delay == 5.0
    assert caught.value.code == "axis.unavailable"


def test_a_node_nobody_listens_on_is_unavailable_and_nothing_arrived(city: AxisClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = AxisConfig.model_validate(
        {**city.config.model_dump(), "url": f"http://127.0.0.1:{closed_port}", "http_attempts": 2}
    )

    with AxisClient(config) as lost, pytest.raises(AxisUnavailableError) as caught:
        lost.send_edoc(document()[1], message_type="edoc")

    assert caught.value.may_have_arrived is False


def test_a_node_slower_than_the_read_timeout_is_a_transient_error(
    make_client: MakeClient, simulator: AxisSimulator
) -> None:
    hasty = make_client(VPCP, read_timeout=0.1, http_attempts=1)
    simulator.faults.set(Faults(slow_ms=400, operations=(Operation.GET_RECEIVED_EDOC_LIST,)))

    with pytest.raises(AxisUnavailableError, match="in time"):
        hasty.get_received_edoc_list("edoc")
    assert hasty.get_agencies_list()


def test_injected_internal_errors_are_transient_for_the_operations_chosen(
    city: AxisClient, vpcp: AxisClient, simulator: AxisSimulator
) -> None:
    simulator.faults.set(Faults(fail_rate=1.0, operations=(Operation.SEND_EDOC,)))

    with pytest.raises(AxisTransientError) as caught:
        city.send_edoc(document()[1], message_type="edoc")

    assert (caught.value.http_status, caught.value.error_code) == (500, "INTERNAL_ERROR")
    assert vpcp.get_received_edoc_list("edoc") == []


def test_an_operator_sets_and_clears_faults_over_http(admin: httpx.Client) -> None:
    set_ = admin.post("/_sim/faults", json={"down_for_seconds": 60, "slow_ms": 5})
    cleared = admin.delete("/_sim/faults")

    assert set_.status_code == 200
    assert 59 < set_.json()["down_remaining_seconds"] <= 60
    assert cleared.json()["down_remaining_seconds"] == 0
    assert admin.post("/_sim/faults", json={"fail_rate": 2}).status_code == 422
