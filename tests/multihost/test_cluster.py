"""The hub spread over hosts keeps every document while its hosts die one after the other.

Packets flow through the balancer at a steady rate while, in turn, the broker node the
workers use, one API host, one worker host and one relay host are killed (kill -9 of every
process on the host). Then every accepted packet's deliveries end ``delivered`` at their
webhooks, none is lost, no document reaches a recipient under two delivery ids, and the
longest delivery pause after each fault is printed (the same delivery id twice is allowed:
delivery is at least once).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from simulators.lab.pauses import longest_gap, pause_after
from simulators.load import Posted, post_documents, prepare_documents

from .conftest import RECIPIENTS, SENDER, Lab

pytestmark = [pytest.mark.integration, pytest.mark.multihost]

RATE = 8.0
"""Packets per second posted through the balancer."""
FAULT_EVERY = 12.0
"""Seconds between two faults (and before the first, and after the last)."""
PAUSE_WINDOW = 10.0
SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class Fault:
    what: str
    at: float


def post_in_background(lab: Lab, count: int) -> tuple[threading.Thread, list[Posted]]:
    documents = prepare_documents(SENDER, RECIPIENTS, count, size=4000, statuses=False)
    results: list[Posted] = []

    def run() -> None:
        results.extend(post_documents(lab.api_url, lab.tokens, documents, concurrency=4, rate=RATE))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def wait_delivered(lab: Lab, posted: list[Posted]) -> dict[str, int]:
    """Wait until every delivery of the accepted packets is delivered; states by count."""
    packet_ids = [p.packet_id for p in posted if p.accepted]
    expected = sum(len(p.delivery_ids) for p in posted if p.accepted)
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        states: dict[str, int] = {}
        for row in lab.deliveries(packet_ids):
            states[row.state.value] = states.get(row.state.value, 0) + 1
        if states.get("delivered", 0) == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def test_killing_a_broker_node_an_api_a_worker_and_a_relay_host_loses_nothing(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    faults: list[Fault] = []
    count = int(RATE * FAULT_EVERY * 5)
    began = time.monotonic()
    thread, posted = post_in_background(lab, count)

    time.sleep(FAULT_EVERY)
    node = lab.cluster.node_of(lab.worker_node())
    faults.append(Fault(f"broker node {node.host.address} (the workers')", time.monotonic()))
    node.kill()
    time.sleep(FAULT_EVERY)
    moved = lab.worker_node()
    for name in ("api1", "worker1", "relay1"):
        faults.append(Fault(f"{name} host", time.monotonic()))
        lab.kill_host(name)
        time.sleep(FAULT_EVERY)
    thread.join(120)
    states = wait_delivered(lab, posted)

    accepted = [p for p in posted if p.accepted]
    expected = {delivery_id for p in accepted for delivery_id in p.delivery_ids}
    arrivals = lab.receiver.arrivals()
    delivered = {arrival.delivery_id for arrival in arrivals} & expected
    moments = [arrival.at for arrival in arrivals if arrival.delivery_id in expected]
    conflicts = lab.receiver.conflicts()
    pauses = {fault.what: pause_after(moments, fault.at, PAUSE_WINDOW) for fault in faults}
    widest, at = longest_gap(moments, min(moments, default=began), max(moments, default=began))
    report = [
        f"multi-host: posted {len(posted)}, accepted {len(accepted)}, delivered {len(delivered)}, "
        f"lost {len(expected - delivered)}, documents under two delivery ids {len(conflicts)}, "
        f"repeated deliveries {lab.receiver.duplicates}",
        *(
            f"multi-host: pause after killing the {what}: {pause:.1f} s"
            for what, pause in pauses.items()
        ),
        f"multi-host: longest pause while loaded: {widest:.1f} s, from {at - began:.1f} s "
        f"into the run (faults at {', '.join(f'{f.at - began:.0f}' for f in faults)} s)",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(report))

    assert not thread.is_alive()
    assert len(posted) == count
    refused = [p for p in posted if not p.accepted]
    assert not refused, (
        f"{len(refused)} posts refused, first: {refused[0].status} {refused[0].error}"
    )
    assert states == {"delivered": len(expected)}, f"deliveries by state: {states}\n" + "\n".join(
        f"--- {name}'s log ends:\n{lab.log_tail(name)}" for name in lab.hub
    )
    assert expected == delivered, f"{len(expected - delivered)} deliveries never arrived"
    assert conflicts == {}, "a document reached a recipient under two delivery ids"
    assert moved != node.host.address, "the workers stayed on the killed node"
    survivors = ("api2", "worker2", "relay2")
    assert not set(lab.ended()) & set(survivors), "a surviving process gave up"
    unready = [name for name in survivors if not lab.hub[name].fresh()]
    assert not unready, f"surviving processes not reporting ready: {unready}"
