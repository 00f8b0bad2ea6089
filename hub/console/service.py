"""What the console's pages read through: read-only sessions and cached statistics.

Reads never take SQLite's write lock (the hub's engine begins every transaction with
``BEGIN IMMEDIATE``, which would hold ingest up behind a long aggregate): on a SQLite file
the console reads through an engine of its own whose connections are ``query_only`` and
begin deferred transactions. Statistics are computed by SQL aggregates and reused for
``LIENTHONG_CONSOLE_STATS_SECONDS``; once stale they are refreshed on a background thread
while the previous figures are served, so only the very first request of a process waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from hub.console import queries
from hub.console.figures import (
    WINDOWS,
    AgencyRow,
    LevelRow,
    Window,
    level_rows,
    window_start,
)
from hub.db.base import utcnow
from hub.db.engine import SQLITE_BUSY_TIMEOUT_MS, redacted_url
from hub.directory.structure import structure_at
from hub.errors import StorageError
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = [
    "AgencyStats",
    "ConsoleDatabase",
    "ConsoleStats",
    "Overview",
    "PeerStats",
    "RefreshingCache",
    "UnackedStats",
]

T = TypeVar("T")
_log = structlog.get_logger(__name__)

READ_WORK_MEM = "64MB"
"""PostgreSQL's ``work_mem`` in the console's read sessions (sorts of a month of rows)."""
UNACKED_HORIZON = timedelta(days=30)
"""The unacknowledged page looks at documents of the last 30 days."""


class ConsoleDatabase:
    """Read-only sessions for pages, and the hub's transactions for what forms change."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._reader: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back.

        Raises:
            StorageError: the database failed.
        """
        sessions = self._sqlite_reader()
        if sessions is None:
            with self.database.transaction(commit=False) as session:
                if session.get_bind().dialect.name == "postgresql":
                    # JIT compiling the aggregates costs more than it saves at this size,
                    # and the percentiles sort a month of durations: in memory, not on disk.
                    session.execute(text("SET LOCAL jit = off"))
                    session.execute(text(f"SET LOCAL work_mem = '{READ_WORK_MEM}'"))
                yield session
            return
        try:
            with sessions() as session:
                yield session
                session.rollback()
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            url = redacted_url(self.database.engine.url)
            raise StorageError(f"database {url}: {detail}") from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction of the hub, committed on success."""
        with self.database.transaction() as session:
            yield session

    def _sqlite_reader(self) -> sessionmaker[Session] | None:
        url = self.database.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        with self._lock:
            if self._reader is None:
                engine = create_engine(url, poolclass=NullPool)
                event.listen(engine, "connect", _read_only_sqlite)
                event.listen(engine, "begin", _begin_deferred)
                self._reader = sessionmaker(bind=engine, expire_on_commit=False)
            return self._reader


def _read_only_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=1")
    finally:
        cursor.close()


def _begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


@dataclass
class _Entry(Generic[T]):
    value: T
    computed: float


class RefreshingCache:
    """Values reused for ``ttl`` seconds, then refreshed in the background while served.

    A value being computed in the background (a refresh, or a :meth:`prefetch`) is waited
    for rather than computed a second time.
    """

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic, wait: float = 120.0
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._wait = wait
        self._entries: dict[Hashable, _Entry[Any]] = {}
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``: cached, or computed now when there is none yet."""
        if self.ttl <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            running = self._running.get(key)
            stale = entry is not None and self._clock() - entry.computed >= self.ttl
            refresh = stale and running is None
            if refresh:
                self._running[key] = threading.Event()
        if entry is None and running is not None and running.wait(self._wait):
            with self._lock:
                entry = self._entries.get(key)
        if entry is None:
            value = compute()
            with self._lock:
                self._entries[key] = _Entry(value, self._clock())
            return value
        if refresh:
            self._start(key, compute)
        return entry.value  # type: ignore[no-any-return]

    def prefetch(self, key: Hashable, compute: Callable[[], Any]) -> None:
        """Compute ``key`` in the background unless it is cached or being computed."""
        if self.ttl <= 0:
            return
        with self._lock:
            if key in self._entries or key in self._running:
                return
            self._running[key] = threading.Event()
        self._start(key, compute)

    def _start(self, key: Hashable, compute: Callable[[], Any]) -> None:
        threading.Thread(
            target=self._refresh, args=(key, compute), name="console-stats", daemon=True
        ).start()

    def _refresh(self, key: Hashable, compute: Callable[[], Any]) -> None:
        try:
            value = compute()
        except Exception:
            _log.exception("console.stats_refresh_failed", key=str(key))
        else:
            with self._lock:
                self._entries[key] = _Entry(value, self._clock())
        finally:
            with self._lock:
                done = self._running.pop(key, None)
            if done is not None:
                done.set()

    def has(self, key: Hashable) -> bool:
        """Whether a value of ``key`` is cached (fresh or stale)."""
        with self._lock:
            return key in self._entries

    def clear(self) -> None:
        """Forget every value (the next request computes afresh)."""
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class AgencyStats:
    """Every agency with its figures over one window."""

    computed_at: datetime
    window: Window
    rows: list[AgencyRow]
    levels: list[LevelRow]
    level_names: dict[int, str]
    medians: bool = True
    """Whether the rows hold the median answer times (else they are None throughout)."""


@dataclass(frozen=True)
class Overview:
    """The overview page's figures."""

    computed_at: datetime
    transport: dict[Window, queries.TransportFigures]
    days: list[queries.DayVolume]
    agencies: AgencyStats


@dataclass(frozen=True)
class PeerStats:
    """Peers and the axis link."""

    computed_at: datetime
    peers: list[queries.PeerFigures]
    axis: queries.AxisLink


@dataclass(frozen=True)
class UnackedStats:
    """Unanswered documents per recipient, by age."""

    computed_at: datetime
    rows: list[queries.UnackedRow]
    agencies: dict[str, queries.DirectoryEntry]
    level_names: dict[int, str]


class ConsoleStats:
    """The statistics pages' figures, computed by SQL and cached per process."""

    def __init__(
        self,
        db: ConsoleDatabase,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self.cache = RefreshingCache(settings.console.stats_seconds)

    def warm(self) -> None:
        """Start computing the statistics pages' default figures in the background (called
        when the sign-in form is shown, so they are ready once the user has signed in)."""
        self.cache.prefetch("transport", self._transport)
        self.cache.prefetch(("agencies", "30d", False), lambda: self._agencies("30d", False))
        self.cache.prefetch(("agencies", "30d", True), lambda: self._agencies("30d", True))
        self.cache.prefetch(("unacked", "01"), lambda: self._unacked("01"))
        self.cache.prefetch("peers", self._peers)

    def agencies(self, window: Window, *, medians: bool = True) -> AgencyStats:
        """Every agency's figures over ``window`` (with the median answer times or not)."""
        return self.cache.get(
            ("agencies", window, medians), lambda: self._agencies(window, medians)
        )

    def agencies_listed(self, window: Window) -> AgencyStats:
        """Every agency's figures over ``window`` for a page that shows a few of them: with
        the median answer times once computed (and cached), else without them (the counts
        the overview shares) while they are computed in the background; the page then adds
        the medians of the rows it shows (:meth:`with_medians`)."""
        full = ("agencies", window, True)
        if self.cache.has(full):
            return self.agencies(window)
        self.cache.prefetch(full, lambda: self._agencies(window, True))
        return self.agencies(window, medians=False)

    def with_medians(self, stats: AgencyStats, rows: Sequence[AgencyRow]) -> list[AgencyRow]:
        """``rows`` of ``stats`` with their median answer times (computed for them alone,
        over the window ``stats`` was computed for, unless ``stats`` has them already)."""
        if stats.medians or not rows:
            return list(rows)
        since = window_start(stats.window, stats.computed_at)
        with self._db.read() as session:
            medians = queries.answer_medians(session, since, [row.code for row in rows])
        return [
            replace(
                row,
                figures=replace(
                    row.figures,
                    seconds_to_01=medians.get(row.code, (None, None))[0],
                    seconds_to_03=medians.get(row.code, (None, None))[1],
                ),
            )
            for row in rows
        ]

    def overview(self, window: Window) -> Overview:
        """Transport over the three windows, traffic per day, levels over ``window``."""
        transport = self.cache.get("transport", self._transport)
        computed_at, figures, days = transport
        return Overview(
            computed_at=computed_at,
            transport=figures,
            days=days,
            agencies=self.agencies(window, medians=False),
        )

    def peers(self) -> PeerStats:
        """Attempts per peer over the last day; the axis link."""
        return self.cache.get("peers", self._peers)

    def unacknowledged(self, missing: queries.Missing) -> UnackedStats:
        """Unanswered documents per recipient in the configured age buckets."""
        return self.cache.get(("unacked", missing), lambda: self._unacked(missing))

    def _agencies(self, window: Window, medians: bool) -> AgencyStats:
        now = self._clock()
        started = time.perf_counter()
        with self._db.read() as session:
            entries = [entry for entry in queries.directory_entries(session) if entry.in_force(now)]
            names = queries.level_names(session, now)
            figures = queries.agency_figures(session, window_start(window, now), medians=medians)
            structure = structure_at(session, now)
        rows = queries.agency_rows(entries, queries.folded(figures, structure.place))
        _log.info(
            "console.stats_computed",
            stats="agencies",
            window=window,
            ms=round((time.perf_counter() - started) * 1000),
        )
        return AgencyStats(now, window, rows, level_rows(rows, names), names, medians)

    def _transport(
        self,
    ) -> tuple[datetime, dict[Window, queries.TransportFigures], list[queries.DayVolume]]:
        now = self._clock()
        started = time.perf_counter()
        with self._db.read() as session:
            figures, days = queries.traffic(
                session, {window: window_start(window, now) for window in WINDOWS}, now
            )
        _log.info(
            "console.stats_computed",
            stats="transport",
            ms=round((time.perf_counter() - started) * 1000),
        )
        return now, figures, days

    def _peers(self) -> PeerStats:
        now = self._clock()
        with self._db.read() as session:
            entries = queries.directory_entries(session)
            peers = queries.peer_figures(session, now, entries)
            axis = queries.axis_link(session)
        return PeerStats(now, peers, axis)

    def _unacked(self, missing: queries.Missing) -> UnackedStats:
        now = self._clock()
        with self._db.read() as session:
            rows = queries.unacknowledged(
                session,
                now=now,
                hours=self._settings.console.unacked_hours,
                horizon=now - UNACKED_HORIZON,
                missing=missing,
            )
            entries = {entry.code: entry for entry in queries.directory_entries(session)}
            names = queries.level_names(session)
        return UnackedStats(now, rows, entries, names)
