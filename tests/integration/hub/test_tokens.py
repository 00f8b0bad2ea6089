"""Agency tokens in a real database: authenticate, stored hashed, revoke, rotate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.auth.tokens import authenticate, issue_token, list_tokens, revoke_token
from hub.db.database import Database
from hub.db.models import Agency
from hub.directory import import_directory, read_directory_file, sample_directory
from hub.errors import NotFoundError, UnauthorizedError

from .conftest import snapshot

pytestmark = pytest.mark.integration

OFFICE = "000.00.01.H26"
WARD = "000.21.22.H26"


@pytest.fixture
def hanoi(database: Database) -> Database:
    with database.transaction() as session:
        import_directory(session, read_directory_file(sample_directory("hanoi")))
    return database


def issue(database: Database, code: str = OFFICE, label: str = "") -> str:
    with database.transaction() as session:
        return issue_token(session, code, label).token


def test_issued_token_authenticates_its_agency(hanoi: Database) -> None:
    token = issue(hanoi)

    with hanoi.transaction() as session:
        agency = authenticate(session, token)

    assert agency.code == OFFICE


def test_token_is_stored_only_as_its_hash(hanoi: Database) -> None:
    token = issue(hanoi)

    stored = repr(snapshot(hanoi.engine))

    assert token not in stored
    assert token[len("lt_") :] not in stored


def test_revoked_token_is_refused(hanoi: Database) -> None:
    token = issue(hanoi)
    with hanoi.transaction() as session:
        (info,) = list_tokens(session, OFFICE)
        revoke_token(session, OFFICE, info.id)

    with pytest.raises(UnauthorizedError, match="revoked"), hanoi.transaction() as session:
        authenticate(session, token)


def test_two_tokens_of_an_agency_are_active_at_once(hanoi: Database) -> None:
    old = issue(hanoi, label="old")
    new = issue(hanoi, label="new")

    with hanoi.transaction() as session:
        agencies = {authenticate(session, old).code, authenticate(session, new).code}

    assert agencies == {OFFICE}


def test_revoking_the_old_token_keeps_the_new_one_working(hanoi: Database) -> None:
    issue(hanoi, label="old")
    new = issue(hanoi, label="new")
    with hanoi.transaction() as session:
        old_info = next(info for info in list_tokens(session, OFFICE) if info.label == "old")
        revoke_token(session, OFFICE, old_info.id)

    with hanoi.transaction() as session:
        assert authenticate(session, new).code == OFFICE
        assert [info.active for info in list_tokens(session, OFFICE)] == [False, True]


def test_unknown_token_is_refused(hanoi: Database) -> None:
    issue(hanoi)

    with pytest.raises(UnauthorizedError, match="unknown token"), hanoi.transaction() as session:
        authenticate(session, "lt_" + "A" * 43)


def test_string_that_is_not_a_token_is_refused(hanoi: Database) -> None:
    with pytest.raises(UnauthorizedError, match="not a lienthong token"), hanoi.transaction() as s:
        authenticate(s, "Bearer xyz")


def test_token_of_an_inactive_agency_is_refused(hanoi: Database) -> None:
    token = issue(hanoi, WARD)
    with hanoi.transaction() as session:
        session.get_one(Agency, WARD).active = False

    with pytest.raises(UnauthorizedError, match="not active"), hanoi.transaction() as session:
        authenticate(session, token)


def test_authentication_records_when_the_token_was_last_used(hanoi: Database) -> None:
    token = issue(hanoi)
    with hanoi.transaction() as session:
        (before,) = list_tokens(session, OFFICE)
        authenticate(session, token)

    with hanoi.transaction() as session:
        (after,) = list_tokens(session, OFFICE)

    assert before.last_used_at is None
    assert after.last_used_at is not None


def test_last_use_is_not_rewritten_within_a_minute(hanoi: Database) -> None:
    token = issue(hanoi)
    with hanoi.transaction() as session:
        authenticate(session, token)
    with hanoi.transaction() as session:
        (first,) = list_tokens(session, OFFICE)
    assert first.last_used_at is not None

    with hanoi.transaction() as session:
        authenticate(session, token, now=first.last_used_at + timedelta(seconds=30))
        (second,) = list_tokens(session, OFFICE)

    assert second.last_used_at == first.last_used_at


def test_token_for_an_unknown_agency_is_not_issued(hanoi: Database) -> None:
    with pytest.raises(NotFoundError), hanoi.transaction() as session:
        issue_token(session, "000.00.98.H26")


def test_token_of_another_agency_cannot_be_revoked(hanoi: Database) -> None:
    issue(hanoi)
    with hanoi.transaction() as session:
        (info,) = list_tokens(session, OFFICE)

    with pytest.raises(NotFoundError), hanoi.transaction() as session:
        revoke_token(session, WARD, info.id)
