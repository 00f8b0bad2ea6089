"""The agencies table as CSV (UTF-8 with a BOM, so spreadsheet programs read Vietnamese) or
XLSX (openpyxl, write-only: rows are streamed into the workbook).

Names come from directory imports and the national axis's agency list: a text starting as a
formula does (``=``, ``+``, ``-``, ``@``, a tab or a carriage return) must stay text in the
spreadsheet. In CSV it gets a leading apostrophe (the common defence: spreadsheet programs
read the rest as text); in XLSX it is written as a string cell with the "quote prefix" style,
its value unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import TypeGuard

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from hub.console.figures import AgencyRow

__all__ = ["agency_table", "looks_like_formula", "to_csv", "to_xlsx"]

Cell = str | int | float | None
Translate = Callable[[str], str]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(cell: Cell) -> TypeGuard[str]:
    """Whether a spreadsheet program could read ``cell`` as a formula (text only)."""
    return isinstance(cell, str) and cell.startswith(_FORMULA_STARTS)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def agency_table(
    rows: Sequence[AgencyRow], _: Translate, flagged: Callable[[AgencyRow], bool]
) -> tuple[list[str], list[list[Cell]]]:
    """The header and the rows of the agencies page (numbers as numbers, not as text)."""
    header = [
        _("agency.code"),
        _("agency.name"),
        _("agency.level"),
        _("agency.parent"),
        _("agency.sent"),
        _("agency.received"),
        _("agency.delivery_success") + " (%)",
        _("agency.median_01") + " (h)",
        _("agency.median_03") + " (h)",
        _("agency.completed_share") + " (%)",
        _("agency.signed_share") + " (%)",
        _("agency.flagged"),
    ]
    table: list[list[Cell]] = []
    for row in rows:
        shares = row.figures.shares()
        table.append(
            [
                row.code,
                row.name,
                row.level,
                row.parent_code or "",
                row.figures.documents_sent,
                row.figures.received,
                _percent(shares["delivered"]),
                _hours(row.figures.seconds_to_01),
                _hours(row.figures.seconds_to_03),
                _percent(shares["completed"]),
                _percent(shares["signed"]),
                _("common.yes") if flagged(row) else "",
            ]
        )
    return header, table


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """CSV bytes, UTF-8 with a byte-order mark, empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(cell) for cell in header])
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Cell]], title: str) -> bytes:
    """An XLSX workbook of one sheet named ``title``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Sheet1")
    sheet.append([_xlsx_cell(sheet, cell) for cell in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(cell: Cell) -> Cell:
    if cell is None:
        return ""
    return "'" + cell if looks_like_formula(cell) else cell


def _xlsx_cell(sheet: WriteOnlyWorksheet, cell: Cell) -> Cell | SheetCell:
    if not looks_like_formula(cell):
        return cell
    text = WriteOnlyCell(sheet, value=cell)
    text.data_type = "s"  # openpyxl would write "=…" as a formula
    text.quotePrefix = True
    return text
