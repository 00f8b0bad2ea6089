"""A short fuzz pass on every target finds no crash (``make fuzz`` runs the long ones).

Each target runs in its own process for a few seconds on its seeds and whatever it derives
from them; a crash (an exception other than the library's EdxmlError tree, a disagreement
between read paths, an unsafe file name, an input taking over 10 s) fails the test with the
fuzzer's report. atheris is a dev dependency: without it the pass skips locally and fails
under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.fuzz.run import TARGETS, run

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SECONDS = 7
"""Fuzzing time per target: three targets stay under 40 s with their start-up."""


def _require_atheris() -> None:
    if importlib.util.find_spec("atheris") is None:
        if IN_CI:
            pytest.fail("atheris is required under CI=true (the dev extra installs it)")
        pytest.skip("atheris is not installed")


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_short_fuzz_pass_finds_no_crash(target: str, tmp_path: Path) -> None:
    _require_atheris()
    done = run(target, SECONDS, tmp_path, capture=True)
    report = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    assert done.returncode == 0, f"fuzzing {target} found a crash:\n{report}"
    assert "DONE" in done.stderr, f"fuzzing {target} did not run to its end:\n{report}"
