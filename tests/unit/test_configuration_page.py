"""docs/configuration.md is the page `lienthong config docs` generates from the settings."""

from __future__ import annotations

from pathlib import Path

from hub.cli.configuration import configuration_page
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[1].parent


def test_the_configuration_page_is_generated_from_the_settings() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    assert page == configuration_page(), "docs/configuration.md is stale: run `make docs`"


def test_every_variable_has_one_row_with_its_default() -> None:
    page = configuration_page()
    for _, variable, _ in Settings.variables():
        rows = [line for line in page.splitlines() if line.startswith(f"| `{variable}` |")]
        assert len(rows) == 1, variable
        assert rows[0].split(" | ")[1].strip(), variable
