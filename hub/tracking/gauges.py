"""What the hub's gauges read from the tracking database at scrape time.

Everything here is a cheap read over an index: deliveries per state, the outbox rows the relay
has not yet published (a growing count or age means the relay is down or behind), delivery
attempts of the last minutes by outcome (retries and refusals as they happen) and the last
round of each receive loop of the national axis (its backlog and how long ago it answered).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import AxisPollState, Delivery, DeliveryAttempt, OutboxMessage

__all__ = ["RECENT_WINDOW", "AxisLoop", "HubGauges", "read_gauges"]

RECENT_WINDOW = timedelta(minutes=5)
"""How far back the attempt counts look."""


@dataclass(frozen=True)
class AxisLoop:
    """The last round of one receive loop (documents or statuses) of one upstream."""

    upstream: str
    kind: str
    backlog: int
    """Items its last round left for the next one."""
    since_poll: float
    since_success: float | None
    """Seconds since a round last read the list; None when none ever did."""


@dataclass(frozen=True)
class HubGauges:
    """One reading of the database-side gauges."""

    deliveries: Mapping[str, int]
    outbox_unpublished: int
    outbox_oldest_seconds: float
    """Age of the oldest unpublished outbox row; 0 when there is none."""
    recent_attempts: Mapping[str, int]
    """Attempts started within :data:`RECENT_WINDOW`, by outcome."""
    axis: tuple[AxisLoop, ...]


def read_gauges(session: Session, now: datetime) -> HubGauges:
    """Read every gauge in ``session`` (five small queries, each over an index)."""
    deliveries = {
        state.value: count
        for state, count in session.execute(
            select(Delivery.state, func.count()).group_by(Delivery.state)
        )
    }
    unpublished, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.published_at.is_(None)
        )
    ).one()
    attempts: dict[str, int] = {}
    for outcome, count in session.execute(
        select(DeliveryAttempt.outcome, func.count())
        .where(DeliveryAttempt.started_at >= now - RECENT_WINDOW)
        .group_by(DeliveryAttempt.outcome)
    ):
        attempts[outcome] = count
    loops = tuple(
        AxisLoop(
            upstream=row.upstream,
            kind=row.kind,
            backlog=row.left,
            since_poll=_seconds(now, row.last_poll_at),
            since_success=None
            if row.last_success_at is None
            else _seconds(now, row.last_success_at),
        )
        for row in session.scalars(
            select(AxisPollState).order_by(AxisPollState.upstream, AxisPollState.kind)
        )
    )
    return HubGauges(
        deliveries=deliveries,
        outbox_unpublished=int(unpublished),
        outbox_oldest_seconds=0.0 if oldest is None else _seconds(now, oldest),
        recent_attempts=attempts,
        axis=loops,
    )


def _seconds(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())
