"""Sign-in failures lock a name from one address and throttle an address, telling nothing of
which names are accounts, and letting no one lock an account out from everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.console import throttle, users
from hub.db.base import utcnow
from hub.db.models import AuditEntry
from hub.errors import UnauthorizedError

from .conftest import PASSWORD, Console, Hub

pytestmark = pytest.mark.integration

HOME, AWAY = "203.0.113.7", "198.51.100.20"


def attempt(hub: Hub, name: str, password: str, address: str = HOME, **when: object) -> str:
    """The outcome of one sign-in: ``ok`` or the refusal's code (its failure committed)."""
    with hub.database.transaction() as session:
        try:
            users.check_login(session, name, password, address=address, **when)  # type: ignore[arg-type]
        except UnauthorizedError as exc:
            return exc.code
    return "ok"


def fail(hub: Hub, name: str, times: int, address: str = HOME) -> list[str]:
    return [attempt(hub, name, "wrong-password", address) for _ in range(times)]


def test_ten_failures_lock_a_real_name_from_that_address(console: Console) -> None:
    console.add_user("lan", "viewer")

    assert fail(console.hub, "lan", throttle.PAIR_LIMIT) == ["login.failed"] * 10
    assert attempt(console.hub, "lan", PASSWORD) == "login.locked"


def test_a_name_that_is_no_account_locks_exactly_as_a_real_one(console: Console) -> None:
    console.add_user("lan", "viewer")
    real = fail(console.hub, "lan", throttle.PAIR_LIMIT + 1)

    invented = fail(console.hub, "khong-co-ai", throttle.PAIR_LIMIT + 1)

    assert invented == real


def test_the_locked_page_reads_the_same_for_a_real_and_an_invented_name(
    console: Console,
) -> None:
    console.add_user("lan", "viewer")
    pages = []
    for name in ("lan", "khong-co-ai"):
        for _ in range(throttle.PAIR_LIMIT + 1):
            token = console.csrf("/console/login")
            page = console.client.post(
                "/console/login",
                data={"name": name, "password": "wrong-password", "csrf_token": token},
            )
        shown = page.text.replace(f'value="{name}"', 'value="NAME"')
        pages.append((page.status_code, shown.split("csrf_token")[0]))

    assert pages[0] == pages[1]
    assert pages[0][0] == 401


def test_a_locked_name_still_signs_in_from_another_address(console: Console) -> None:
    console.add_user("admin-lan", "admin")
    fail(console.hub, "admin-lan", throttle.PAIR_LIMIT, address=AWAY)

    assert attempt(console.hub, "admin-lan", PASSWORD, address=HOME) == "ok"


def test_an_address_failing_on_many_names_is_throttled_for_every_name(console: Console) -> None:
    console.add_user("lan", "viewer")
    for n in range(throttle.ADDRESS_LIMIT):
        assert attempt(console.hub, f"ten-{n}", "wrong-password", AWAY) == "login.failed"

    assert attempt(console.hub, "lan", PASSWORD, AWAY) == "login.throttled"
    assert attempt(console.hub, "lan", PASSWORD, HOME) == "ok"


def test_a_sign_in_forgets_the_failures_of_its_name_from_its_address(console: Console) -> None:
    console.add_user("lan", "viewer")
    fail(console.hub, "lan", throttle.PAIR_LIMIT - 1)
    assert attempt(console.hub, "lan", PASSWORD) == "ok"

    assert fail(console.hub, "lan", throttle.PAIR_LIMIT - 1)[-1] == "login.failed"
    assert attempt(console.hub, "lan", PASSWORD) == "ok"


def test_a_lock_ends_after_its_minutes(console: Console) -> None:
    console.add_user("lan", "viewer")
    fail(console.hub, "lan", throttle.PAIR_LIMIT)
    later = utcnow() + timedelta(minutes=throttle.LOCK_MINUTES, seconds=1)

    assert attempt(console.hub, "lan", PASSWORD, now=later) == "ok"


def test_an_admin_setting_the_password_ends_its_locks_from_every_address(
    console: Console,
) -> None:
    console.add_user("lan", "viewer")
    fail(console.hub, "lan", throttle.PAIR_LIMIT, address=HOME)
    fail(console.hub, "lan", throttle.PAIR_LIMIT, address=AWAY)
    with console.hub.database.transaction() as session:
        users.set_password(session, "lan", "mat-khau-moi-2027", actor="admin")

    assert attempt(console.hub, "lan", "mat-khau-moi-2027", HOME) == "ok"
    assert attempt(console.hub, "lan", "mat-khau-moi-2027", AWAY) == "ok"


def test_the_lock_of_a_real_account_is_audited_with_the_address(console: Console) -> None:
    console.add_user("lan", "viewer")

    fail(console.hub, "lan", throttle.PAIR_LIMIT)

    with console.hub.database.transaction() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "console.user-locked")
        ).all()
        assert (entry.subject, entry.details) == ("user:lan", {"address": HOME})


def test_no_name_typed_is_kept_in_clear(console: Console) -> None:
    fail(console.hub, "mat-khau-go-nham-o-o-ten", 2)

    with console.hub.database.engine.connect() as connection:
        stored = repr(list(connection.exec_driver_sql("SELECT * FROM console_sign_in_failures")))

    assert "mat-khau-go-nham" not in stored
    assert HOME not in stored


def test_purging_drops_counts_whose_window_and_lock_have_passed(console: Console) -> None:
    fail(console.hub, "lan", throttle.PAIR_LIMIT)
    fail(console.hub, "khac", 1)
    with console.hub.database.transaction() as session:
        early = throttle.purge(session, utcnow())
        late = throttle.purge(session, utcnow() + timedelta(minutes=throttle.LOCK_MINUTES + 1))

    assert (early, late) == (0, 3)
