"""The conformance kit: checks an agency's system the way the hub will use it.

The kit plays the hub towards the system under test. It serves the part of the agency API
the system calls (status packets in, the pull inbox out) on a local port (:class:`KitHub`),
pushes or offers documents it builds itself, forged and repeated ones included, and judges
what the system does: timely 01, revoke, update and take-back answers, a replacement answered
as a new document, valid and rightly addressed status packets (04 and 05 in order when sent),
deduplication on the delivery id, webhook signature checks, inbox acknowledgements
(:func:`run_conformance`, a :class:`Report`)::

    with KitHub(agency=code, sender=DEFAULT_SENDER, token=token) as kit:
        ...  # the system posts to kit.url with the token
        report = run_conformance(Options(agency=code, url=url, secret=secret), kit)
"""

from __future__ import annotations

from simulators.conformance.checks import CHECKS, CheckResult
from simulators.conformance.kit import KitHub
from simulators.conformance.report import Report
from simulators.conformance.runner import DEFAULT_SENDER, Options, run_conformance

__all__ = [
    "CHECKS",
    "DEFAULT_SENDER",
    "CheckResult",
    "KitHub",
    "Options",
    "Report",
    "run_conformance",
]
