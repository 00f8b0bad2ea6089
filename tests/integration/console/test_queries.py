"""The statistics queries agree with the figures computed the slow, obvious way, on each backend:
transport over several windows in one pass, traffic per day, and the median answer times read
from the first answer times kept on each business state (revision 0006)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from hub.console import queries
from hub.console.figures import DURATION_BUCKETS, LOCAL_TZ, bucket_index, percentile
from hub.console.service import ConsoleDatabase, ConsoleStats
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, DocumentRecipient, Packet, StatusEvent

from ..hub.pipeline import packets
from ..hub.pipeline.packets import CITY, DEPARTMENT, DISTRICT, WARD
from .conftest import Console

pytestmark = pytest.mark.integration

RECIPIENTS = (DISTRICT, CITY, DEPARTMENT)


def _traffic(console: Console, documents: int = 6) -> datetime:
    """Documents and statuses, their deliveries spread over 40 days; returns now."""
    for number in range(documents):
        document, raw = packets.document(WARD, RECIPIENTS)
        console.ingest(raw, WARD)
        for index, recipient in enumerate(RECIPIENTS):
            if (number + index) % 3:
                console.ingest(packets.status(document, "01", recipient), recipient)
    now = utcnow()
    states = list(DeliveryState)
    with console.hub.database.transaction() as session:
        for index, delivery in enumerate(session.scalars(select(Delivery).order_by(Delivery.id))):
            delivery.created_at = now - timedelta(hours=17 * index + 1)
            delivery.state = states[index % len(states)]
            delivery.delivered_at = (
                delivery.created_at + timedelta(seconds=(index * 7.3) ** 2)
                if delivery.state is DeliveryState.DELIVERED or index % 4 == 0
                else None
            )
        for index, packet in enumerate(session.scalars(select(Packet).order_by(Packet.id))):
            packet.received_at = now - timedelta(hours=13 * index + 2)
    return now


def test_transport_of_several_windows_and_days_is_what_the_rows_say(console: Console) -> None:
    now = _traffic(console)
    starts = {
        "today": now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0),
        "7d": now - timedelta(days=7),
        "30d": now - timedelta(days=30),
    }

    with console.hub.database.transaction() as session:
        figures, days = queries.traffic(session, starts, now)
        single = queries.transport_figures(session, starts["7d"])
        daily = queries.daily_volume(session, starts["30d"], now)
        deliveries = session.execute(
            select(Delivery.created_at, Delivery.delivered_at, Delivery.state)
        ).all()
        sent = session.execute(select(Packet.received_at, Packet.kind)).all()

    for key, since in starts.items():
        inside = [row for row in deliveries if row[0] >= since]
        durations = sorted(
            max((done - created).total_seconds(), 0.0)
            for created, done, _ in inside
            if done is not None
        )
        histogram = [0] * (len(DURATION_BUCKETS) + 1)
        for value in durations:
            histogram[bucket_index(value)] += 1
        states: dict[str, int] = defaultdict(int)
        for _, _, state in inside:
            states[state.value] += 1
        kinds = [kind for received, kind in sent if received >= since]
        got = figures[key]

        assert (got.documents, got.statuses) == (kinds.count("edoc"), kinds.count("status"))
        assert got.states == states
        assert list(got.histogram) == histogram
        assert got.delivered_p50 == pytest.approx(percentile(durations, 0.5))
        assert got.delivered_p95 == pytest.approx(percentile(durations, 0.95))
    assert single == figures["7d"]
    assert daily == days
    expected_days: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for created, _, state in deliveries:
        if created >= starts["30d"]:
            day = expected_days[created.astimezone(LOCAL_TZ).date()]
            day[2] += state is not DeliveryState.MERGED  # carried by another delivery
            day[3] += state is DeliveryState.DELIVERED
            day[4] += state in (DeliveryState.PARKED, DeliveryState.EXPIRED, DeliveryState.REFUSED)
    for received, kind in sent:
        if received >= starts["30d"]:
            expected_days[received.astimezone(LOCAL_TZ).date()][0 if kind == "edoc" else 1] += 1
    assert {
        day.day: [day.documents, day.statuses, day.deliveries, day.delivered, day.failed]
        for day in days
        if any((day.documents, day.statuses, day.deliveries))
    } == {day: counts for day, counts in expected_days.items() if any(counts[:3])}
    assert days[0].day == starts["30d"].astimezone(LOCAL_TZ).date()
    assert days[-1].day == now.astimezone(LOCAL_TZ).date()


def _medians_from_status_events(session: Session, since: datetime) -> dict[str, Any]:
    """The median answer times as revision 0005 computed them: a join with every status."""
    first_ack = func.min(
        case((StatusEvent.status_code.in_(queries.ACKNOWLEDGING), StatusEvent.received_at))
    )
    first_accept = func.min(
        case((StatusEvent.status_code.in_(queries.ACCEPTING), StatusEvent.received_at))
    )
    rows = session.execute(
        select(
            DocumentRecipient.recipient_code,
            DocumentRecipient.created_at,
            first_ack,
            first_accept,
        )
        .join(
            StatusEvent,
            and_(
                StatusEvent.document_sender_code == DocumentRecipient.sender_code,
                StatusEvent.document_id == DocumentRecipient.document_id,
                StatusEvent.recipient_code == DocumentRecipient.recipient_code,
            ),
        )
        .where(
            DocumentRecipient.created_at >= since,
            StatusEvent.status_code.in_(queries.ACKNOWLEDGING),
        )
        .group_by(
            DocumentRecipient.id, DocumentRecipient.recipient_code, DocumentRecipient.created_at
        )
    ).all()
    series: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for recipient, arrived, ack, accept in rows:
        series[recipient][0].append(max((ack - arrived).total_seconds(), 0.0))
        if accept is not None:
            series[recipient][1].append(max((accept - arrived).total_seconds(), 0.0))
    return {
        recipient: (percentile(sorted(acks), 0.5), percentile(sorted(accepts), 0.5))
        for recipient, (acks, accepts) in series.items()
    }


def test_median_answer_times_are_those_the_status_events_give(console: Console) -> None:
    for number in range(5):
        document, raw = packets.document(WARD, RECIPIENTS)
        if number == 0:  # statuses before their document
            console.ingest(packets.status(document, "01", DISTRICT), DISTRICT)
            console.ingest(packets.status(document, "03", DISTRICT, minute=2), DISTRICT)
        console.ingest(raw, WARD)
        for index, recipient in enumerate(RECIPIENTS):
            codes = [("01", "03", "04"), ("02", "03"), ("05", "01", "03", "01"), ()][
                (number + index) % 4
            ]
            for minute, code in enumerate(codes):
                console.ingest(packets.status(document, code, recipient, minute=minute), recipient)
    since = utcnow() - timedelta(days=1)
    with console.hub.database.transaction() as session:
        # Spread the arrival and status times so the medians differ from one another.
        for index, row in enumerate(
            session.scalars(select(DocumentRecipient).order_by(DocumentRecipient.id))
        ):
            row.created_at = row.created_at - timedelta(minutes=7 * index)
        session.flush()
        expected = _medians_from_status_events(session, since)
        got = queries.agency_figures(session, since)
        subset = queries.agency_figures(session, since, median_codes=[CITY])

    assert set(expected) == {DISTRICT, CITY, DEPARTMENT}
    for recipient, (to_01, to_03) in expected.items():
        assert got[recipient].seconds_to_01 == pytest.approx(to_01)
        assert got[recipient].seconds_to_03 == pytest.approx(to_03)
    assert subset[CITY].seconds_to_01 == pytest.approx(expected[CITY][0])
    assert subset[DISTRICT].seconds_to_01 is None


def _answered(console: Console) -> None:
    for number in range(4):
        document, raw = packets.document(WARD, RECIPIENTS)
        console.ingest(raw, WARD)
        for index, recipient in enumerate(RECIPIENTS[: number % 3 + 1]):
            console.ingest(packets.status(document, "01", recipient, minute=index), recipient)
            if number % 2:
                console.ingest(packets.status(document, "03", recipient, minute=9), recipient)


def _medians_of(rows: Any) -> dict[str, tuple[float | None, float | None]]:
    return {row.code: (row.figures.seconds_to_01, row.figures.seconds_to_03) for row in rows}


def test_a_listed_page_gets_the_medians_of_its_rows_alone(console: Console) -> None:
    _answered(console)
    stats = ConsoleStats(ConsoleDatabase(console.hub.database), console.hub.settings)

    full = stats.agencies("30d")
    listed = stats.agencies_listed("30d")
    shown = stats.with_medians(listed, listed.rows[:3])

    assert (full.medians, listed.medians) == (True, False)
    assert _medians_of(listed.rows) == dict.fromkeys(_medians_of(listed.rows), (None, None))
    assert _medians_of(shown) == {row.code: _medians_of(full.rows)[row.code] for row in shown}
    assert any(value != (None, None) for value in _medians_of(full.rows).values())
    assert [row.figures.received for row in shown] == [
        row.figures.received for row in full.rows[:3]
    ]


def test_a_listed_page_uses_the_cached_medians_once_computed(console: Console) -> None:
    _answered(console)
    settings = console.hub.settings.replace(console_stats_seconds=600.0)
    stats = ConsoleStats(ConsoleDatabase(console.hub.database), settings)

    first = stats.agencies_listed("30d")  # starts computing the medians in the background
    full = stats.agencies("30d")  # waits for them
    again = stats.agencies_listed("30d")

    assert not first.medians
    assert again is full
    assert stats.with_medians(again, again.rows) == again.rows
