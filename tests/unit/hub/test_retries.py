"""The retry schedule: waits with jitter, the delay a peer asks for, parking and expiry."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import (
    CircuitOpenError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from hub.transport.retries import Decision, RetryPolicy, Verdict

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(delays=(5.0, 30.0, 120.0), jitter=0.2, max_age=timedelta(days=1))


def decide(
    error: DeliveryError, attempt: int, age: timedelta = timedelta(0), seed: int = 1
) -> Decision:
    return POLICY.decide(
        error, round_attempt=attempt, queued_at=NOW - age, now=NOW, rng=random.Random(seed)
    )


def test_a_round_allows_one_attempt_more_than_there_are_delays() -> None:
    assert POLICY.max_attempts == 4


@pytest.mark.parametrize(("attempt", "delay"), [(1, 5.0), (2, 30.0), (3, 120.0)])
def test_each_retry_waits_its_delay_stretched_by_at_most_the_jitter(
    attempt: int, delay: float
) -> None:
    waits = [decide(TransientDeliveryError("503"), attempt, seed=seed).wait for seed in range(200)]

    assert all(w is not None and delay <= w <= delay * 1.2 for w in waits)
    assert len(set(waits)) > 100


def test_the_delay_a_peer_asks_for_replaces_the_schedule() -> None:
    decision = decide(TransientDeliveryError("429", delay=60.0), 1)

    assert decision.verdict is Verdict.RETRY
    assert decision.wait is not None
    assert 60.0 <= decision.wait <= 72.0


def test_no_wait_is_longer_than_the_longest_tier() -> None:
    decision = decide(TransientDeliveryError("429", delay=86_400.0), 1)

    assert decision.wait == pytest.approx(144.0)


def test_a_permanent_failure_parks_at_once() -> None:
    decision = decide(PermanentDeliveryError("404"), 1)

    assert decision.verdict is Verdict.PARK


def test_a_transient_failure_of_the_last_attempt_parks() -> None:
    decision = decide(TransientDeliveryError("503"), 4)

    assert decision.verdict is Verdict.PARK
    assert decision.reason == "4 attempts failed"


def test_a_transient_failure_past_the_maximum_age_expires() -> None:
    decision = decide(TransientDeliveryError("503"), 1, age=timedelta(days=2))

    assert decision.verdict is Verdict.EXPIRE


def test_a_skip_by_an_open_breaker_follows_the_schedule() -> None:
    decision = decide(CircuitOpenError("open"), 2)

    assert decision.verdict is Verdict.RETRY
    assert decision.wait is not None
    assert 30.0 <= decision.wait <= 36.0
