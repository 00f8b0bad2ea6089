"""A short fuzz pass on every target finds no crash (``make fuzz`` runs the long ones).

Each library target runs in its own process for a few seconds on its seeds and whatever it
derives from them; a crash (an exception other than the library's EdxmlError tree, a
disagreement between read paths, an unsafe file name, an input taking over 10 s) fails the
test with the fuzzer's report. The API target serves a hub and lets schemathesis send it
requests for a few seconds; a 5xx answer fails the test. atheris and schemathesis are dev
dependencies: without them the pass skips locally and fails under CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import ROOT, TARGETS, run

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SECONDS = 7
"""Fuzzing time per target: three targets stay under 40 s with their start-up."""
API_SECONDS = 15
"""Fuzzing time of the API (two thirds with an agency token, a third as an operator)."""


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if IN_CI:
            pytest.fail(f"{module} is required under CI=true (the dev extra installs it)")
        pytest.skip(f"{module} is not installed")


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_short_fuzz_pass_finds_no_crash(target: str, tmp_path: Path) -> None:
    _require("atheris")
    done = run(target, SECONDS, tmp_path, capture=True)
    report = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    assert done.returncode == 0, f"fuzzing {target} found a crash:\n{report}"
    assert "DONE" in done.stderr, f"fuzzing {target} did not run to its end:\n{report}"


def test_a_short_fuzz_pass_on_the_api_finds_no_server_error(tmp_path: Path) -> None:
    _require("schemathesis")
    # A process of its own: the hub under fuzzing configures the process's logging.
    command = ["-m", "tests.fuzz.api", "--seconds", str(API_SECONDS), "--workdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
    assert done.returncode == 0, f"fuzzing the API found a 5xx answer:\n{report}"
    assert "generated" in done.stdout, f"fuzzing the API did not run:\n{report}"
