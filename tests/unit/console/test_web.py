"""Formatting, safe redirects, the refreshing cache and the exports, without a database."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from hub.console.exports import to_csv, to_xlsx
from hub.console.service import RefreshingCache
from hub.console.web import Formatter, safe_next
from hub.settings import ConsoleSettings, Settings


def test_vietnamese_numbers_and_times() -> None:
    vi, en = Formatter("vi"), Formatter("en")
    assert (vi.num(1234567), en.num(1234567)) == ("1.234.567", "1,234,567")
    assert (vi.pct(12.25), en.pct(12.25)) == ("12,2 %", "12.2 %")
    assert vi.pct(None) == "–"
    assert vi.when(datetime(2026, 11, 20, 17, 5, tzinfo=UTC)) == "21/11/2026 00:05"
    assert en.duration(30) == "30.0 s"
    assert vi.duration(5400) == "1,5 h"
    assert en.duration(3 * 86400) == "3.0 d"


def test_next_stays_in_the_console() -> None:
    assert safe_next("/console/documents?q=x", "/console") == "/console/documents?q=x"
    for hostile in ("https://evil.example/", "//evil.example/", "/console//evil", "/other", None):
        assert safe_next(hostile, "/console") == "/console/"


def test_the_cache_serves_stale_values_while_it_refreshes() -> None:
    now = [0.0]
    cache = RefreshingCache(60, clock=lambda: now[0])
    computed: list[int] = []
    refreshed = threading.Event()

    def compute() -> int:
        computed.append(len(computed))
        if len(computed) > 1:
            refreshed.set()
        return len(computed)

    assert cache.get("k", compute) == 1
    assert cache.get("k", compute) == 1
    now[0] = 61
    assert cache.get("k", compute) == 1  # stale, served while refreshing
    assert refreshed.wait(5)
    for _ in range(100):
        if cache.get("k", compute) == 2:
            break
        threading.Event().wait(0.01)
    assert cache.get("k", compute) == 2
    assert RefreshingCache(0).get("k", compute) == 3


def test_csv_has_a_bom_and_xlsx_round_trips() -> None:
    header = ["Mã", "Tỷ lệ (%)"]
    rows = [["000.21.22.H26", 50.0], ["x", None]]

    data = to_csv(header, rows)
    book = load_workbook(io.BytesIO(to_xlsx(header, rows, "Cơ quan, đơn vị")), read_only=True)

    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        header,
        ["000.21.22.H26", "50.0"],
        ["x", ""],
    ]
    sheet = book.active
    assert sheet is not None
    read = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert read[:2] == [header, rows[0]]
    assert read[2][0] == "x"


def test_console_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_CONSOLE_TARGETS", '{"signed": {"3": 90}}')
    monkeypatch.setenv("LIENTHONG_CONSOLE_UNACKED_HOURS", "2, 8")
    settings = Settings()
    assert settings.console.targets == {"signed": {3: 90.0}}
    assert settings.console.unacked_hours == (2.0, 8.0)
    assert ConsoleSettings.model_fields["targets"].default_factory is not None


def test_unacked_hours_must_increase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_CONSOLE_UNACKED_HOURS", "24,4")
    with pytest.raises(ValidationError, match="increasing"):
        Settings()


def test_a_prefetched_value_is_waited_for_not_computed_twice() -> None:
    cache = RefreshingCache(60)
    release = threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        release.wait(5)
        return "ready"

    cache.prefetch("k", slow)
    cache.prefetch("k", slow)
    waiter = threading.Thread(target=lambda: calls.append(cache.get("k", lambda: "again")))
    waiter.start()
    release.set()
    waiter.join(5)

    assert calls == ["slow", "ready"]
