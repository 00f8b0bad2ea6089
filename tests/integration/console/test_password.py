"""Signed-in users change their own password: checked, audited, other sessions ended."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from hub.console import throttle, users
from hub.console.i18n import CATALOGUES
from hub.db.models import AuditEntry, ConsoleSession, ConsoleUser, SignInFailures
from hub.errors import InvalidRequestError
from hub.records import audit

from ..hub.pipeline.conftest import ApiClient
from .conftest import PASSWORD, Console

pytestmark = pytest.mark.integration

NEW_PASSWORD = "mat-khau-moi-cua-toi-2027"
SESSION = "lienthong_console"
ROLES = ("viewer", "operator", "admin")


def _change(
    console: Console, current: str, new: str, confirm: str | None = None, *, csrf: str | None = None
) -> httpx.Response:
    return console.client.post(
        "/console/password",
        data={
            "csrf_token": console.csrf("/console/password") if csrf is None else csrf,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def _sign_in(console: Console, name: str, password: str) -> int:
    """The status of a sign-in attempt from a fresh browser."""
    with ApiClient(console.hub.app) as client:
        other = Console(console.hub, client)
        token = other.csrf("/console/login")
        answer = client.post(
            "/console/login", data={"name": name, "password": password, "csrf_token": token}
        )
    return answer.status_code


def _user(console: Console, name: str) -> ConsoleUser:
    with console.hub.database.transaction() as session:
        row = session.scalars(select(ConsoleUser).where(ConsoleUser.name == name)).one()
        session.expunge(row)
    return row


def _failures(console: Console) -> int:
    """Failed sign-ins counted for every name from the test client's address."""
    with console.hub.database.transaction() as session:
        return sum(
            row.failures
            for row in session.scalars(
                select(SignInFailures).where(SignInFailures.account.is_not(None))
            )
        )


def _error_code(answer: httpx.Response) -> str | None:
    marker = 'data-testid="password-error" data-code="'
    start = answer.text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    return answer.text[start : answer.text.index('"', start)]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_changes_its_own_password_and_signs_in_with_the_new_one(
    console: Console, role: str
) -> None:
    console.as_role(role)
    name = f"{role}-user"
    before = _user(console, name).password_hash
    overview = console.client.get("/console/")
    form = console.client.get("/console/password")

    answer = _change(console, PASSWORD, NEW_PASSWORD)

    assert 'href="/console/password"' in overview.text
    assert form.status_code == 200
    assert 'id="password-form"' in form.text
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/password?done=1"
    done = console.client.get(answer.headers["location"])
    assert done.status_code == 200
    assert 'id="password-done"' in done.text
    assert _user(console, name).password_hash != before
    assert _sign_in(console, name, NEW_PASSWORD) == 303
    assert _sign_in(console, name, PASSWORD) == 401


def test_a_wrong_current_password_is_refused_and_counts_as_a_failure(console: Console) -> None:
    console.as_role("operator")
    before = _user(console, "operator-user").password_hash

    answer = _change(console, "not-my-password", NEW_PASSWORD)

    assert answer.status_code == 403
    assert _error_code(answer) == "password.wrong"
    assert _user(console, "operator-user").password_hash == before
    assert _failures(console) == 1
    assert console.client.get("/console/").status_code == 200
    assert _sign_in(console, "operator-user", NEW_PASSWORD) == 401


def test_wrong_current_passwords_share_the_sign_in_lockout(console: Console) -> None:
    console.as_role("viewer")
    for _ in range(throttle.PAIR_LIMIT // 2):
        assert _sign_in(console, "viewer-user", "wrong-password") == 401
    for _ in range(throttle.PAIR_LIMIT - throttle.PAIR_LIMIT // 2):
        assert _change(console, "wrong-password", NEW_PASSWORD).status_code == 403

    locked = _change(console, PASSWORD, NEW_PASSWORD)

    assert locked.status_code == 403
    assert _error_code(locked) == "login.locked"
    assert _sign_in(console, "viewer-user", PASSWORD) == 401
    with console.hub.database.transaction() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "console.user-locked" in actions
    assert "console.user-password" not in actions


def test_a_confirmation_that_differs_is_refused(console: Console) -> None:
    console.as_role("viewer")
    before = _user(console, "viewer-user")

    answer = _change(console, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")

    assert answer.status_code == 400
    assert _error_code(answer) == "mismatch"
    assert _user(console, "viewer-user").password_hash == before.password_hash
    assert _failures(console) == 0
    assert NEW_PASSWORD not in answer.text


def test_a_too_short_password_is_refused_by_the_same_rule_as_elsewhere(console: Console) -> None:
    console.as_role("viewer")
    short = "x" * (users.MIN_PASSWORD_LENGTH - 1)
    before = _user(console, "viewer-user").password_hash

    answer = _change(console, PASSWORD, short)

    with (
        pytest.raises(InvalidRequestError) as elsewhere,
        console.hub.database.transaction() as session,
    ):
        users.set_password(session, "viewer-user", short, actor="test")
    assert answer.status_code == 400
    assert _error_code(answer) == elsewhere.value.code == "user.weak-password"
    assert str(users.MIN_PASSWORD_LENGTH) in answer.text
    assert _user(console, "viewer-user").password_hash == before
    just_long_enough = "y" * users.MIN_PASSWORD_LENGTH
    assert _change(console, PASSWORD, just_long_enough).status_code == 303


@pytest.mark.parametrize("csrf", ["", "forged"])
def test_a_missing_or_forged_csrf_token_is_refused(console: Console, csrf: str) -> None:
    console.as_role("admin")
    before = _user(console, "admin-user").password_hash

    answer = _change(console, PASSWORD, NEW_PASSWORD, csrf=csrf)

    assert answer.status_code == 403
    assert 'id="error-page"' in answer.text
    assert _user(console, "admin-user").password_hash == before


def test_the_users_other_sessions_end_and_this_browser_gets_a_new_one(console: Console) -> None:
    console.add_user("lan", "viewer")
    console.add_user("hoa", "viewer")
    console.login("lan")
    old_cookie = console.cookie(SESSION)
    with ApiClient(console.hub.app) as second, ApiClient(console.hub.app) as someone_else:
        Console(console.hub, second).login("lan")
        Console(console.hub, someone_else).login("hoa")
        assert second.get("/console/").status_code == 200

        answer = _change(console, PASSWORD, NEW_PASSWORD)

        assert answer.status_code == 303
        assert console.cookie(SESSION) not in (None, old_cookie)
        assert console.client.get("/console/").status_code == 200
        ended = second.get("/console/")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/console/login")
        assert someone_else.get("/console/").status_code == 200
    with ApiClient(console.hub.app) as stolen:
        replayed = stolen.get("/console/", headers={"cookie": f"{SESSION}={old_cookie}"})
    assert replayed.status_code == 303
    lan = _user(console, "lan")
    with console.hub.database.transaction() as session:
        sessions = session.scalars(
            select(ConsoleSession.id).where(ConsoleSession.user_id == lan.id)
        ).all()
    assert len(sessions) == 1


def test_the_change_is_audited_without_the_password_and_the_chain_verifies(
    console: Console,
) -> None:
    console.as_role("operator")

    assert _change(console, PASSWORD, NEW_PASSWORD).status_code == 303

    with console.hub.database.transaction() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        everything = [
            json.dumps([row.actor, row.subject, row.reason, row.details], ensure_ascii=False)
            for row in session.scalars(select(AuditEntry))
        ]
        verified = audit.verify(session)
    assert last is not None
    assert (last.action, last.actor, last.subject) == (
        "console.user-password",
        "console:operator-user",
        "user:operator-user",
    )
    assert not any(PASSWORD in text or NEW_PASSWORD in text for text in everything)
    assert verified.ok
    assert verified.entries == len(everything)


def test_without_a_session_the_page_asks_to_sign_in_and_the_form_is_refused(
    console: Console,
) -> None:
    page = console.client.get("/console/password")
    form = console.client.post(
        "/console/password",
        data={
            "csrf_token": "x",
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert page.status_code == 303
    assert page.headers["location"].startswith("/console/login?next=%2Fconsole%2Fpassword")
    assert form.status_code == 401


def test_the_page_and_its_refusals_speak_both_languages(console: Console) -> None:
    console.as_role("viewer")
    console.client.get("/console/lang/en?next=/console/password")

    english = _change(console, PASSWORD, NEW_PASSWORD, "something-else-entirely")

    assert CATALOGUES["en"]["password.error.mismatch"] in english.text
    assert CATALOGUES["en"]["password.title"] in english.text
    refusals = [
        "mismatch",
        "user.weak-password",
        "user.long-password",
        "password.wrong",
        "login.locked",
        "login.throttled",
        "login.disabled",
    ]
    for catalogue in CATALOGUES.values():
        assert all(f"password.error.{code}" in catalogue for code in refusals)
