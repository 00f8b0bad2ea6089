"""The evidence chain: checkpoints seal records in one order and sign the head; a walk of the
chain in the database names the first record or checkpoint that was changed."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from cryptography import x509
from sqlalchemy import delete, func, select, update

from hub.db.base import utcnow
from hub.db.models import EvidenceCheckpoint, EvidenceRecord
from hub.evidence.checkpoints import seal
from hub.evidence.facts import record_submission
from hub.evidence.signing import self_signed
from hub.evidence.verification import ChainReport, verify_chain
from hub.records.chain import GENESIS_HASH, link, sha256

from .conftest import Hub
from .evidence import accept, delivered_everywhere, records, seal_all, signer
from .packets import DISTRICT, WARD

pytestmark = pytest.mark.integration


def check(hub: Hub) -> ChainReport:
    with hub.database.transaction() as session:
        return verify_chain(session, [signer().certificate])


def sealed_chain(hub: Hub, documents: int = 2) -> list[EvidenceRecord]:
    """``documents`` documents delivered everywhere, sealed by one checkpoint each."""
    for _ in range(documents):
        delivered_everywhere(hub)
        seal_all(hub, signer())
    return records(hub)


def test_a_checkpoint_gives_each_record_its_place_and_links_it(hub: Hub) -> None:
    delivered_everywhere(hub)

    seal_all(hub, signer())

    rows = records(hub)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(
        row.chain_hash == link(row.seq or 0, row.prev_hash or "", row.record_hash) for row in rows
    )
    assert all(later.prev_hash == earlier.chain_hash for earlier, later in pairwise(rows))


def test_a_checkpoint_signs_the_head_of_the_chain(hub: Hub) -> None:
    delivered_everywhere(hub)

    seal_all(hub, signer())

    rows = records(hub)
    with hub.database.transaction() as session:
        (checkpoint,) = session.scalars(select(EvidenceCheckpoint)).all()
    assert (checkpoint.first_seq, checkpoint.last_seq) == (1, len(rows))
    assert checkpoint.head_hash == rows[-1].chain_hash
    assert checkpoint.certificate_sha256 == signer().fingerprint


def test_nothing_new_makes_no_checkpoint(hub: Hub) -> None:
    delivered_everywhere(hub)
    seal_all(hub, signer())

    with hub.database.transaction() as session:
        assert seal(session, signer()) is None
        assert session.scalar(select(func.count()).select_from(EvidenceCheckpoint)) == 1


def test_the_next_checkpoint_continues_the_chain(hub: Hub) -> None:
    rows = sealed_chain(hub, documents=2)

    with hub.database.transaction() as session:
        first, second = session.scalars(
            select(EvidenceCheckpoint).order_by(EvidenceCheckpoint.number)
        ).all()
    assert second.first_seq == first.last_seq + 1
    assert second.prev_hash == first.hash
    assert second.last_seq == len(rows)


def test_an_intact_chain_verifies(hub: Hub) -> None:
    rows = sealed_chain(hub)
    accept(hub)

    report = check(hub)

    assert (report.ok, report.sealed, report.checkpoints, report.unsealed) == (
        True,
        len(rows),
        2,
        1,
    )


def test_a_byte_changed_in_a_sealed_statement_names_that_record(hub: Hub) -> None:
    rows = sealed_chain(hub)
    target = rows[4]
    changed = target.statement.replace('"v":1', '"v":2')
    with hub.database.transaction() as session:
        session.execute(
            update(EvidenceRecord).where(EvidenceRecord.id == target.id).values(statement=changed)
        )

    report = check(hub)

    assert not report.ok
    assert report.record_id == target.id
    assert f"record seq {target.seq}" in (report.first_broken or "")


@pytest.mark.parametrize(
    "column", ["kind", "packet_id", "delivery_id", "record_hash", "prev_hash", "chain_hash"]
)
def test_a_changed_column_of_a_sealed_record_names_that_record(hub: Hub, column: str) -> None:
    rows = sealed_chain(hub)
    target = rows[3]
    value = getattr(target, column)
    assert value is not None
    with hub.database.transaction() as session:
        session.execute(
            update(EvidenceRecord)
            .where(EvidenceRecord.id == target.id)
            .values({column: ("0" if value[0] != "0" else "1") + value[1:]})
        )

    report = check(hub)

    assert (report.ok, report.record_id) == (False, target.id)


def test_a_changed_time_of_a_record_names_that_record(hub: Hub) -> None:
    rows = sealed_chain(hub)
    target = rows[2]
    with hub.database.transaction() as session:
        row = session.get(EvidenceRecord, target.id)
        assert row is not None
        row.at = row.at + timedelta(microseconds=1)

    report = check(hub)

    assert (report.ok, report.record_id) == (False, target.id)


def test_a_removed_record_breaks_the_chain_at_the_next(hub: Hub) -> None:
    rows = sealed_chain(hub)
    with hub.database.transaction() as session:
        session.execute(delete(EvidenceRecord).where(EvidenceRecord.id == rows[2].id))

    report = check(hub)

    assert (report.ok, report.record_id) == (False, rows[3].id)
    assert "missing" in (report.problem or "")


def test_a_record_rewritten_with_the_hashes_after_it_is_caught_by_its_checkpoint(
    hub: Hub,
) -> None:
    rows = sealed_chain(hub, documents=1)
    target = rows[1]
    rewritten = target.statement.replace(target.packet_id, target.packet_id[::-1])
    with hub.database.transaction() as session:
        prev = target.prev_hash or ""
        for row in rows[1:]:
            statement = rewritten if row.id == target.id else row.statement
            packet_id = target.packet_id[::-1] if row.id == target.id else row.packet_id
            record_hash = sha256(statement)
            chained = link(row.seq or 0, prev, record_hash)
            session.execute(
                update(EvidenceRecord)
                .where(EvidenceRecord.id == row.id)
                .values(
                    statement=statement,
                    packet_id=packet_id,
                    record_hash=record_hash,
                    prev_hash=prev,
                    chain_hash=chained,
                )
            )
            prev = chained

    report = check(hub)

    assert not report.ok
    assert report.first_broken == f"checkpoint 1 (records 1-{len(rows)})"
    assert "rewritten" in (report.problem or "")


def test_a_changed_checkpoint_is_named(hub: Hub) -> None:
    sealed_chain(hub)
    with hub.database.transaction() as session:
        session.execute(
            update(EvidenceCheckpoint)
            .where(EvidenceCheckpoint.number == 2)
            .values(signature=EvidenceCheckpoint.signature.op("||")("A"))
        )

    report = check(hub)

    assert not report.ok
    assert (report.first_broken or "").startswith("checkpoint 2 ")


def test_a_checkpoint_signed_by_another_key_is_not_taken_for_the_hubs(hub: Hub) -> None:
    delivered_everywhere(hub)
    seal_all(hub, signer())
    stranger = x509.load_pem_x509_certificate(self_signed("someone else")[1])

    with hub.database.transaction() as session:
        report = verify_chain(session, [stranger])

    assert not report.ok
    assert "--cert" in (report.problem or "")


def test_a_changed_unsealed_record_is_named(hub: Hub) -> None:
    result = accept(hub)
    (row,) = records(hub, result.packet_id)
    with hub.database.transaction() as session:
        session.execute(
            update(EvidenceRecord)
            .where(EvidenceRecord.id == row.id)
            .values(statement=row.statement.replace('"size":', '"size":1'))
        )

    report = check(hub)

    assert (report.ok, report.record_id) == (False, row.id)
    assert "unsealed record" in (report.first_broken or "")


def test_concurrent_checkpoints_never_fork_the_chain(hub: Hub) -> None:
    for _ in range(3):
        delivered_everywhere(hub)
    start = threading.Barrier(3, timeout=10)
    failures: list[BaseException] = []

    def sealer() -> None:
        try:
            start.wait()
            with hub.database.transaction() as session:
                seal(session, signer(), limit=4)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=sealer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    report = check(hub)
    assert (report.ok, report.checkpoints, report.sealed) == (True, 3, 12)


def test_a_record_committed_after_a_checkpoint_began_is_sealed_by_the_next(hub: Hub) -> None:
    if hub.database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time: no record commits late")
    delivered_everywhere(hub)
    with hub.database.transaction() as writer:
        record_submission(
            writer.connection(),
            packet_id="LATE",
            sha256="0" * 64,
            size=1,
            packet_kind="edoc",
            sender=WARD,
            submitted_by=WARD,
            source="api",
            document_id="late",
            addressed=[DISTRICT],
            deliveries=[],
            at=utcnow(),
        )
        seal_all(hub, signer())

    (late,) = records(hub, "LATE")
    assert late.seq is None
    seal_all(hub, signer())
    assert records(hub, "LATE")[0].seq == len(records(hub))
    assert check(hub).ok
