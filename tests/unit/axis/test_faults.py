"""Fault injection of the simulated axis, on a controlled clock."""

from __future__ import annotations

from adapters.axis import Operation
from simulators.axis.faults import Faults, FaultState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_node_is_down_for_the_time_given_then_serves_again() -> None:
    clock = Clock()
    state = FaultState(clock)
    state.set(Faults(down_for_seconds=10))

    clock.now += 4
    assert state.down_remaining(Operation.SEND_EDOC) == 6
    clock.now += 6
    assert state.down_remaining(Operation.SEND_EDOC) == 0


def test_faults_apply_only_to_the_operations_listed() -> None:
    state = FaultState(Clock())
    state.set(Faults(down_for_seconds=10, slow_ms=250, operations=(Operation.SEND_EDOC,)))

    assert state.down_remaining(Operation.GET_EDOC) == 0
    assert state.delay_seconds(Operation.GET_EDOC) == 0
    assert state.delay_seconds(Operation.SEND_EDOC) == 0.25


def test_fail_rate_one_fails_every_call_and_zero_none() -> None:
    state = FaultState(Clock())
    state.set(Faults(fail_rate=1.0))
    always = [state.should_fail(Operation.GET_EDOC) for _ in range(20)]
    state.clear()
    never = [state.should_fail(Operation.GET_EDOC) for _ in range(20)]

    assert all(always)
    assert not any(never)


def test_a_seed_makes_the_failures_reproducible() -> None:
    def draws() -> list[bool]:
        state = FaultState(Clock())
        state.set(Faults(fail_rate=0.5, seed=7))
        return [state.should_fail(Operation.GET_EDOC) for _ in range(30)]

    assert draws() == draws()


def test_refused_recipients_are_named() -> None:
    state = FaultState(Clock())
    state.set(Faults(refuse_codes=("000.00.00.G22",)))

    assert state.refused(["000.00.00.G06", "000.00.00.G22"]) == ["000.00.00.G22"]
