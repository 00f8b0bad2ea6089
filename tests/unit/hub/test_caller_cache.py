"""Accepted callers are kept a few seconds, by token digest, and never past their time."""

from __future__ import annotations

from hub.auth.cache import CallerCache
from hub.auth.callers import AuthenticatedAgency

WARD = AuthenticatedAgency("000.05.12.H26", "Phường Láng Thượng")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_caller_is_found_again_within_its_seconds_and_not_after() -> None:
    clock = Clock()
    cache = CallerCache(5, clock=clock)
    cache.put("lt_secret", WARD)

    clock.now += 4.9
    assert cache.get("lt_secret") == WARD
    clock.now += 0.2
    assert cache.get("lt_secret") is None


def test_another_token_of_the_same_agency_is_not_taken_for_it() -> None:
    cache = CallerCache(5)
    cache.put("lt_one", WARD)

    assert cache.get("lt_two") is None


def test_zero_seconds_keeps_nothing() -> None:
    cache = CallerCache(0)
    cache.put("lt_secret", WARD)

    assert cache.get("lt_secret") is None


def test_the_oldest_callers_make_room_past_the_capacity() -> None:
    cache = CallerCache(60, capacity=2)
    for token in ("lt_a", "lt_b", "lt_c"):
        cache.put(token, WARD)

    assert cache.get("lt_a") is None
    assert cache.get("lt_c") == WARD


def test_forgetting_drops_every_caller() -> None:
    cache = CallerCache(60)
    cache.put("lt_a", WARD)
    cache.forget_all()

    assert cache.get("lt_a") is None
