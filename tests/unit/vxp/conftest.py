"""Unit tests of the VXP endpoint run with no ``LIENTHONG_*`` variable from the environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every LIENTHONG_* variable so defaults are what the tests see."""
    for name in list(os.environ):
        if name.upper().startswith("LIENTHONG_"):
            monkeypatch.delenv(name)
