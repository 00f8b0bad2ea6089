"""The audit log: a hash chain that verifies, exposes tampering, and never forks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from hub.db.models import AuditEntry
from hub.records import audit

from .conftest import Hub

pytestmark = pytest.mark.integration


def write(hub: Hub, count: int, actor: str = "operator:lan") -> None:
    for number in range(count):
        with hub.database.transaction() as session:
            audit.append(
                session,
                actor=actor,
                action="deliveries.replayed",
                subject=f"delivery {number}",
                reason="máy chủ của sở đã hoạt động lại",
                details={"ids": [f"D{number}"], "count": number},
            )


def verify(hub: Hub) -> audit.VerifyResult:
    with hub.database.transaction() as session:
        return audit.verify(session)


def test_appended_entries_verify(hub: Hub) -> None:
    write(hub, 3)

    result = verify(hub)

    assert (result.ok, result.entries, result.first_broken_id) == (True, 3, None)


def test_each_entry_links_to_the_hash_before_it(hub: Hub) -> None:
    write(hub, 2)

    with hub.database.transaction() as session:
        first, second = audit.latest(session, 2)

    assert (first.prev_hash, second.prev_hash) == (audit.GENESIS_HASH, first.hash)


def test_changed_entry_is_detected_and_named(hub: Hub) -> None:
    write(hub, 3)
    with hub.database.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 2).values(reason="edited"))

    result = verify(hub)

    assert (result.ok, result.first_broken_id, result.entries) == (False, 2, 1)
    assert "changed" in (result.problem or "")


def test_removed_entry_is_detected(hub: Hub) -> None:
    write(hub, 3)
    with hub.database.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == 2))

    result = verify(hub)

    assert (result.ok, result.first_broken_id) == (False, 3)


def test_concurrent_writers_never_fork_the_chain(hub: Hub) -> None:
    start = threading.Barrier(4, timeout=10)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait()
            write(hub, 10, actor=f"operator:{name}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    result = verify(hub)
    assert failures == []
    assert (result.ok, result.entries) == (True, 40)
