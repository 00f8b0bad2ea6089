"""requirements.lock pins, with hashes, a version of everything pyproject.toml asks for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def _asked() -> list[Requirement]:
    data = _project()
    project = data["project"]
    assert isinstance(project, dict)
    groups = data["dependency-groups"]
    assert isinstance(groups, dict)
    lines = [
        *project["dependencies"],
        *project["optional-dependencies"]["dev"],
        *groups["build"],
        *groups["lock"],
    ]
    return [Requirement(line) for line in lines]


def _pinned(lock: str = "requirements.lock") -> dict[str, tuple[Version, Marker | None, bool]]:
    """Each locked name → (version, its marker, whether a hash follows the pin)."""
    lines = (ROOT / lock).read_text("utf-8").splitlines()
    pins: dict[str, tuple[Version, Marker | None, bool]] = {}
    for index, line in enumerate(lines):
        match = _PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        hashed = index + 1 < len(lines) and "--hash=sha256:" in lines[index + 1]
        pins[canonicalize_name(name)] = (
            Version(version),
            Marker(marker) if marker else None,
            hashed,
        )
    return pins


def test_every_requirement_of_pyproject_is_pinned_in_the_lock_within_its_bounds() -> None:
    pins = _pinned()
    for requirement in _asked():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run `make lock`"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {name}=={version}, pyproject.toml asks {requirement}:"
            " run `make lock`"
        )


def test_every_pin_of_the_lock_carries_a_hash() -> None:
    pins = _pinned()
    assert len(pins) > 40
    assert [name for name, (_, _, hashed) in pins.items() if not hashed] == []


def test_the_runtime_lock_is_the_same_resolution_without_the_dev_tools() -> None:
    full, runtime = _pinned(), _pinned("requirements-runtime.lock")
    assert all(hashed for _, _, hashed in runtime.values())
    assert {name: pin[0] for name, pin in runtime.items()} == {
        name: full[name][0] for name in runtime
    }
    data = _project()
    project = data["project"]
    assert isinstance(project, dict)
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            assert canonicalize_name(requirement.name) in runtime
    assert "pytest" not in runtime


def test_the_build_group_mirrors_the_build_system_so_the_lock_holds_the_build_tools() -> None:
    data = _project()
    build_system = data["build-system"]
    groups = data["dependency-groups"]
    assert isinstance(build_system, dict)
    assert isinstance(groups, dict)
    assert sorted(build_system["requires"]) == sorted(groups["build"])


def test_the_lock_pins_the_cryptography_that_the_known_warning_filter_was_written_for() -> None:
    # The DSA filter (hub/known_warnings.py, pytest's filterwarnings) is for cryptography 51
    # with pyHanko 0.38; when either moves, look again whether the filter is still needed.
    pins = _pinned()
    assert pins["cryptography"][0].major == 51
    assert pins["pyhanko"][0] == Version("0.38.0")
