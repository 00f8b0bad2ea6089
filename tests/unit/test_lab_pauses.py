"""Pauses in deliveries: the gaps the multi-host test and the cluster benchmark print."""

from __future__ import annotations

from simulators.lab.pauses import longest_gap, pause_after


def test_the_gap_across_a_fault_is_its_pause() -> None:
    arrivals = [0.0, 0.1, 0.2, 3.7, 3.8, 3.9]

    assert round(pause_after(arrivals, fault=0.25, window=5), 3) == 3.5


def test_gaps_long_after_the_fault_are_not_its_pause() -> None:
    arrivals = [*(n * 0.5 for n in range(17)), 20.0]

    assert pause_after(arrivals, fault=0.1, window=5) == 0.5


def test_a_stream_that_stopped_shows_the_silence_up_to_the_end() -> None:
    assert longest_gap([1.0, 2.0], start=0.0, end=10.0) == (8.0, 2.0)


def test_arrivals_outside_the_span_do_not_count() -> None:
    assert longest_gap([-5.0, 1.0, 2.0, 30.0], start=0.0, end=3.0)[0] == 1.0
