"""Shared fixtures: where the public samples are, and the rule for absent reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT.parent / "shared" / "samples" / "edxml"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_samples() -> Path:
    """The public sample folder; skip when absent locally, fail under CI=true."""
    if not SAMPLES_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"public samples are required under CI=true: {SAMPLES_DIR} is missing")
        pytest.skip("public samples (../shared/samples/edxml) are not present")
    return SAMPLES_DIR


@pytest.fixture
def samples_dir() -> Path:
    """Folder of the public edXML sample packets."""
    return require_samples()


@pytest.fixture
def sample_paths(samples_dir: Path) -> list[Path]:
    """Every public sample packet, documents and statuses."""
    return sorted(samples_dir.glob("*.edxml"))


@pytest.fixture
def edoc_sample_paths(samples_dir: Path) -> list[Path]:
    """The public document (edoc) sample packets."""
    return sorted(samples_dir.glob("edoc_*.edxml"))


@pytest.fixture
def status_sample_paths(samples_dir: Path) -> list[Path]:
    """The public status sample packets."""
    return sorted(samples_dir.glob("status_*.edxml"))
