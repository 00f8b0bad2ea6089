"""The hub on the database payload store: ingest stores there, the inbox streams from there,
retention purges there, and `lienthong payloads migrate` moves a folder store into it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from hashlib import sha256

import pytest
from sqlalchemy import update

from adapters.payloads.database import DatabaseBlobStore
from adapters.payloads.files import FileBlobStore
from hub.auth.callers import AuthenticatedAgency
from hub.cli import main
from hub.db.base import utcnow
from hub.db.models import DeliveryState, Packet
from hub.records.retention import delete_purged, purge_payloads, sweep_orphans

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DISTRICT, WARD

# The database payload store is what hosts share; a hub on SQLite is refused it (settings).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("hub_settings", ["postgresql"], indirect=True),
]


@pytest.fixture
def db_hub(hub: Hub) -> Hub:
    return hub.with_blobs(DatabaseBlobStore(hub.database.engine, chunk_bytes=4096))


@pytest.fixture
def db_client(db_hub: Hub) -> Iterator[ApiClient]:
    with ApiClient(db_hub.app) as api:
        yield api


def test_a_posted_packet_is_stored_in_the_database_and_fetched_byte_for_byte(
    db_hub: Hub, db_client: ApiClient
) -> None:
    _, raw = packets.document(WARD, (DISTRICT,))
    posted = db_client.post("/api/v1/packets", content=raw, headers=db_hub.auth(WARD))
    assert posted.status_code == 202, posted.text
    delivery_id = posted.json()["deliveries"][0]["delivery_id"]
    db_hub.set_state(delivery_id, DeliveryState.AVAILABLE)

    fetched = db_client.get(f"/api/v1/inbox/{delivery_id}", headers=db_hub.auth(DISTRICT))

    assert fetched.status_code == 200
    assert fetched.content == raw
    assert not FileBlobStore(db_hub.settings.storage.blob_dir).exists(sha256(raw).hexdigest())


def test_retention_purges_the_bytes_of_finished_packets_from_the_database(db_hub: Hub) -> None:
    _, raw = packets.document(DISTRICT, (WARD, CITY))
    result = db_hub.ingest.accept(raw, AuthenticatedAgency(DISTRICT, DISTRICT))
    with db_hub.database.transaction() as session:
        session.execute(
            update(Packet)
            .where(Packet.id == result.packet_id)
            .values(received_at=utcnow() - timedelta(days=40))
        )
    for delivery in result.deliveries:
        db_hub.set_state(delivery.delivery_id, DeliveryState.DELIVERED)
    sha256 = db_hub.blobs.put(raw)

    with db_hub.database.transaction() as session:
        report = purge_payloads(
            session, db_hub.blobs, older_than=timedelta(days=30), actor="test", reason="test"
        )
    delete_purged(db_hub.blobs, report)

    assert report.packet_ids == [result.packet_id]
    assert not db_hub.blobs.exists(sha256)


def test_orphaned_bytes_in_the_database_go_after_their_grace(db_hub: Hub) -> None:
    orphan = db_hub.blobs.put(b"<edXML>stored by an ingest that was then refused</edXML>")

    with db_hub.database.transaction() as session:
        kept = sweep_orphans(session, db_hub.blobs, orphan_grace=timedelta(hours=1))
    with db_hub.database.transaction() as session:
        swept = sweep_orphans(
            session, db_hub.blobs, orphan_grace=timedelta(hours=1), clock=time.time() + 7200
        )

    assert (kept.orphans, swept.orphans) == (0, 1)
    assert not db_hub.blobs.exists(orphan)


def test_payloads_migrate_copies_the_folder_store_into_the_database(
    db_hub: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = FileBlobStore(db_hub.settings.storage.blob_dir)
    keys = [folder.put(packets.document(WARD, (DISTRICT,))[1]) for _ in range(3)]
    database = DatabaseBlobStore(db_hub.database.engine)
    database.put(folder.read(keys[0]))
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", db_hub.settings.database.url)
    monkeypatch.setenv("LIENTHONG_BLOB_DIR", str(db_hub.settings.storage.blob_dir))

    code = main(["payloads", "migrate"])

    assert code == 0
    assert all(database.read(key) == folder.read(key) for key in keys)
    assert "copied 2 blobs" in capsys.readouterr().out


def test_payloads_migrate_skips_a_file_whose_bytes_are_not_its_name(
    db_hub: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = FileBlobStore(db_hub.settings.storage.blob_dir)
    key = folder.put(b"<edXML>the original</edXML>")
    folder.path(key).write_bytes(b"<edXML>changed on disk</edXML>")
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", db_hub.settings.database.url)
    monkeypatch.setenv("LIENTHONG_BLOB_DIR", str(db_hub.settings.storage.blob_dir))

    code = main(["payloads", "migrate"])

    assert code == 1
    assert not DatabaseBlobStore(db_hub.database.engine).exists(key)
    assert key in capsys.readouterr().err
