"""Sampling profiles of the hub's processes during a benchmark phase, with py-spy.

Each process is sampled from outside (no change to it) while the phase runs, only threads
holding the GIL (so waiting on a socket is not counted as a cost); the profile is
read back as collapsed stacks and summarised as the functions that cost the most, both by
their own samples (where the CPU goes) and, for the hub's own code, by the samples under
them (which step of the hub pays for it).
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Profile", "available", "profiled"]

_RATE = 97
"""Samples per second and process (a prime, not in step with periodic work)."""


@dataclass(frozen=True)
class Profile:
    """The samples of one process: stack (outermost first) → count."""

    stacks: Mapping[tuple[str, ...], int]

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())

    def top_self(self, count: int = 3) -> list[tuple[str, float]]:
        """The functions with the most samples of their own, with their share."""
        own: collections.Counter[str] = collections.Counter()
        for stack, samples in self.stacks.items():
            if stack:
                own[stack[-1]] += samples
        return [(name, n / max(1, self.samples)) for name, n in own.most_common(count)]

    def top_hub(
        self, count: int = 3, prefixes: tuple[str, ...] = ("hub/", "adapters/")
    ) -> list[tuple[str, float]]:
        """The innermost frames of the hub's own code, with the share of samples under them."""
        under: collections.Counter[str] = collections.Counter()
        for stack, samples in self.stacks.items():
            own = [frame for frame in stack if any(f"({p}" in frame for p in prefixes)]
            if own:
                under[own[-1]] += samples
        return [(name, n / max(1, self.samples)) for name, n in under.most_common(count)]


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def available() -> bool:
    """Whether py-spy is installed (``make install`` puts it in the venv)."""
    return _py_spy() is not None


@contextmanager
def profiled(pids: Mapping[str, int], folder: Path) -> Iterator[dict[str, Profile]]:
    """Sample every process of ``pids`` during the block; the dict is filled when it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    samplers = {
        name: subprocess.Popen(
            [
                _py_spy() or "py-spy",
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(_RATE),
                "--format",
                "raw",
                "--nonblocking",
                "--gil",
                "--output",
                str(folder / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }
    found: dict[str, Profile] = {}
    try:
        yield found
    finally:
        for sampler in samplers.values():
            sampler.send_signal(signal.SIGINT)
        for name, sampler in samplers.items():
            try:
                sampler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sampler.kill()
                continue
            path = folder / f"{name}.txt"
            if path.exists():
                found[name] = _read(path)


def _read(path: Path) -> Profile:
    stacks: dict[tuple[str, ...], int] = {}
    for line in path.read_text("utf-8", errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue
        stack = tuple(_short(frame) for frame in frames.split(";"))
        stacks[stack] = stacks.get(stack, 0) + int(count)
    return Profile(stacks)


def _short(frame: str) -> str:
    """``function (path/to/module.py:line)`` → ``function (module path from the package)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    else:
        for top in ("hub/", "adapters/", "edxml/", "bench/", "simulators/"):
            if f"/{top}" in where:
                where = top + where.split(f"/{top}", 1)[1]
                break
    return f"{name} ({where.rsplit(':', 1)[0]})"
