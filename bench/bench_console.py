"""Benchmark of the monitoring console on a full-size city: a million deliveries on PostgreSQL.

1. Creates a throwaway database on the PostgreSQL server (``LIENTHONG_BENCH_DATABASE_URL``,
   default: the local server as user postgres; the URL of any database of the server) and fills
   it with ``bench/console_data.py``: the schema by the hub's migrations (the console's indexes
   included), the generated city (≈ 30 districts, 600 communes, 40 departments) and a month of
   traffic, 1,000,000 deliveries by default, written with COPY; prints the rows per second.
2. Adds a console user (:func:`hub.console.users.add_user`) and serves the hub's API app
   (:func:`hub.bootstrap.build_api`, the console under ``/console``) with uvicorn in a child
   process. Statistics are recomputed on every request (``LIENTHONG_CONSOLE_STATS_SECONDS=0``)
   unless ``--stats-seconds`` says otherwise, so the figures are what the queries cost.
3. Signs in over HTTP and times every page several times (after one warm-up request each):
   p50 / p95 / max per page, the SQL time and statement count the server measured for it, and
   whether p95 is under the target (300 ms).
4. Runs ``EXPLAIN (ANALYZE, BUFFERS)`` on the slowest statements of every page over the target
   (in the server process, with the statements' own parameters) and prints the plans.

The database is dropped at the end unless ``--keep``; ``--database NAME`` times a kept one
again without filling. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anyio.to_thread  # noqa: E402
import httpx  # noqa: E402
import psycopg  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import Engine, create_engine, event, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.console_data import FillPlan, fill_database, psycopg_url  # noqa: E402
from hub.bootstrap import build_api  # noqa: E402
from hub.console.users import add_user as add_console_user  # noqa: E402
from hub.console.users import get_user, set_password  # noqa: E402
from hub.db.database import open_database  # noqa: E402
from hub.db.models import ConsoleUser  # noqa: E402
from hub.settings import Settings  # noqa: E402
from simulators.hubprocess import free_port  # noqa: E402

SERVER_URL = os.environ.get(
    "LIENTHONG_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGET_MS = 300.0
USER = "bench-admin"
PASSWORD = "ban-do-so-" + uuid.uuid4().hex[:12]
LABEL_HEADER = "x-bench-page"
SQL_MS_HEADER = "x-bench-sql-ms"
SQL_COUNT_HEADER = "x-bench-sql-count"


# -- the server (child process) ------------------------------------------------------------

_page: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_page", default=None)


@dataclass
class _Statement:
    sql: str
    parameters: Any
    seconds: float


@dataclass
class _Recorder:
    """SQL run per page label (every execution through any SQLAlchemy engine)."""

    by_page: dict[str, list[_Statement]] = field(default_factory=lambda: defaultdict(list))
    per_request: contextvars.ContextVar[list[float] | None] = field(
        default_factory=lambda: contextvars.ContextVar("bench_request", default=None)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        @event.listens_for(Engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        @event.listens_for(Engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
            seconds = time.perf_counter() - conn.info["bench_started"].pop()
            label = _page.get()
            if label is None:
                return
            durations = self.per_request.get()
            if durations is not None:
                durations.append(seconds)
            with self.lock:
                self.by_page[label].append(_Statement(sql, parameters, seconds))


def _explain(engine: Engine, recorder: _Recorder, label: str, top: int) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of the page's slowest distinct statements."""
    with recorder.lock:
        statements = list(recorder.by_page.get(label, []))
    slowest: dict[str, _Statement] = {}
    for statement in statements:
        known = slowest.get(statement.sql)
        if known is None or statement.seconds > known.seconds:
            slowest[statement.sql] = statement
    chosen = sorted(slowest.values(), key=lambda s: -s.seconds)[:top]
    plans = []
    for statement in chosen:
        if not statement.sql.lstrip().upper().startswith("SELECT"):
            continue
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.parameters
            ).all()
            connection.rollback()
        plans.append(
            {
                "ms": round(statement.seconds * 1000, 1),
                "sql": statement.sql,
                "parameters": repr(statement.parameters)[:600],
                "plan": "\n".join(row[0] for row in rows),
            }
        )
    return plans


def serve(port: int) -> None:
    """The hub's API app (the console under /console), recording the SQL of each page."""
    settings = Settings()
    recorder = _Recorder()
    recorder.install()
    with open_database(settings) as database:
        app = build_api(settings, database)

        async def measured(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = dict(scope.get("headers") or [])
            label = headers.get(LABEL_HEADER.encode(), b"").decode() or None
            if scope["path"] == "/__bench/explain":
                await _answer_explain(scope, send, database.engine, recorder)
                return
            token = _page.set(label)
            durations: list[float] = []
            request_token = recorder.per_request.set(durations)

            async def send_with_sql(message: Any) -> None:
                if message["type"] == "http.response.start":
                    extra = [
                        (SQL_MS_HEADER.encode(), f"{sum(durations) * 1000:.1f}".encode()),
                        (SQL_COUNT_HEADER.encode(), str(len(durations)).encode()),
                    ]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            try:
                await app(scope, receive, send_with_sql)
            finally:
                recorder.per_request.reset(request_token)
                _page.reset(token)

        uvicorn.run(measured, host="127.0.0.1", port=port, log_level="warning")


async def _answer_explain(scope: Any, send: Any, engine: Engine, recorder: _Recorder) -> None:
    query = parse_qs(scope.get("query_string", b"").decode())
    label = query.get("page", [""])[0]
    top = int(query.get("top", ["3"])[0])
    plans = await anyio.to_thread.run_sync(lambda: _explain(engine, recorder, label, top))
    body = json.dumps(plans, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the database ----------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(name: str | None, keep: bool) -> Iterator[tuple[str, bool]]:
    """(URL, created) of the database to time: an existing one, or a new one dropped after."""
    server = make_url(SERVER_URL)
    if name is not None:
        yield server.set(database=name).render_as_string(hide_password=False), False
        return
    name = f"lienthong_bench_console_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(psycopg_url(SERVER_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        yield url, True
    finally:
        if keep:
            print(f"\nkept database {name} (time it again with --database {name})")
        else:
            with psycopg.connect(psycopg_url(SERVER_URL), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"\ndropped database {name}")


def add_user(url: str) -> None:
    """The console user the benchmark signs in as (an admin: every page is open to it)."""
    actor = "cli:bench-console"
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            if session.scalars(select(ConsoleUser.id).where(ConsoleUser.name == USER)).first():
                set_password(session, USER, PASSWORD, actor=actor)  # a kept database
            else:
                add_console_user(session, USER, "admin", PASSWORD, actor=actor)
            assert get_user(session, USER).role.value == "admin"
    finally:
        engine.dispose()


@contextlib.contextmanager
def running_server(url: str, data_dir: Path, stats_seconds: float) -> Iterator[str]:
    """This script's ``--serve`` mode as a child process; its base URL."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    environment |= {
        "LIENTHONG_DATABASE_URL": url,
        "LIENTHONG_DATA_DIR": str(data_dir),
        "LIENTHONG_CONSOLE_STATS_SECONDS": str(stats_seconds),
        "LIENTHONG_LOG_LEVEL": "WARNING",
        "LIENTHONG_AUTO_MIGRATE": "never",
    }
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    "the console server ended:\n" + (data_dir / "server.log").read_text()[-3000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the console server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# -- the pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    signed_in: bool = True
    """False: asked by a browser without a session (the sign-in form)."""


@dataclass
class Timing:
    page: Page
    seconds: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statements: int = 0
    status: int = 0
    size: int = 0

    def ms(self, fraction: float) -> float:
        ordered = sorted(self.seconds)
        index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
        return ordered[index] * 1000


def sign_in(client: httpx.Client) -> None:
    form = client.get("/console/login")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if found is None:
        raise SystemExit("the sign-in form carries no CSRF token")
    answer = client.post(
        "/console/login",
        data={"name": USER, "password": PASSWORD, "csrf_token": found.group(1), "next": ""},
    )
    if answer.status_code != 303:
        raise SystemExit(f"signing in failed: {answer.status_code} {answer.text[:300]}")


def pages_to_time(url: str) -> list[Page]:
    """Every page of the console, with parameters taken from the data."""
    with psycopg.connect(psycopg_url(url)) as connection:

        def one(sql: str) -> Any:
            row = connection.execute(sql).fetchone()
            return row[0] if row else None

        district = one(
            "SELECT a.code FROM agencies a WHERE a.level = 3 AND EXISTS "
            "(SELECT 1 FROM agencies c WHERE c.parent_code = a.code) ORDER BY a.code LIMIT 1"
        )
        busy_recipient = one(
            "SELECT recipient_code FROM document_recipients WHERE status IS NULL "
            "GROUP BY recipient_code ORDER BY count(*) DESC LIMIT 1"
        )
        parked_recipient = one(
            "SELECT recipient_code FROM deliveries WHERE state = 'parked' "
            "GROUP BY recipient_code ORDER BY count(*) DESC LIMIT 1"
        )
        sender = one(
            "SELECT sender_code FROM packets WHERE kind = 'edoc' "
            "GROUP BY sender_code ORDER BY count(*) DESC LIMIT 1"
        )
        broadcast = one(
            "SELECT packet_id FROM deliveries WHERE packet_id IN "
            "(SELECT id FROM packets WHERE kind = 'edoc' ORDER BY received_at DESC LIMIT 5000) "
            "GROUP BY packet_id ORDER BY count(*) DESC LIMIT 1"
        )
        typical = one(
            "SELECT p.id FROM packets p WHERE p.kind = 'edoc' AND p.pdf_signed = 'signed' "
            "ORDER BY p.received_at DESC OFFSET 500 LIMIT 1"
        )
        code = one(
            "SELECT code FROM packets WHERE kind = 'edoc' ORDER BY received_at DESC "
            "OFFSET 1000 LIMIT 1"
        )
        week_ago = one("SELECT (max(received_at) - interval '7 days')::date FROM packets")
        today = one("SELECT max(received_at)::date FROM packets")

    def documents(**query: Any) -> str:
        return "/console/documents?" + urlencode(query)

    return [
        Page("sign-in form", "/console/login", signed_in=False),
        Page("overview today", "/console/?window=today"),
        Page("overview 7 days", "/console/?window=7d"),
        Page("overview 30 days", "/console/?window=30d"),
        Page("agencies 30d", "/console/agencies?window=30d"),
        Page("agencies sorted by signed share", "/console/agencies?sort=signed&dir=asc"),
        Page("agencies level 4 flagged", "/console/agencies?level=4&flagged=1&window=7d"),
        Page("agencies name filter", "/console/agencies?q=" + quote("phu")),
        Page("agencies drill-down", f"/console/agencies?parent={district}"),
        Page("agencies CSV export", "/console/agencies/export.csv?window=30d"),
        Page("agencies XLSX export", "/console/agencies/export.xlsx?window=30d"),
        Page("documents newest", "/console/documents"),
        Page("documents search accents", documents(q="chuyển đổi số")),
        Page("documents search no accents", documents(q="chuyen doi so")),
        Page("documents search number", documents(q=code or "1/UBND")),
        Page("documents search no match", documents(q="khong co van ban nay")),
        Page("documents sender + unanswered", documents(sender=sender, status="none")),
        Page("documents recipient parked", documents(recipient=parked_recipient, state="parked")),
        Page("documents date range", documents(**{"from": str(week_ago), "to": str(today)})),
        Page("document page broadcast", f"/console/documents/{broadcast}"),
        Page("document page typical", f"/console/documents/{typical}"),
        Page("unacknowledged (no 01)", "/console/unacknowledged"),
        Page("unacknowledged (no 03)", "/console/unacknowledged?missing=03"),
        Page(
            "unacknowledged one recipient",
            f"/console/unacknowledged/{busy_recipient}?bucket=0&missing=03",
        ),
        Page("failures parked", "/console/failures?state=parked"),
        Page("failures expired", "/console/failures?state=expired"),
        Page(
            "failures one recipient", f"/console/failures?state=parked&recipient={parked_recipient}"
        ),
        Page("peers", "/console/peers"),
        Page("audit", "/console/audit"),
        Page("audit verify chain", "/console/audit?verify=1"),
    ]


def time_sign_in(base: str, runs: int) -> Timing:
    """The sign-in form's POST (an argon2 check and a new session), from fresh browsers."""
    timing = Timing(Page("sign in (POST)", "/console/login", signed_in=False))
    for run in range(runs + 1):
        with httpx.Client(base_url=base, timeout=120) as client:
            form = client.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            data = {"name": USER, "password": PASSWORD, "csrf_token": token.group(1)}
            began = time.perf_counter()
            answer = client.post(
                "/console/login", data=data, headers={LABEL_HEADER: timing.page.label}
            )
            elapsed = time.perf_counter() - began
        timing.status = 200 if answer.status_code == 303 else answer.status_code
        if run:
            timing.seconds.append(elapsed)
            timing.sql_ms.append(float(answer.headers.get(SQL_MS_HEADER, "0")))
            timing.statements = int(answer.headers.get(SQL_COUNT_HEADER, "0"))
    return timing


def time_pages(base: str, pages: Sequence[Page], runs: int) -> list[Timing]:
    timings = [time_sign_in(base, runs)]
    with (
        httpx.Client(base_url=base, timeout=300) as client,
        httpx.Client(base_url=base, timeout=300) as anonymous,
    ):
        sign_in(client)
        for page in pages:
            timing = Timing(page)
            headers = {LABEL_HEADER: page.label}
            browser = client if page.signed_in else anonymous
            for run in range(runs + 1):
                began = time.perf_counter()
                answer = browser.get(page.path, headers=headers)
                elapsed = time.perf_counter() - began
                timing.status, timing.size = answer.status_code, len(answer.content)
                if run == 0:
                    continue  # warm-up: connection, caches, first compilation
                timing.seconds.append(elapsed)
                timing.sql_ms.append(float(answer.headers.get(SQL_MS_HEADER, "0")))
                timing.statements = int(answer.headers.get(SQL_COUNT_HEADER, "0"))
            timings.append(timing)
            mark = "" if timing.status == 200 else f"  (HTTP {timing.status})"
            print(
                f"  {page.label}: p50 {timing.ms(0.5):.0f} ms, max {max(timing.seconds) * 1000:.0f}"
                f" ms{mark}",
                flush=True,
            )
    return timings


def table(timings: Sequence[Timing]) -> str:
    width = max(len(t.page.label) for t in timings)
    lines = [
        f"| {'page':<{width}} | p50 ms | p95 ms | max ms | SQL p50 ms | SQL stmts | KiB | "
        f"p95 < {TARGET_MS:.0f} ms |",
        f"|{'-' * (width + 2)}|-------:|-------:|-------:|-----------:|----------:|----:|:---:|",
    ]
    for t in timings:
        ok = "yes" if t.ms(0.95) < TARGET_MS and t.status == 200 else "**no**"
        if t.status != 200:
            ok += f" (HTTP {t.status})"
        lines.append(
            f"| {t.page.label:<{width}} | {t.ms(0.5):6.0f} | {t.ms(0.95):6.0f} | "
            f"{max(t.seconds) * 1000:6.0f} | {statistics.median(t.sql_ms):10.0f} | "
            f"{t.statements:9d} | {t.size / 1024:3.0f} | {ok} |"
        )
    return "\n".join(lines)


def explain_slow(base: str, timings: Sequence[Timing], top: int) -> None:
    slow = [t for t in timings if t.ms(0.95) >= TARGET_MS]
    if not slow:
        print("\nno page over the target: nothing to explain")
        return
    with httpx.Client(base_url=base, timeout=600) as client:
        for timing in slow:
            print(f"\n=== {timing.page.label} ({timing.page.path}): p95 {timing.ms(0.95):.0f} ms")
            answer = client.get("/__bench/explain", params={"page": timing.page.label, "top": top})
            for plan in answer.json():
                sql = " ".join(plan["sql"].split())
                sql = sql if len(sql) < 700 else sql[:700] + " …"
                print(f"\n--- {plan['ms']} ms: {sql}\n    parameters: {plan['parameters'][:300]}")
                print(plan["plan"])


# -- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000, help="rows to fill")
    parser.add_argument("--days", type=int, default=30, help="the window the traffic spans")
    parser.add_argument("--seed", type=int, default=FillPlan().seed, help="of the traffic")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="time this existing (kept) database, no fill")
    parser.add_argument(
        "--stats-seconds",
        type=float,
        default=0.0,
        help="LIENTHONG_CONSOLE_STATS_SECONDS of the server (0: every request computes)",
    )
    parser.add_argument(
        "--explain-top", type=int, default=3, help="statements explained per slow page"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    with (
        throwaway_database(args.database, args.keep) as (url, created),
        tempfile.TemporaryDirectory(prefix="bench-console-") as scratch,
    ):
        if created:
            print(f"filling {make_url(url).database} on {make_url(url).host}:")
            began = time.perf_counter()
            report = fill_database(
                url, FillPlan(deliveries=args.deliveries, days=args.days, seed=args.seed)
            )
            print(
                f"filled in {time.perf_counter() - began:.0f} s: {report.total_rows:,} rows, "
                f"{report.total_rows / report.fill_seconds:,.0f} rows/s while writing; "
                f"documents' deliveries by state {dict(report.delivery_states)}; "
                f"signed share by level "
                + ", ".join(
                    f"{level}: {report.signed_share(level):.0%}"
                    for level in sorted(report.documents_by_level)
                )
            )
        data_dir = Path(scratch)
        add_user(url)
        pages = pages_to_time(url)
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"\ntiming {len(pages)} pages, {args.runs} runs each after a warm-up "
            f"({os.cpu_count()} CPUs, load average {load}):"
        )
        with running_server(url, data_dir, args.stats_seconds) as base:
            timings = time_pages(base, pages, args.runs)
            load = " ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"\n{table(timings)}\n(load average after timing: {load})")
            explain_slow(base, timings, args.explain_top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
