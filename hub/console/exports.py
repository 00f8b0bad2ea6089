"""The agencies table as CSV (UTF-8 with a BOM, so spreadsheet programs read Vietnamese) or
XLSX (openpyxl, write-only: rows are streamed into the workbook)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from openpyxl import Workbook

from hub.console.figures import AgencyRow

__all__ = ["agency_table", "to_csv", "to_xlsx"]

Cell = str | int | float | None
Translate = Callable[[str], str]


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
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Cell]], title: str) -> bytes:
    """An XLSX workbook of one sheet named ``title``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Sheet1")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
