"""A hub with the Hà Nội sample directory on each backend, its console, and signed-in users.

The databases come from the pipeline tests' fixtures (SQLite copied from a prepared template;
the session's PostgreSQL database emptied), so PostgreSQL tests skip locally when no server
answers and fail under CI=true. Passwords are hashed with cheap argon2 parameters here only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher

from hub.auth.callers import AuthenticatedAgency
from hub.auth.roles import ConsoleRole
from hub.console import users
from hub.ingest.service import IngestResult

from ..hub.conftest import clean_environment, postgres_server_url  # noqa: F401 - fixtures
from ..hub.pipeline.conftest import (  # noqa: F401 - fixtures
    ApiClient,
    Hub,
    hub,
    hub_settings,
    sqlite_template,
)

PASSWORD = "mat-khau-rat-dai-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes about a second on a busy test machine."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Console:
    """A browser on the console: an HTTP client keeping cookies, and helpers."""

    hub: Hub
    client: ApiClient

    def add_user(self, name: str, role: ConsoleRole | str, password: str = PASSWORD) -> None:
        with self.hub.database.transaction() as session:
            users.add_user(session, name, role, password, actor="test")

    def csrf(self, path: str = "/console/") -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found is not None, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    def login(self, name: str, password: str = PASSWORD) -> None:
        token = self.csrf("/console/login")
        answer = self.client.post(
            "/console/login",
            data={"name": name, "password": password, "csrf_token": token, "next": "/console/"},
        )
        assert answer.status_code == 303, answer.text[:500]

    def as_role(self, role: ConsoleRole | str) -> Console:
        name = f"{ConsoleRole(role).value}-user"
        self.add_user(name, role)
        self.login(name)
        return self

    def cookie(self, name: str) -> str | None:
        """A cookie the browser holds."""
        value = self.client._client.cookies.get(name)
        return str(value) if value is not None else None

    def ingest(self, raw: bytes, sender: str) -> IngestResult:
        return self.hub.ingest.accept(raw, AuthenticatedAgency(sender, sender))


@pytest.fixture
def console(hub: Hub) -> Iterator[Console]:  # noqa: F811 - the fixture imported above
    """A browser on the hub's console, nobody signed in yet; statistics never cached."""
    fresh = hub.with_settings(console_stats_seconds=0.0)
    with ApiClient(fresh.app) as client:
        yield Console(fresh, client)
