"""The distribution lists every package of the source tree and ships the schemas."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _listed() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def test_every_package_of_the_source_tree_is_listed() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("edxml", "hub", "adapters", "simulators")
        for init in (ROOT / top).rglob("__init__.py")
    }
    listed = set(_listed()["packages"])  # type: ignore[call-overload]
    assert found <= listed
    assert listed - found == {"edxml.schemas"}


def test_schemas_ship_inside_the_edxml_package() -> None:
    settings = _listed()
    assert settings["package-dir"] == {"edxml.schemas": "schemas"}
    assert sorted(p.name for p in (ROOT / "schemas").glob("*.xsd")) == [
        "edxml-common.xsd",
        "edxml-document.xsd",
        "edxml-status.xsd",
    ]
