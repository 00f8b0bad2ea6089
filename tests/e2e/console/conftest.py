"""The console's browser tests: a hub of their own on SQLite, filled by a real run, its console
users added with ``lienthong user add``, and one headless Chromium for the module.

Chromium is Debian's (``/usr/bin/chromium``, ``make browser`` installs it) driven by the
``playwright`` package (``executable_path``; no ``playwright install``). When it is missing or
cannot start, the tests skip locally and fail under ``CI=true``. Screenshots go to
``$LIENTHONG_ARTIFACTS`` or ``tests/e2e/console/artifacts/`` (git-ignored); with
``LIENTHONG_DOCS_SCREENSHOT=1`` the overview's is also copied to ``docs/console-overview.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import IN_CI

from .browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROLES, Account, Console, add_user

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.e2e.system import System


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true; `make browser` installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def backend() -> str:
    """The console's tests run on the hub's default database, a SQLite file."""
    return "sqlite"


@pytest.fixture(scope="module")
def hub_settings() -> dict[str, str]:
    """Figures computed afresh on every request (no 60 s cache between a replay and the page
    that shows it), and a first ageing bucket of the unacknowledged page of 3.6 seconds, so a
    document nobody answered shows there within the test. Different settings from the other
    end-to-end modules also give this module a hub and a database of its own."""
    return {
        "LIENTHONG_CONSOLE_STATS_SECONDS": "0",
        "LIENTHONG_CONSOLE_UNACKED_HOURS": "0.001,24,72",
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (playwright gives it a fresh profile directory)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        _unavailable(f"the playwright package is not installed: {exc}")
    if not CHROMIUM.is_file():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        driver = sync_playwright().start()
    except Error as exc:
        _unavailable(f"playwright's driver cannot start: {exc.message}")
    try:
        try:
            launched = driver.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
            )
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} cannot be started: {exc.message}")
        try:
            yield launched
        finally:
            launched.close()
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots and downloads are kept after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def accounts(system: System) -> dict[str, Account]:
    """A viewer, an operator and an admin, added the way operators add them (the three
    commands at once: each one's start-up costs seconds)."""
    made = {role: Account(f"e2e-{role}", role, f"mat-khau-{role}-2026") for role in ROLES}
    running = {role: add_user(system, account) for role, account in made.items()}
    for role, process in running.items():
        output, _ = process.communicate(made[role].password + "\n", timeout=120)
        assert process.returncode == 0, f"lienthong user add ({role}) failed:\n{output}"
    return made


@pytest.fixture(scope="module")
def console(browser: Browser, system: System, accounts: dict[str, Account]) -> Iterator[Console]:
    """The console of the module's hub in the browser."""
    opened = Console(browser, system.hub.url, accounts)
    yield opened
    opened.close()
