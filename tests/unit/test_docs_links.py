"""The README stays short, and the README and docs/ link only to pages and headings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

README_MAX_LINES = 200
NOT_SETTINGS = {"LIENTHONG_DEMO_INSTALL", "LIENTHONG_DOCS_SCREENSHOT"}
"""Variables the docs name that the demo and the browser tests read, not the hub."""

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_VARIABLE = re.compile(rf"\b{ENV_PREFIX}[A-Z0-9_]*[A-Z0-9]\b")


def _prose(path: Path) -> str:
    """The page without its fenced code blocks."""
    return _FENCE.sub("", path.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_prose(path)):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(path: Path) -> list[str]:
    return [
        target
        for target in _LINK.findall(_prose(path))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)
    ]


def test_the_readme_is_at_most_200_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file_and_heading(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with this anchor")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_setting_is_in_the_configuration_page() -> None:
    documented = set(_VARIABLE.findall((DOCS / "configuration.md").read_text(encoding="utf-8")))
    settings = {variable for _, variable, _ in Settings.variables()}
    assert sorted(settings - documented) == []


def test_every_variable_the_docs_name_is_a_setting() -> None:
    settings = {variable for _, variable, _ in Settings.variables()}
    named = {
        (page.relative_to(ROOT).as_posix(), variable)
        for page in PAGES
        for variable in _VARIABLE.findall(page.read_text(encoding="utf-8"))
    }
    unknown = sorted(
        (page, variable)
        for page, variable in named
        if variable not in settings and variable not in NOT_SETTINGS
    )
    assert unknown == []
