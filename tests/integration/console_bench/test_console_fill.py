"""The console benchmark's filler, at a tiny size on PostgreSQL: what it writes is what the hub
would have written (references, attempts, business states by the hub's own rules, search
text, audit chain) and what its report says.

PostgreSQL is ``LIENTHONG_TEST_POSTGRES_URL`` (default: the local server, user postgres); the
tests skip when it does not answer and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bench.console_data import FILLED_TABLES, FillPlan, FillReport, fill_database
from hub.auth.callers import AuthenticatedOperator
from hub.db.migrate import SchemaState, schema_status
from hub.db.models import Base
from hub.db.text import search_text
from hub.records import audit
from hub.tracking.receipts import BusinessState, apply_status
from hub.tracking.timeline import document_timeline
from tests.conftest import IN_CI

pytestmark = pytest.mark.integration

POSTGRES_ADMIN_URL = os.environ.get(
    "LIENTHONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DELIVERIES = 2_000


@dataclass(frozen=True)
class Filled:
    engine: Engine
    report: FillReport


@pytest.fixture(scope="module")
def filled() -> Iterator[Filled]:
    """A throwaway database filled with about 2,000 deliveries; dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL)!r}: {exc.orig}"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true. {reason}")
        pytest.skip(reason)
    name = f"lienthong_fill_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        report = fill_database(url, FillPlan(deliveries=DELIVERIES, seed=7), say=lambda _: None)
        yield Filled(engine, report)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def test_each_table_holds_the_rows_the_report_counts_and_the_planned_deliveries(
    filled: Filled,
) -> None:
    counted = {
        table: _scalar(filled.engine, f"SELECT count(*) FROM {table}") for table in FILLED_TABLES
    }
    packets_with_deliveries = _scalar(
        filled.engine, "SELECT count(DISTINCT packet_id) FROM deliveries"
    )

    assert counted == {table: filled.report.rows[table] for table in FILLED_TABLES}
    assert counted["deliveries"] >= DELIVERIES
    assert packets_with_deliveries == counted["packets"]


def test_the_schema_is_the_migrated_one_with_every_index_and_foreign_key_back(
    filled: Filled,
) -> None:
    expected_indexes = {
        index.name for table in Base.metadata.tables.values() for index in table.indexes
    }
    present = {row[0] for row in _rows(filled.engine, "SELECT indexname FROM pg_indexes")}
    foreign_keys = _rows(
        filled.engine,
        "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'",
    )
    expected_keys = {
        key.name for table in Base.metadata.tables.values() for key in table.foreign_key_constraints
    }

    assert schema_status(filled.engine).state is SchemaState.CURRENT
    assert expected_indexes <= present
    assert {name for name, _ in foreign_keys} == expected_keys
    assert all(validated for _, validated in foreign_keys)


def test_deliveries_agree_with_their_attempts_and_states(filled: Filled) -> None:
    mismatched = _scalar(
        filled.engine,
        """
        SELECT count(*) FROM deliveries d
        LEFT JOIN (SELECT delivery_id, count(*) AS n, max(number) AS top, min(number) AS low
                   FROM delivery_attempts GROUP BY delivery_id) a ON a.delivery_id = d.id
        WHERE coalesce(a.n, 0) <> d.attempts OR coalesce(a.top, 0) <> d.attempts
           OR coalesce(a.low, 1) <> 1
        """,
    )
    states = dict(_rows(filled.engine, "SELECT state, count(*) FROM deliveries GROUP BY state"))
    broken = _rows(
        filled.engine,
        """
        SELECT id, state FROM deliveries WHERE
           (state = 'delivered' AND (delivered_at IS NULL OR delivered_at < created_at))
        OR (state IN ('parked', 'expired') AND last_error IS NULL)
        OR (state = 'retrying' AND next_attempt_at IS NULL)
        OR (state = 'available' AND (channel <> 'inbox' OR acked_at IS NOT NULL))
        OR (state = 'refused' AND ack_result <> 'fail')
        OR (state = 'queued' AND attempts <> 0)
        OR (channel = 'inbox' AND state = 'delivered' AND ack_result <> 'done')
        """,
    )
    early_attempts = _scalar(
        filled.engine,
        "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
        "WHERE a.started_at < d.created_at OR a.finished_at < a.started_at",
    )
    outbox_missing = _scalar(
        filled.engine,
        "SELECT count(*) FROM deliveries d WHERE NOT EXISTS "
        "(SELECT 1 FROM outbox o WHERE o.delivery_id = d.id AND o.reason = 'ingest')",
    )

    document_states = dict(
        _rows(
            filled.engine,
            "SELECT d.state, count(*) FROM deliveries d JOIN packets p ON p.id = d.packet_id "
            "WHERE p.kind = 'edoc' GROUP BY d.state",
        )
    )

    assert mismatched == 0
    assert broken == []
    assert early_attempts == 0
    assert outbox_missing == 0
    assert states["delivered"] > 0.9 * sum(states.values())
    assert document_states == dict(filled.report.delivery_states)


def test_business_states_are_what_the_hubs_rules_make_of_the_statuses(filled: Filled) -> None:
    events: dict[tuple[str, str, str], list[tuple[str, Any]]] = defaultdict(list)
    for sender, document_id, recipient, code, received in _rows(
        filled.engine,
        "SELECT document_sender_code, document_id, recipient_code, status_code, received_at "
        "FROM status_events ORDER BY received_at, id",
    ):
        events[(sender, document_id, recipient)].append((code, received))
    states = _rows(
        filled.engine,
        "SELECT sender_code, document_id, recipient_code, status, status_at "
        "FROM document_recipients",
    )
    replayed = {}
    for sender, document_id, recipient, _, _ in states:
        state, at = BusinessState(), None
        for code, received in events.get((sender, document_id, recipient), []):
            transition = apply_status(state, code)
            if transition.state.status != state.status:
                at = received
            state = transition.state
        replayed[(sender, document_id, recipient)] = (state.status, at)

    assert set(events) <= {(s, d, r) for s, d, r, _, _ in states}
    assert {(s, d, r): (status, at) for s, d, r, status, at in states} == replayed


def test_first_answer_times_are_the_first_statuses_received(filled: Filled) -> None:
    firsts: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [None, None])
    for sender, document_id, recipient, code, received in _rows(
        filled.engine,
        "SELECT document_sender_code, document_id, recipient_code, status_code, received_at "
        "FROM status_events ORDER BY received_at, id",
    ):
        first = firsts[(sender, document_id, recipient)]
        if code in ("01", "02", "03", "04", "05", "06") and first[0] is None:
            first[0] = received
        if code in ("03", "04", "05", "06") and first[1] is None:
            first[1] = received
    kept = {
        (sender, document_id, recipient): [ack, accept]
        for sender, document_id, recipient, ack, accept in _rows(
            filled.engine,
            "SELECT sender_code, document_id, recipient_code, first_ack_at, first_accept_at "
            "FROM document_recipients",
        )
    }

    assert any(accept is not None for _, accept in kept.values())
    assert kept == {key: firsts.get(key, [None, None]) for key in kept}


def test_each_status_is_a_status_packet_delivered_once_to_the_documents_sender(
    filled: Filled,
) -> None:
    wrong = _rows(
        filled.engine,
        """
        SELECT e.id FROM status_events e
        JOIN packets p ON p.id = e.packet_id
        WHERE p.kind <> 'status' OR p.status_code <> e.status_code
           OR p.sender_code <> e.reporter_code OR p.addressee_code <> e.document_sender_code
           OR p.document_id <> e.document_id OR p.pdf_signed IS NOT NULL
           OR (SELECT count(*) FROM deliveries d WHERE d.packet_id = p.id
               AND d.recipient_code = e.document_sender_code) <> 1
        """,
    )
    before_delivery = _scalar(
        filled.engine,
        """
        SELECT count(*) FROM status_events e
        JOIN document_recipients r ON r.sender_code = e.document_sender_code
         AND r.document_id = e.document_id AND r.recipient_code = e.recipient_code
        JOIN deliveries d ON d.packet_id = r.packet_id AND d.recipient_code = r.recipient_code
        WHERE d.delivered_at IS NULL OR e.received_at < d.delivered_at
        """,
    )

    assert wrong == []
    assert before_delivery == 0


def test_documents_read_back_through_the_hubs_timeline(filled: Filled) -> None:
    operator = AuthenticatedOperator("bench")
    with Session(filled.engine) as session:
        for sender, document_id in filled.report.sample_documents[:10]:
            timeline = document_timeline(session, operator, document_id, sender)
            (document,) = [p for p in timeline.packets if p.kind == "edoc"]
            recipients = {delivery.recipient for delivery in document.deliveries}

            assert {row.recipient for row in timeline.recipients} == recipients
            assert {event.recipient for event in timeline.statuses} <= recipients
    assert filled.report.sample_documents


def test_signed_pdf_shares_per_sender_level_are_the_reported_ones(filled: Filled) -> None:
    by_level: Counter[int] = Counter()
    signed: Counter[int] = Counter()
    for level, state, count in _rows(
        filled.engine,
        "SELECT a.level, p.pdf_signed, count(*) FROM packets p "
        "JOIN agencies a ON a.code = p.sender_code WHERE p.kind = 'edoc' "
        "GROUP BY a.level, p.pdf_signed",
    ):
        by_level[level] += count
        if state == "signed":
            signed[level] += count
    statuses_with_pdf_state = _scalar(
        filled.engine,
        "SELECT count(*) FROM packets WHERE kind = 'status' AND pdf_signed IS NOT NULL",
    )

    assert by_level == filled.report.documents_by_level
    assert signed == filled.report.signed_by_level
    assert statuses_with_pdf_state == 0
    assert 0 < filled.report.signed_share(4) < filled.report.signed_share(2) <= 1


def test_search_text_is_the_consoles_normalised_text(filled: Filled) -> None:
    rows = _rows(
        filled.engine,
        "SELECT document_id, code, subject, search_text FROM packets ORDER BY id LIMIT 300",
    )

    assert rows
    assert all(row[3] == search_text(row[0], row[1], row[2]) for row in rows)


def test_times_stay_in_the_window(filled: Filled) -> None:
    start, end = filled.report.start, filled.report.end
    first, last = _rows(filled.engine, "SELECT min(received_at), max(received_at) FROM packets")[0]
    latest_attempt = _scalar(filled.engine, "SELECT max(finished_at) FROM delivery_attempts")

    assert start <= first
    assert last <= end
    assert latest_attempt <= end + timedelta(seconds=5)


def test_the_audit_log_holds_a_verifying_chain_with_the_replays(filled: Filled) -> None:
    with Session(filled.engine) as session:
        verified = audit.verify(session)
    actions = Counter(action for (action,) in _rows(filled.engine, "SELECT action FROM audit_log"))

    assert verified.ok, verified.problem
    assert actions["deliveries.replayed"] == filled.report.replays
