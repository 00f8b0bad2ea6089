"""A hub on each backend with the Hà Nội sample directory, its API, and agency tokens.

The schema and the directory are built once per test session and reused: SQLite tests get a
copy of a prepared file, PostgreSQL tests get the session database with every table but the
directory's emptied (rebuilt if another test dropped it, or changed the directory: a dated
change cannot be undone by importing the sample again).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text, update

from adapters.payloads.files import FileBlobStore
from hub.api.app import create_app
from hub.auth.callers import issue_operator_token
from hub.auth.tokens import issue_token
from hub.bootstrap import build_console
from hub.db.database import Database, open_database
from hub.db.migrate import SchemaState, schema_status, upgrade
from hub.db.models import Base, Delivery, DeliveryState
from hub.directory import import_directory, read_directory_file, sample_directory
from hub.ingest.service import IngestService
from hub.payloads import BlobStore
from hub.settings import Settings

from ..conftest import BACKENDS, settings_for

DIRECTORY_TABLES = frozenset(
    {
        "agency_levels",
        "agencies",
        "agency_delegations",
        "agency_versions",
        "agency_level_versions",
    }
)


def _import_sample(settings: Settings) -> None:
    with open_database(settings) as database, database.transaction() as session:
        import_directory(session, read_directory_file(sample_directory("hanoi")))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the sample directory."""
    root = tmp_path_factory.mktemp("template")
    path = root / "lienthong.db"
    settings = settings_for(f"sqlite:///{path.as_posix()}", root)
    upgrade(settings)
    _import_sample(settings)
    engine = create_engine(settings.database.url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _directory_fingerprint(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        agencies = connection.execute(text("SELECT count(*), max(updated_at) FROM agencies")).one()
        delegations = connection.execute(text("SELECT count(*) FROM agency_delegations")).one()
        versions = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM agency_versions), "
                "(SELECT count(*) FROM agency_level_versions), "
                "(SELECT count(*) FROM agencies WHERE valid_from IS NOT NULL "
                "OR valid_until IS NOT NULL), (SELECT max(name) FROM agency_levels)"
            )
        ).one()
    return (*agencies, *delegations, *versions)


_prepared_directories: dict[str, tuple[object, ...]] = {}
"""Fingerprint of the sample directory as last imported, by database URL."""


def _reset_postgres(url: str, tmp_path: Path) -> None:
    settings = settings_for(url, tmp_path)
    engine = create_engine(url)
    try:
        current = schema_status(engine).state is SchemaState.CURRENT
        prepared = _prepared_directories.get(url)
        changed = current and prepared != _directory_fingerprint(engine)
        if changed or not current:
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
            upgrade(settings)
            _prepared_directories.pop(url, None)
        else:
            _empty(engine)
        if _prepared_directories.get(url) != _directory_fingerprint(engine):
            _import_sample(settings)
            _prepared_directories[url] = _directory_fingerprint(engine)
    finally:
        engine.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in DIRECTORY_TABLES:
                connection.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def hub_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a ready hub database (schema and sample directory) on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "db" / "lienthong.db"
        target.parent.mkdir(parents=True)
        shutil.copyfile(template, target)
        return settings_for(f"sqlite:///{target.as_posix()}", tmp_path)
    url: str = request.getfixturevalue("postgres_server_url")
    _reset_postgres(url, tmp_path)
    return settings_for(url, tmp_path)


@dataclass
class Hub:
    """A hub under test: its resources, an ingest service and the API."""

    settings: Settings
    database: Database
    blobs: BlobStore
    ingest: IngestService
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, code: str) -> str:
        """An API token of the agency ``code`` (issued once per test)."""
        if code not in self.tokens:
            with self.database.transaction() as session:
                self.tokens[code] = issue_token(session, code, "test").token
        return self.tokens[code]

    def auth(self, code: str) -> dict[str, str]:
        """The Authorization header of the agency ``code``."""
        return {"Authorization": f"Bearer {self.token(code)}"}

    def operator_auth(self, name: str = "ops") -> dict[str, str]:
        """The Authorization header of an operator."""
        with self.database.transaction() as session:
            token = issue_operator_token(session, name).token
        return {"Authorization": f"Bearer {token}"}

    def with_settings(self, **changes: Any) -> Hub:
        """The same hub with some settings changed (a new ingest service and app)."""
        settings = self.settings.replace(**changes)
        return Hub(
            settings=settings,
            database=self.database,
            blobs=self.blobs,
            ingest=IngestService(settings, self.database, self.blobs),
            app=api_app(settings, self.database, self.blobs),
            tokens=self.tokens,
        )

    def with_blobs(self, blobs: BlobStore) -> Hub:
        """The same hub on another payload store (a new ingest service and app)."""
        return Hub(
            settings=self.settings,
            database=self.database,
            blobs=blobs,
            ingest=IngestService(self.settings, self.database, blobs),
            app=api_app(self.settings, self.database, blobs),
            tokens=self.tokens,
        )

    def set_state(self, delivery_id: str, state: DeliveryState, **values: Any) -> None:
        """Move a delivery as a worker would."""
        with self.database.transaction() as session:
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(state=state, **values)
            )


def api_app(settings: Settings, database: Database, blobs: BlobStore) -> FastAPI:
    """The API app with the console mounted, as the composition root builds it."""
    return create_app(settings, database, blobs, console=build_console(settings, database, blobs))


@pytest.fixture
def hub(hub_settings: Settings) -> Iterator[Hub]:
    """A hub on the backend under test."""
    with open_database(hub_settings) as database:
        blobs = FileBlobStore(hub_settings.storage.blob_dir)
        yield Hub(
            settings=hub_settings,
            database=database,
            blobs=blobs,
            ingest=IngestService(hub_settings, database, blobs),
            app=api_app(hub_settings, database, blobs),
        )


class ApiClient:
    """A blocking HTTP client of an app, through httpx's ASGI transport (no socket)."""

    def __init__(self, app: FastAPI) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://hub.test",
        )

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """Send one request and wait for the whole response."""
        return self._portal.call(partial(self._client.request, method, url, **options))

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._stack.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@pytest.fixture
def client(hub: Hub) -> Iterator[ApiClient]:
    """An HTTP client of the hub's API (in-process ASGI)."""
    with ApiClient(hub.app) as api:
        yield api
