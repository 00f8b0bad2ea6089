"""The record of the national axis's receive loops that the console's peers page reads.

The poller keeps nothing of its rounds once they end, so each round is written to
``axis_poll_state`` (one row per upstream and loop) by :func:`record_poll`; the poller calls
it after every :meth:`hub.axis.poller.AxisPoller.poll` (see docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import AGENCY_CODE_LENGTH, AxisPollState

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["PollOutcome", "record_poll", "record_poll_in"]

_ERROR_LENGTH = 2000


class PollOutcome(Protocol):
    """What a round reports (:class:`hub.axis.poller.PollReport` has these)."""

    @property
    def kind(self) -> str: ...
    @property
    def listed(self) -> int: ...
    @property
    def accepted(self) -> int: ...
    @property
    def repeated(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def left(self) -> int: ...
    @property
    def error(self) -> str | None: ...


def record_poll_in(
    session: Session, upstream: str, report: PollOutcome, *, at: datetime | None = None
) -> AxisPollState:
    """Write one round of one loop into ``session`` (the row is created on first use)."""
    moment = at or utcnow()
    key = upstream[:AGENCY_CODE_LENGTH]
    row = session.get(AxisPollState, (key, report.kind))
    if row is None:
        row = AxisPollState(upstream=key, kind=report.kind, polls=0)
        session.add(row)
    row.polls = (row.polls or 0) + 1
    row.last_poll_at = moment
    if report.error is None:
        row.last_success_at = moment
        row.listed = report.listed
        row.accepted = report.accepted
        row.repeated = report.repeated
        row.rejected = report.rejected
        row.left = report.left
    else:
        row.last_error = report.error[:_ERROR_LENGTH]
        row.last_error_at = moment
    session.flush()
    return row


def record_poll(database: Database, upstream: str, report: PollOutcome) -> None:
    """Write one round in its own transaction (the poller's call: ``record_poll(self.
    _database, self._upstream.name, report)`` at the end of ``poll``)."""
    with database.transaction() as session:
        record_poll_in(session, upstream, report)
