"""The worker's record of an attempt: the delivery's state, the attempt row and the evidence
move together, once, on both databases (on PostgreSQL as one statement outside a transaction,
the way the worker runs it)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.channels.base import DeliveryJob, HandOver
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryAttempt, DeliveryState, EvidenceRecord
from hub.errors import TransientDeliveryError
from hub.transport.messages import DeliveryMessage, Round
from hub.transport.worker.outcome import Plan, Result, Settlement
from hub.transport.worker.records import read_job, record_attempt

from .conftest import Hub
from .evidence import accept
from .packets import CITY

pytestmark = pytest.mark.integration


def _job(hub: Hub, delivery_id: str, attempt: int = 1) -> DeliveryJob:
    order = DeliveryMessage(
        delivery_id=delivery_id, packet_id="", recipient="", channel="", blob=""
    )
    with hub.database.autocommit() as connection:
        plan = read_job(connection, order, Round(attempt, attempt, utcnow()))
    assert isinstance(plan, Plan)
    return plan.job


def _delivered(job: DeliveryJob) -> tuple[Result, Settlement]:
    now = utcnow()
    handover = HandOver(DeliveryState.DELIVERED, http_status=200)
    result = Result(started_at=now, duration=0.01, handover=handover, outcome="delivered")
    settlement = Settlement(
        state=DeliveryState.DELIVERED, outcome="delivered", last_error=None, delivered_at=now
    )
    return result, settlement


def _counts(hub: Hub, delivery_id: str) -> tuple[str, int, int, int]:
    with hub.database.transaction() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        attempts = session.scalar(
            select(func.count()).where(DeliveryAttempt.delivery_id == delivery_id)
        )
        evidence = session.scalar(
            select(func.count()).where(
                EvidenceRecord.delivery_id == delivery_id, EvidenceRecord.kind == "delivered"
            )
        )
        return row.state.value, row.attempts, int(attempts or 0), int(evidence or 0)


def test_a_delivered_attempt_moves_state_attempt_row_and_evidence_together(hub: Hub) -> None:
    delivery_id = accept(hub, recipients=(CITY,)).deliveries[0].delivery_id
    job = _job(hub, delivery_id)
    result, settlement = _delivered(job)

    with hub.database.autocommit() as connection:
        settled = record_attempt(connection, job, result, settlement, "worker-a")

    assert settled
    assert _counts(hub, delivery_id) == ("delivered", 1, 1, 1)


def test_an_attempt_recorded_again_writes_nothing_and_says_so(hub: Hub) -> None:
    delivery_id = accept(hub, recipients=(CITY,)).deliveries[0].delivery_id
    job = _job(hub, delivery_id)
    result, settlement = _delivered(job)
    with hub.database.autocommit() as connection:
        record_attempt(connection, job, result, settlement, "worker-a")

    with hub.database.autocommit() as connection:
        again = record_attempt(connection, job, result, settlement, "worker-b")

    assert not again
    assert _counts(hub, delivery_id) == ("delivered", 1, 1, 1)


def test_a_retry_writes_its_attempt_row_and_no_evidence(hub: Hub) -> None:
    delivery_id = accept(hub, recipients=(CITY,)).deliveries[0].delivery_id
    job = _job(hub, delivery_id)
    now = utcnow()
    result = Result(
        started_at=now,
        duration=0.01,
        error=TransientDeliveryError("the peer answered 503", code="delivery.http"),
        outcome="transient",
    )
    settlement = Settlement(
        state=DeliveryState.RETRYING,
        outcome="transient",
        last_error="the peer answered 503",
        next_attempt_at=now,
    )

    with hub.database.autocommit() as connection:
        assert record_attempt(connection, job, result, settlement, "worker-a")

    assert _counts(hub, delivery_id) == ("retrying", 1, 1, 0)
    # The next attempt finds the delivery waiting for it.
    assert _job(hub, delivery_id, attempt=2).attempt == 2
