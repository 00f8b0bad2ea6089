"""The console's history pages: a day's figures by the structure of each part, and the changes."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from hub.db.base import utcnow
from hub.directory import parse_changes
from hub.directory.reorganise import record_changes
from hub.directory.structure import local_day

from ..hub.pipeline import packets
from ..hub.pipeline.packets import DEPARTMENT, DISTRICT, OTHER_WARD, WARD
from .conftest import Console

pytestmark = pytest.mark.integration

NEW_WARD = "000.01.61.H26"


def reform(console: Console) -> None:
    """From now on the levels go from four to three; Đống Đa's district and wards end (two
    wards merge into a new ward under the city)."""
    at = utcnow().isoformat()
    rest = [
        "000.23.22.H26",
        "000.24.22.H26",
        "000.25.22.H26",
        "000.26.22.H26",
        "000.27.22.H26",
        "000.28.22.H26",
        "000.29.22.H26",
        "000.30.22.H26",
    ]
    district_level = [f"000.0{n}.22.H26" for n in range(1, 7)] + [
        f"000.0{n}.{d}.H26" for d in (21, 23, 24, 25, 26, 27, 28, 29, 30, 31) for n in (0, 1)
    ]
    text = f"""\
- kind: levels
  effective: "{at}"
  act: Luật 72/2025/QH15
  levels: [{{level: 1, name: Trung ương}}, {{level: 2, name: Thành phố}},
           {{level: 3, name: "Xã, phường"}}]
- kind: merge
  effective: "{at}"
  act: Nghị quyết 1656/NQ-UBTVQH15
  from: [{WARD}, {OTHER_WARD}]
  into: {NEW_WARD}
  agency: {{code: {NEW_WARD}, name: UBND phường Văn Miếu - Quốc Tử Giám, level: 3,
           parent: 000.00.00.H26}}
- {{kind: dissolve, effective: "{at}", act: NQ 1656, codes: [{", ".join(rest)}]}}
- {{kind: dissolve, effective: "{at}", act: NQ 1656, codes: [{", ".join(district_level)}]}}
- {{kind: split, effective: "{at}", act: NQ 1656, code: {DISTRICT},
   into: [{NEW_WARD}, 000.00.00.H26]}}
"""
    with console.hub.database.transaction() as session:
        record_changes(session, parse_changes(text, "yaml"), actor="test")


def send(console: Console, recipients: tuple[str, ...]) -> None:
    console.ingest(packets.document(DEPARTMENT, recipients)[1], DEPARTMENT)


def test_the_day_of_a_change_shows_each_part_by_its_own_structure(console: Console) -> None:
    send(console, (WARD, DISTRICT))
    reform(console)
    send(console, (WARD,))
    console.as_role("viewer")

    page = console.client.get("/console/structure")

    assert page.status_code == 200
    if local_day(utcnow() - timedelta(seconds=30)) != local_day(utcnow()):
        pytest.skip("the day began between the two documents")
    levels = re.findall(r'data-period-start="[^"]+" data-levels="(\d)"', page.text)
    assert levels == ["4", "3"]
    before, after = page.text.split('data-testid="period"')[1:]
    assert "3 · Quận, huyện" in before
    assert "3 · Xã, phường" in after


def test_the_structure_export_counts_each_part_under_its_own_levels(console: Console) -> None:
    send(console, (WARD, DISTRICT))
    reform(console)
    send(console, (WARD,))
    console.as_role("viewer")

    answer = console.client.get("/console/structure/export.csv")

    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    parts: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        parts.setdefault(row["period_start"], {})[row["level_name"]] = row
    if local_day(utcnow() - timedelta(seconds=30)) != local_day(utcnow()):
        pytest.skip("the day began between the two documents")
    before, after = parts.values()
    assert before["Xã, phường"]["level"] == "4"
    assert (before["Xã, phường"]["received"], before["Quận, huyện"]["received"]) == ("1", "1")
    assert after["Xã, phường"]["level"] == "3"
    assert after["Xã, phường"]["received"] == "1"
    assert "Quận, huyện" not in after


def test_the_changes_page_lists_each_change_with_its_act(console: Console) -> None:
    reform(console)
    console.as_role("viewer")

    page = console.client.get(f"/console/changes?code={WARD}")

    assert page.status_code == 200
    assert page.text.count('data-change="') == 1
    assert "Nghị quyết 1656/NQ-UBTVQH15" in page.text


def test_a_day_that_is_not_a_date_is_a_readable_400(console: Console) -> None:
    console.as_role("viewer")

    page = console.client.get("/console/structure?day=tomorrow")

    assert page.status_code == 400


def test_the_directory_page_marks_the_agencies_a_change_ended(console: Console) -> None:
    reform(console)
    console.as_role("admin")

    page = console.client.get("/console/directory")

    assert page.status_code == 200
    assert f'data-testid="ended-{WARD}"' in page.text
    assert f'data-testid="ended-{NEW_WARD}"' not in page.text


def test_the_agencies_page_counts_what_an_ended_code_received_for_its_successor(
    console: Console,
) -> None:
    send(console, (WARD,))
    reform(console)
    console.as_role("viewer")

    answer = console.client.get("/console/agencies/export.csv?window=today")

    rows = {row[0]: row for row in csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))}
    header = next(iter(rows.values()))
    received = header.index(next(name for name in header if "nhận" in name.lower()))
    assert WARD not in rows
    assert rows[NEW_WARD][received] == "1"
