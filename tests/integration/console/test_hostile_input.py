"""What a console visitor types that no database can hold is refused as a bad request, and a
failing database shows the visitor nothing of itself."""

from __future__ import annotations

import pytest

from hub.console import queries
from hub.errors import StorageError

from .conftest import Console

pytestmark = pytest.mark.integration

_DRIVER_MESSAGE = (
    '(psycopg.OperationalError) connection to server at "db.internal" (10.0.0.7), port 5432 '
    'failed: FATAL: password authentication failed for user "hub_owner" database "hub_prod"'
)


@pytest.mark.parametrize("field", ["q", "sender", "recipient", "cursor"])
def test_a_nul_in_a_search_field_is_refused_422(console: Console, field: str) -> None:
    console.as_role("viewer")

    page = console.client.get("/console/documents", params={field: "ha\x00noi"})

    assert page.status_code == 422
    assert 'data-status="422"' in page.text


def test_a_nul_in_a_document_s_packet_id_is_refused_422(console: Console) -> None:
    console.as_role("viewer")

    page = console.client.get("/console/documents/P%00")

    assert page.status_code == 422


def test_a_nul_in_the_sign_in_name_is_refused_422(console: Console) -> None:
    token = console.csrf("/console/login")

    page = console.client.post(
        "/console/login",
        data={"name": "admin\x00", "password": "x" * 12, "csrf_token": token, "next": ""},
    )

    assert page.status_code == 422


def test_a_nul_in_a_user_name_of_the_users_form_is_refused_422(console: Console) -> None:
    console.as_role("admin")
    token = console.csrf("/console/users")

    page = console.client.post(
        "/console/users",
        data={"name": "x\x00", "role": "viewer", "password": "y" * 12, "csrf_token": token},
    )

    assert page.status_code == 422


def test_a_failing_database_shows_a_viewer_no_driver_host_user_nor_database(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.as_role("viewer")

    def failing(*_: object, **__: object) -> object:
        raise StorageError(f"the database failed: {_DRIVER_MESSAGE}")

    monkeypatch.setattr(queries, "search_documents", failing)

    page = console.client.get("/console/documents")

    assert page.status_code == 503
    for secret in ("psycopg", "db.internal", "10.0.0.7", "hub_owner", "hub_prod", "5432"):
        assert secret not in page.text.replace("/console", "")


@pytest.mark.parametrize(("field", "value"), [("from", "0001-01-01"), ("to", "9999-12-31")])
def test_a_search_date_at_the_calendar_s_ends_is_refused_400(
    console: Console, field: str, value: str
) -> None:
    console.as_role("viewer")

    page = console.client.get("/console/documents", params={field: value})

    assert page.status_code == 400


def test_replays_since_a_moment_before_the_calendar_in_utc_are_refused_400(
    console: Console,
) -> None:
    console.as_role("operator")

    page = console.client.get("/console/failures", params={"since": "0001-01-01T00:00"})

    assert page.status_code == 400
