"""Circuit breakers: open after repeated failures, one probe after the cool-down, recovery."""

from __future__ import annotations

import pytest

from hub.transport.breaker import Admission, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=10, max_cooldown=40, probe_timeout=60, clock=clock)


def fail(breaker: CircuitBreaker, peer: str, times: int) -> None:
    for _ in range(times):
        assert breaker.admit(peer)
        breaker.failed(peer)


def test_a_peer_stays_closed_below_the_threshold(breaker: CircuitBreaker) -> None:
    fail(breaker, "a", 2)

    assert breaker.state("a") is BreakerState.CLOSED
    assert breaker.admit("a")


def test_consecutive_failures_open_the_circuit(breaker: CircuitBreaker) -> None:
    fail(breaker, "a", 3)

    assert breaker.state("a") is BreakerState.OPEN
    assert not breaker.admit("a")
    assert breaker.retry_in("a") == 10


def test_a_success_resets_the_count_of_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, "a", 2)
    breaker.succeeded("a")
    fail(breaker, "a", 2)

    assert breaker.state("a") is BreakerState.CLOSED


def test_peers_have_their_own_circuits(breaker: CircuitBreaker) -> None:
    fail(breaker, "a", 3)

    assert breaker.admit("b")
    assert breaker.state("b") is BreakerState.CLOSED


def test_after_the_cooldown_exactly_one_probe_is_let_through(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, "a", 3)
    clock.now += 10

    assert breaker.admit("a")
    assert breaker.state("a") is BreakerState.HALF_OPEN
    assert not breaker.admit("a")


def test_a_successful_probe_closes_the_circuit(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, "a", 3)
    clock.now += 10
    breaker.admit("a")
    breaker.succeeded("a")

    assert breaker.state("a") is BreakerState.CLOSED
    assert breaker.admit("a")
    assert breaker.admit("a")


def test_a_failed_probe_opens_it_again_for_twice_as_long_up_to_the_maximum(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, "a", 3)
    waits = []
    for _ in range(4):
        clock.now += breaker.retry_in("a")
        assert breaker.admit("a")
        breaker.failed("a")
        waits.append(breaker.retry_in("a"))

    assert waits == [20, 40, 40, 40]


def test_a_probe_that_never_reports_back_is_replaced(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, "a", 3)
    clock.now += 10
    assert breaker.admit("a")
    clock.now += 59
    assert not breaker.admit("a")
    clock.now += 1

    assert breaker.admit("a")


def test_the_cooldowns_must_be_in_order(clock: Clock) -> None:
    with pytest.raises(ValueError, match="cooldown"):
        CircuitBreaker(threshold=1, cooldown=10, max_cooldown=5, clock=clock)


def capped(clock: Clock, slots: int = 2) -> CircuitBreaker:
    return CircuitBreaker(
        threshold=3,
        cooldown=10,
        max_cooldown=40,
        probe_timeout=60,
        max_in_flight=slots,
        clock=clock,
    )


def test_a_peer_gets_no_more_attempts_at_once_than_its_slots(clock: Clock) -> None:
    breaker = capped(clock)

    answers = [breaker.acquire("slow") for _ in range(3)]

    assert answers == [Admission.GO, Admission.GO, Admission.BUSY]
    assert breaker.in_flight("slow") == 2
    assert breaker.acquire("other") is Admission.GO


def test_a_released_slot_can_be_taken_again(clock: Clock) -> None:
    breaker = capped(clock, slots=1)
    assert breaker.acquire("a") is Admission.GO

    breaker.release("a", failed=None)

    assert breaker.in_flight("a") == 0
    assert breaker.acquire("a") is Admission.GO


def test_released_failures_open_the_circuit_and_it_refuses_before_counting_slots(
    clock: Clock,
) -> None:
    breaker = capped(clock, slots=5)
    for _ in range(3):
        assert breaker.acquire("dead") is Admission.GO
        breaker.release("dead", failed=True)

    assert breaker.state("dead") is BreakerState.OPEN
    assert breaker.acquire("dead") is Admission.OPEN
    assert breaker.in_flight("dead") == 0


def test_a_busy_answer_changes_nothing_in_the_circuit(clock: Clock) -> None:
    breaker = capped(clock, slots=1)
    assert breaker.acquire("p") is Admission.GO
    assert breaker.acquire("p") is Admission.BUSY
    breaker.release("p", failed=False)

    assert breaker.state("p") is BreakerState.CLOSED
    assert breaker.acquire("p") is Admission.GO


def test_slots_are_counted_per_slot_key_while_the_circuit_stays_the_peers(clock: Clock) -> None:
    breaker = capped(clock, slots=1)

    first = breaker.acquire("https://tinh.example", slot="000.01.21.H99")
    second = breaker.acquire("https://tinh.example", slot="000.02.21.H99")
    third = breaker.acquire("https://tinh.example", slot="000.01.21.H99")

    assert (first, second, third) == (Admission.GO, Admission.GO, Admission.BUSY)
    assert breaker.in_flight("000.01.21.H99") == 1


def suspect_capped(clock: Clock, budget: int = 2) -> CircuitBreaker:
    return CircuitBreaker(
        threshold=5, cooldown=10, max_cooldown=40, max_in_flight=2, max_suspect=budget, clock=clock
    )


def suspect(breaker: CircuitBreaker, *keys: str) -> None:
    for key in keys:
        breaker.failed(f"http://{key}:80", slot=key)


def test_recipients_whose_last_attempt_failed_share_a_capped_number_of_slots(
    clock: Clock,
) -> None:
    breaker = suspect_capped(clock)
    suspect(breaker, "A", "B", "C")

    first = breaker.acquire("http://A:80", slot="A")
    second = breaker.acquire("http://B:80", slot="B")
    third = breaker.acquire("http://C:80", slot="C")

    assert (first, second, third) == (Admission.GO, Admission.GO, Admission.BUSY)
    assert breaker.suspect_in_flight() == 2


def test_new_and_healthy_recipients_are_not_held_back_by_suspect_ones(clock: Clock) -> None:
    breaker = suspect_capped(clock, budget=1)
    suspect(breaker, "H1", "H2")
    breaker.acquire("http://H1:80", slot="H1")

    assert breaker.acquire("http://H2:80", slot="H2") is Admission.BUSY
    assert breaker.acquire("http://new:80", slot="NEW") is Admission.GO
    assert breaker.acquire("http://new:80", slot="NEW") is Admission.GO


def test_a_finished_suspect_attempt_gives_its_place_to_the_next(clock: Clock) -> None:
    breaker = suspect_capped(clock, budget=1)
    suspect(breaker, "A", "B")
    breaker.acquire("http://A:80", slot="A")

    breaker.release("http://A:80", slot="A", failed=True)

    assert breaker.acquire("http://B:80", slot="B") is Admission.GO


def test_an_answer_clears_the_suspicion(clock: Clock) -> None:
    breaker = suspect_capped(clock, budget=1)
    suspect(breaker, "A", "B")
    breaker.acquire("http://B:80", slot="B")

    breaker.succeeded("http://A:80", slot="A")

    assert breaker.acquire("http://A:80", slot="A") is Admission.GO
    assert breaker.suspect_in_flight() == 1


def test_a_successful_release_clears_the_suspicion(clock: Clock) -> None:
    breaker = suspect_capped(clock, budget=1)
    suspect(breaker, "A", "B")
    breaker.acquire("http://A:80", slot="A")
    breaker.release("http://A:80", slot="A", failed=False)
    breaker.acquire("http://B:80", slot="B")

    assert breaker.acquire("http://A:80", slot="A") is Admission.GO


def test_without_a_suspect_cap_every_failing_recipient_gets_its_slots(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=5, cooldown=10, max_cooldown=40, max_in_flight=1)
    for n in range(20):
        breaker.failed(f"http://{n}:80", slot=str(n))

    admissions = [breaker.acquire(f"http://{n}:80", slot=str(n)) for n in range(20)]

    assert set(admissions) == {Admission.GO}


def test_the_suspect_cap_must_be_positive(clock: Clock) -> None:
    with pytest.raises(ValueError, match="max_suspect"):
        CircuitBreaker(threshold=1, cooldown=1, max_cooldown=1, max_suspect=0, clock=clock)


def test_an_open_circuit_answers_open_before_busy(clock: Clock) -> None:
    breaker = suspect_capped(clock, budget=1)
    breaker.acquire("http://a:80", slot="A")
    breaker.acquire("http://a:80", slot="A")
    for _ in range(5):
        breaker.failed("http://a:80", slot="A")

    assert breaker.acquire("http://a:80", slot="A") is Admission.OPEN
