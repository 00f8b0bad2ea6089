"""Signing in and out, session expiry, CSRF refusals, roles, and what API tokens cannot do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hub.console.users import set_active
from hub.db.base import utcnow
from hub.db.models import AuditEntry, ConsoleSession, ConsoleUser, Delivery, DeliveryState

from ..hub.pipeline import packets
from .conftest import PASSWORD, ApiClient, Console

pytestmark = pytest.mark.integration


def _actions(console: Console) -> list[str]:
    with console.hub.database.transaction() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_pages_redirect_to_the_login_form_until_signed_in(console: Console) -> None:
    answer = console.client.get("/console/agencies?window=7d")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Fagencies%3Fwindow%3D7d"


def test_login_then_logout_with_audit_entries(console: Console) -> None:
    console.add_user("lan", "viewer")
    token = console.csrf("/console/login")

    answer = console.client.post(
        "/console/login",
        data={"name": "lan", "password": PASSWORD, "csrf_token": token, "next": "/console/peers"},
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/peers"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    page = console.client.get("/console/")
    assert page.status_code == 200
    assert 'id="current-user"' in page.text
    assert "lan" in page.text

    logout = console.client.post("/console/logout", data={"csrf_token": console.csrf()})

    assert logout.status_code == 303
    assert console.client.get("/console/").status_code == 303
    assert _actions(console)[-2:] == ["console.login", "console.logout"]


def test_a_new_session_replaces_the_login_forms(console: Console) -> None:
    console.add_user("lan", "viewer")
    console.csrf("/console/login")
    before = console.cookie("lienthong_console")

    console.login("lan")

    assert console.cookie("lienthong_console") != before
    with console.hub.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 1


def test_secure_cookies_when_configured(console: Console) -> None:
    secure = console.hub.with_settings(console_secure_cookies=True, console_stats_seconds=0.0)

    with ApiClient(secure.app) as client:
        answer = client.get("/console/login")

    assert "Secure" in answer.headers["set-cookie"]


def test_wrong_password_is_refused_and_ten_failures_lock_the_account(console: Console) -> None:
    console.add_user("lan", "viewer")
    for _ in range(10):
        token = console.csrf("/console/login")
        answer = console.client.post(
            "/console/login",
            data={"name": "lan", "password": "wrong-password", "csrf_token": token},
        )
        assert answer.status_code == 401
        assert 'id="login-error"' in answer.text

    token = console.csrf("/console/login")
    locked = console.client.post(
        "/console/login", data={"name": "lan", "password": PASSWORD, "csrf_token": token}
    )

    assert locked.status_code == 401
    assert "15" in locked.text
    assert "console.user-locked" in _actions(console)


def test_an_idle_session_expires(console: Console) -> None:
    console.as_role("viewer")
    idle = timedelta(minutes=console.hub.settings.console.session_idle_minutes)
    with console.hub.database.transaction() as session:
        session.execute(
            update(ConsoleSession).values(last_seen_at=utcnow() - idle - timedelta(minutes=1))
        )

    answer = console.client.get("/console/")

    assert answer.status_code == 303
    assert "expired=1" in answer.headers["location"]
    assert 'id="login-expired"' in console.client.get(answer.headers["location"]).text


def test_a_session_ends_at_its_absolute_expiry(console: Console) -> None:
    console.as_role("viewer")
    with console.hub.database.transaction() as session:
        session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert console.client.get("/console/").status_code == 303


def test_forms_without_the_right_csrf_token_are_refused(console: Console) -> None:
    console.as_role("admin")

    missing = console.client.post("/console/logout")
    wrong = console.client.post("/console/logout", data={"csrf_token": "forged"})
    add = console.client.post(
        "/console/users",
        data={"name": "mallory", "role": "admin", "password": PASSWORD, "csrf_token": "x"},
    )

    assert (missing.status_code, wrong.status_code, add.status_code) == (403, 403, 403)
    assert 'id="error-page"' in wrong.text
    assert console.client.get("/console/").status_code == 200
    with console.hub.database.transaction() as session:
        assert session.scalars(select(ConsoleUser).where(ConsoleUser.name == "mallory")).all() == []


def test_the_login_form_needs_its_csrf_token(console: Console) -> None:
    console.add_user("lan", "viewer")
    console.csrf("/console/login")

    answer = console.client.post("/console/login", data={"name": "lan", "password": PASSWORD})

    assert answer.status_code == 403


def test_a_viewer_cannot_replay_nor_manage_users_nor_download(console: Console) -> None:
    console.as_role("viewer")
    _, raw = packets.document()
    result = console.ingest(raw, packets.WARD)
    delivery = result.deliveries[0].delivery_id
    console.hub.set_state(delivery, DeliveryState.PARKED, last_error="HTTP 503")

    replay = console.client.post(
        "/console/failures/replay",
        data={
            "csrf_token": console.csrf(),
            "state": "parked",
            "delivery_id": delivery,
            "reason": "retry",
            "action": "replay",
        },
    )

    assert replay.status_code == 403
    assert console.client.get("/console/users").status_code == 403
    assert console.client.get("/console/directory").status_code == 403
    assert console.client.get(f"/console/documents/{result.packet_id}/raw").status_code == 403
    failures = console.client.get("/console/failures")
    assert failures.status_code == 200
    assert 'id="replay-button"' not in failures.text
    with console.hub.database.transaction() as session:
        assert session.get_one(Delivery, delivery).state is DeliveryState.PARKED


def test_an_operator_replays_and_downloads_but_does_not_manage_users(console: Console) -> None:
    console.as_role("operator")
    _, raw = packets.document()
    result = console.ingest(raw, packets.WARD)

    assert console.client.get("/console/users").status_code == 403
    download = console.client.get(f"/console/documents/{result.packet_id}/raw")
    assert download.status_code == 200
    assert download.content == raw
    assert 'id="replay-button"' in console.client.get("/console/failures").text


def test_an_admin_manages_users_from_the_users_page(console: Console) -> None:
    console.as_role("admin")

    added = console.client.post(
        "/console/users",
        data={"name": "hoa", "role": "viewer", "password": PASSWORD, "csrf_token": console.csrf()},
    )
    promoted = console.client.post(
        "/console/users/hoa/role", data={"role": "operator", "csrf_token": console.csrf()}
    )
    disabled = console.client.post(
        "/console/users/hoa/active", data={"active": "0", "csrf_token": console.csrf()}
    )
    weak = console.client.post(
        "/console/users",
        data={"name": "tu", "role": "viewer", "password": "short", "csrf_token": console.csrf()},
    )

    assert (added.status_code, promoted.status_code, disabled.status_code) == (303, 303, 303)
    assert weak.status_code == 400
    assert 'id="users-error"' in weak.text
    with console.hub.database.transaction() as session:
        hoa = session.scalars(select(ConsoleUser).where(ConsoleUser.name == "hoa")).one()
        assert (hoa.role.value, hoa.active) == ("operator", False)
    assert {"console.user-added", "console.user-role", "console.user-disabled"} <= set(
        _actions(console)
    )


def test_the_last_admin_cannot_disable_themself(console: Console) -> None:
    console.as_role("admin")

    answer = console.client.post(
        "/console/users/admin-user/active", data={"active": "0", "csrf_token": console.csrf()}
    )

    assert answer.status_code == 409
    assert console.client.get("/console/").status_code == 200


def test_disabling_a_user_ends_their_sessions(console: Console) -> None:
    console.as_role("viewer")
    with console.hub.database.transaction() as session:
        set_active(session, "viewer-user", False, actor="test")

    assert console.client.get("/console/").status_code == 303


def test_api_tokens_do_not_open_the_console(console: Console) -> None:
    agency = console.hub.auth(packets.WARD)
    operator = console.hub.operator_auth()

    assert console.client.get("/console/", headers=agency).status_code == 303
    assert console.client.get("/console/audit", headers=operator).status_code == 303


def test_next_never_leaves_the_console(console: Console) -> None:
    console.add_user("lan", "viewer")
    token = console.csrf("/console/login")

    answer = console.client.post(
        "/console/login",
        data={
            "name": "lan",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )

    assert answer.headers["location"] == "/console/"
