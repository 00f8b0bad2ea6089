"""What the console's browser tests share: where Chromium is and how it starts, the accounts
they sign in as, and the browser sessions of one hub's console."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.hubprocess import lienthong_argv
from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from tests.e2e.system import System

CHROMIUM = Path(os.environ.get("LIENTHONG_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a container without a display, a sandbox or the network."""
ARTIFACTS = Path(os.environ.get("LIENTHONG_ARTIFACTS") or Path(__file__).parent / "artifacts")
DOCS_SCREENSHOT = ROOT / "docs" / "console-overview.png"
ROLES = ("viewer", "operator", "admin")
STDIN = "--password-stdin"
"""The password is read from the standard input, never from the command line."""


@dataclass(frozen=True)
class Account:
    """A console user the tests sign in as."""

    name: str
    role: str
    password: str


def add_user(system: System, account: Account) -> subprocess.Popen[str]:
    """``lienthong user add NAME --role ROLE --password-stdin`` against the running hub,
    started; the caller writes the password to its standard input."""
    return subprocess.Popen(
        [*lienthong_argv(), "user", "add", account.name, "--role", account.role, STDIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=system.hub.environment,
        cwd=system.hub.root,
        text=True,
    )


class Console:
    """Browser sessions of the console of one hub, one per account, kept for the module."""

    def __init__(self, browser: Browser, base_url: str, accounts: dict[str, Account]) -> None:
        self.browser = browser
        self.base_url = base_url
        self.accounts = accounts
        self._contexts: list[BrowserContext] = []
        self._pages: dict[str, Page] = {}

    def new_page(self) -> Page:
        """A page in a fresh browser context (no cookies), Vietnamese first."""
        context = self.browser.new_context(
            base_url=self.base_url,
            accept_downloads=True,
            locale="vi-VN",
            viewport={"width": 1366, "height": 900},
        )
        context.set_default_timeout(15_000)
        self._contexts.append(context)
        return context.new_page()

    def sign_in(self, page: Page, account: Account) -> None:
        """Fill and send the sign-in form."""
        page.goto("/console/login")
        page.get_by_test_id("login-name").fill(account.name)
        page.get_by_test_id("login-password").fill(account.password)
        page.get_by_test_id("login-submit").click()

    def page_of(self, role: str) -> Page:
        """The signed-in page of the role's account (signed in on first use)."""
        if role not in self._pages:
            page = self.new_page()
            self.sign_in(page, self.accounts[role])
            page.get_by_test_id("current-user").wait_for()
            self._pages[role] = page
        return self._pages[role]

    def close(self) -> None:
        for context in self._contexts:
            context.close()
