"""What writing the evidence of submission costs the ingest path, in CPU per packet.

In-process, on SQLite and on PostgreSQL, two ways:

- **A/B**: ``IngestService.accept`` takes 20 KB document packets (parse, schema, PDF check,
  blob store, one transaction) in rounds that alternate between the real ingest and one
  whose evidence write is replaced by nothing, so the drift of a shared machine falls on
  both alike; the overhead is the median of the rounds' ratios;
- **alone**: the evidence write itself (statement, hash, insert) timed by itself, as a share
  of the ingest's CPU per packet: steadier than the difference of two noisy figures.

CPU is this process's (user + system) plus, on PostgreSQL, the server backend serving its one
connection. Prints numbers, asserts nothing. ``make bench`` runs it first;
``python bench/evidence_overhead.py [--packets N]`` runs it alone.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hub.known_warnings import silence_known_warnings  # noqa: E402

silence_known_warnings()

import hub.ingest.service as ingest_module  # noqa: E402
from adapters.payloads.files import FileBlobStore  # noqa: E402
from hub.auth.callers import AuthenticatedAgency  # noqa: E402
from hub.db.database import Database, open_database  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.directory import import_directory, parse_directory  # noqa: E402
from hub.evidence.facts import record_submission  # noqa: E402
from hub.ingest.service import IngestService  # noqa: E402
from hub.logging import configure_logging  # noqa: E402
from hub.settings import Settings  # noqa: E402
from simulators.load import prepare_documents  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "LIENTHONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SENDER = "000.00.01.H98"
RECIPIENTS = ("000.00.02.H98", "000.00.03.H98", "000.00.04.H98")
ROUNDS = 6
TARGET = 10.0
"""The issue's bound on the overhead, in per cent of the ingest's CPU per packet."""


def directory() -> str:
    agencies: list[dict[str, Any]] = [
        {"code": code, "name": f"Đơn vị thử {code[7:9]}", "level": 1, "channel": "inbox"}
        for code in (SENDER, *RECIPIENTS)
    ]
    return yaml.safe_dump(
        {"levels": [{"level": 1, "name": "Thử"}], "agencies": agencies}, allow_unicode=True
    )


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{(folder / 'lienthong.db').as_posix()}"
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lienthong_bench_evidence_{os.getpid()}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def backend_cpu(database: Database) -> Callable[[], float]:
    """CPU seconds of the PostgreSQL backend serving the pool's one connection (0 on SQLite)."""
    if database.engine.dialect.name != "postgresql":
        return lambda: 0.0
    with database.engine.connect() as connection:
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    process = psutil.Process(pid)

    def read() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    return read


def without_evidence() -> Callable[[], None]:
    """Replace the ingest's evidence write by nothing; the returned call puts it back."""
    real = ingest_module.record_submission
    ingest_module.record_submission = lambda *args, **kwargs: None  # type: ignore[assignment]

    def restore() -> None:
        ingest_module.record_submission = real

    return restore


@dataclass(frozen=True)
class Overhead:
    with_ms: float
    without_ms: float
    median_ratio: float
    """Median over the rounds of (with / without) - 1."""
    alone_ms: float
    """CPU of the evidence write by itself, per packet."""
    count: int


def evidence_alone(database: Database, server: Callable[[], float], count: int) -> float:
    """CPU ms of one evidence-of-submission write, as ingest makes it (in one transaction)."""
    now = datetime.now(UTC)
    began = time.process_time() + server()
    with database.transaction() as session:
        connection = session.connection()
        for number in range(count):
            record_submission(
                connection,
                packet_id=f"BENCH{number:021d}",
                sha256=f"{number:064x}",
                size=20_000,
                packet_kind="edoc",
                sender=SENDER,
                submitted_by=SENDER,
                source="api",
                document_id=f"{SENDER},2026/07/01,{number}/UBND-VP",
                addressed=[RECIPIENTS[0]],
                deliveries=[(RECIPIENTS[0], f"DELIVERY{number:018d}", "inbox")],
                at=now,
                business_type=0,
            )
    return (time.process_time() + server() - began) * 1000 / count


def measure(backend: str, packets: int) -> Overhead:
    """CPU per packet with and without evidence, and of the evidence write alone."""
    per_round = max(1, packets // ROUNDS)
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-evidence-") as tmp:
        folder = Path(tmp)
        with database_url(backend, folder) as url:
            settings = Settings(
                database_url=url,
                data_dir=folder / "var",
                database_pool_size=1,
                database_max_overflow=0,
            )
            upgrade(settings)
            with open_database(settings) as database:
                with database.transaction() as session:
                    import_directory(session, parse_directory(directory(), "yaml"))
                service = IngestService(settings, database, FileBlobStore(folder / "blobs"))
                agency = AuthenticatedAgency(SENDER, SENDER)
                documents = prepare_documents(
                    SENDER, RECIPIENTS, 2 * per_round * ROUNDS + 40, statuses=False
                )
                feed = iter(documents)
                for _ in range(40):
                    service.accept(next(feed).data, agency)
                server = backend_cpu(database)
                spent = {True: 0.0, False: 0.0}
                ratios = []
                for number in range(ROUNDS):
                    this_round = {}
                    for evidence in (True, False) if number % 2 == 0 else (False, True):
                        restore = None if evidence else without_evidence()
                        gc.collect()
                        began = time.process_time() + server()
                        for _ in range(per_round):
                            service.accept(next(feed).data, agency)
                        this_round[evidence] = time.process_time() + server() - began
                        spent[evidence] += this_round[evidence]
                        if restore is not None:
                            restore()
                    ratios.append(this_round[True] / this_round[False] - 1)
                alone = evidence_alone(database, server, per_round * ROUNDS)
    count = per_round * ROUNDS
    return Overhead(
        with_ms=spent[True] * 1000 / count,
        without_ms=spent[False] * 1000 / count,
        median_ratio=statistics.median(ratios),
        alone_ms=alone,
        count=count,
    )


def report(add: Callable[[str, str, str], None], backends: Sequence[str], packets: int) -> None:
    """Measure each backend and add its row through ``add(figure, value, note)``."""
    configure_logging("WARNING", "json")
    for backend in backends:
        try:
            found = measure(backend, packets)
        except Exception as exc:
            add(f"{backend}: evidence overhead on ingest", "not measured", str(exc)[:120])
            continue
        server = "; PostgreSQL backend CPU included" if backend == "postgresql" else ""
        add(
            f"{backend}: ingest CPU per packet, with / without evidence",
            f"{found.with_ms:.2f} / {found.without_ms:.2f} ms",
            f"median of {ROUNDS} alternated rounds: {found.median_ratio * 100:+.1f} %; "
            f"{found.count} packets of 20 KB each way, in-process{server}",
        )
        add(
            f"{backend}: evidence write alone, CPU per packet",
            f"{found.alone_ms:.3f} ms = {found.alone_ms / found.without_ms * 100:.1f} % of ingest",
            f"target < {TARGET:.0f} %: statement, SHA-256 and one INSERT in the ingest's "
            "transaction",
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--packets", type=int, default=600, help="packets per mode")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    def add(figure: str, value: str, note: str) -> None:
        print(f"  {figure}: {value}   ({note})", flush=True)

    report(add, args.backends.split(","), args.packets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
