"""Run the fuzz targets each for a given time: ``make fuzz``.

    .venv/bin/python -m tests.fuzz.run [--seconds 60] [--workdir .fuzz] [TARGET ...]

The library's targets (atheris, coverage-guided) keep their corpus under WORKDIR/corpus/TARGET
(seeded on every run with packets the project builds and the public samples, so it grows from
run to run) and write any input that crashes them to WORKDIR/artifacts/. The ``api`` target
fuzzes the agency API through its OpenAPI document (schemathesis, :mod:`tests.fuzz.api`),
its findings under WORKDIR/api/. The exit status is that of the first target to fail.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tests.fuzz import api, seeds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TARGETS = {
    "reader": HERE / "fuzz_reader.py",
    "signature": HERE / "fuzz_signature.py",
    "attachments": HERE / "fuzz_attachments.py",
}
SERVICES = ("api",)
"""Targets that fuzz the hub's HTTP API rather than a library function."""
DICTIONARY = HERE / "xml.dict"
MAX_LEN = 16 * 1024
"""Longest input the fuzzer makes: markup, not bulk, is what it should explore."""


def seed(target: str, corpus: Path) -> int:
    """Write the seeds of ``target`` into ``corpus``; how many."""
    if target == "attachments":
        return seeds.write(corpus, (bytes([7]) + text for text in seeds.attachment_texts()))
    return seeds.write(corpus, [*seeds.generated_packets(), *seeds.sample_packets()])


def command(target: str, seconds: int, workdir: Path) -> list[str]:
    """The command line fuzzing ``target`` for ``seconds`` with its corpus in ``workdir``."""
    corpus = workdir / "corpus" / target
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    seed(target, corpus)
    return [
        sys.executable,
        str(TARGETS[target]),
        f"-max_total_time={seconds}",
        f"-max_len={MAX_LEN}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        f"-dict={DICTIONARY}",
        f"-artifact_prefix={artifacts}/{target}-",
        "-print_final_stats=1",
        str(corpus),
    ]


def run(
    target: str, seconds: int, workdir: Path, *, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Fuzz ``target`` for ``seconds``; a non-zero exit status means it found a crash."""
    return subprocess.run(
        command(target, seconds, workdir),
        cwd=ROOT,
        capture_output=capture,
        text=True,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = [*TARGETS, *SERVICES]
    parser.add_argument("targets", nargs="*", choices=[*choices, []], default=choices)
    parser.add_argument("--seconds", type=int, default=60, help="time per target")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".fuzz")
    args = parser.parse_args()
    failed = 0
    for target in args.targets or choices:
        print(f"== fuzzing {target} for {args.seconds} s", flush=True)
        if target in SERVICES:
            code = api.run(args.seconds, args.workdir).returncode
            where = args.workdir / "api"
        else:
            code = run(target, args.seconds, args.workdir).returncode
            where = args.workdir / "artifacts"
        if code != 0:
            print(f"== {target}: crash found (exit {code}); see {where}")
            failed = failed or code
    raise SystemExit(failed)


if __name__ == "__main__":
    main()
