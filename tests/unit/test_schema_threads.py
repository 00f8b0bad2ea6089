"""Threads that compile their first schema at the same moment all get a working validator
(libxml2 sets up its built-in types on the first compile, without a lock of its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_RACE = """
import threading
from edxml import schema

start = threading.Barrier(16)
failures = []

def first_compile():
    start.wait()
    try:
        schema._lxml_validator("edoc")
        schema._lxml_validator("status")
    except Exception as exc:
        failures.append(repr(exc))

threads = [threading.Thread(target=first_compile) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(failures))
"""


def test_sixteen_threads_compiling_their_first_schema_at_once_all_succeed() -> None:
    for _ in range(20):  # a fresh process each: the first compile happens once a process
        done = subprocess.run(
            [sys.executable, "-c", _RACE],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.strip() == "0", done.stdout + done.stderr
