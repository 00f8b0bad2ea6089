"""The directory's history on the console: a day's figures by the structure of each of its
parts (with CSV), and the page of the changes.

A day is cut at the moments directory changes took effect (:func:`hub.directory.structure.
day_periods`); each part is counted over its own span and summed per level by the structure
in force then: the day before a reorganisation by four levels, the day after by three, and a
day the change took effect in the middle of, by both, each part saying which. Figures are
recorded under the codes of their time; each counts for the agency of the part's structure
its code leads to (itself, its single successor or its single predecessor), or as outside
the structure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hub.console import queries
from hub.console.exports import Cell, to_csv
from hub.console.figures import AgencyFigures, AgencyRow, LevelRow, level_rows
from hub.console.web import ConsoleError, ContextDep, ViewerDep, no_store, render
from hub.db.base import utcnow
from hub.directory.reorganise import list_changes
from hub.directory.structure import Period, day_periods, local_day, structure_at

__all__ = ["PERIOD_COLUMNS", "PeriodFigures", "day_figures", "router"]

router = APIRouter()

PERIOD_COLUMNS = (
    "day",
    "period_start",
    "period_end",
    "structure_at",
    "levels_in_force",
    "level",
    "level_name",
    "agencies",
    "connected",
    "active",
    "documents_sent",
    "statuses_sent",
    "received",
    "acknowledged",
    "accepted",
    "completed",
    "refused",
    "deliveries",
    "delivered",
    "failed",
    "in_flight",
)
"""Columns of the CSV export: one row per level of each part of the day, then one row
(level empty, ``level_name`` ``outside``) for what no agency of the structure takes."""


@dataclass(frozen=True)
class PeriodFigures:
    """One part of a day: its structure, and its figures per level."""

    period: Period
    until: datetime
    """Where counting stopped: the part's end, or now."""
    levels: dict[int, str]
    """The levels in force during the part."""
    agencies: dict[int, int]
    """Agencies in force during the part, per level."""
    rows: list[LevelRow]
    outside: AgencyFigures
    """What was recorded under codes the structure cannot place."""


def day_figures(session: Session, day: date, now: datetime) -> list[PeriodFigures]:
    """Each part of ``day`` that has begun, counted by its own structure."""
    found: list[PeriodFigures] = []
    for period in day_periods(session, day):
        if period.start > now:
            break
        until = min(period.end, now)
        structure = structure_at(session, period.start)
        recorded = queries.agency_figures(session, period.start, until=until, medians=False)
        folded: dict[str, AgencyFigures] = defaultdict(AgencyFigures)
        outside = AgencyFigures()
        for code, figures in recorded.items():
            home = structure.place(code)
            (folded[home] if home is not None else outside).add(figures)
        children = structure.children()
        rows = [
            AgencyRow(
                code=agency.code,
                name=agency.name,
                level=agency.level,
                parent_code=agency.parent,
                channel=agency.channel,
                active=agency.active,
                children=children.get(agency.code, 0),
                figures=folded.get(agency.code) or AgencyFigures(),
            )
            for agency in structure.agencies.values()
        ]
        found.append(
            PeriodFigures(
                period=period,
                until=until,
                levels=dict(structure.levels),
                agencies=dict(Counter(agency.level for agency in structure.agencies.values())),
                rows=level_rows(rows, structure.levels),
                outside=outside,
            )
        )
    return found


def _day(value: str) -> date:
    if not value:
        return local_day(utcnow())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(400, "error.day", value=value[:20]) from None


@router.get("/structure")
def structure(
    request: Request, context: ContextDep, identity: ViewerDep, day: str = ""
) -> Response:
    """A day's figures per level, each part of the day by the structure then in force."""
    chosen = _day(day)
    now = utcnow()
    with context.db.read() as session:
        parts = day_figures(session, chosen, now)
    return render(
        request,
        context,
        "structure.html",
        {"day": chosen, "parts": parts, "now": now},
        page="structure",
    )


@router.get("/structure/export.csv")
def export_structure(
    request: Request, context: ContextDep, identity: ViewerDep, day: str = ""
) -> Response:
    """The figures of the structure page as CSV (see :data:`PERIOD_COLUMNS`)."""
    chosen = _day(day)
    with context.db.read() as session:
        parts = day_figures(session, chosen, utcnow())
    table: list[list[Cell]] = []
    for part in parts:
        first: list[Cell] = [
            chosen.isoformat(),
            part.period.start.isoformat(timespec="seconds"),
            part.until.isoformat(timespec="seconds"),
            part.period.start.isoformat(timespec="seconds"),
            len(part.levels),
        ]
        for row in part.rows:
            counts: list[Cell] = [part.agencies.get(row.level, 0), row.connected, row.active]
            table.append([*first, row.level, row.name, *counts, *_figures(row.figures)])
        if _any(part.outside):
            table.append([*first, None, "outside", None, None, None, *_figures(part.outside)])
    return no_store(
        Response(
            to_csv(PERIOD_COLUMNS, table),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="lienthong-structure-{chosen.isoformat()}.csv"'
                )
            },
        )
    )


def _figures(figures: AgencyFigures) -> list[Cell]:
    return [
        figures.documents_sent,
        figures.statuses_sent,
        figures.received,
        figures.acknowledged,
        figures.accepted,
        figures.completed,
        figures.refused,
        figures.deliveries,
        figures.delivered,
        figures.failed,
        figures.in_flight,
    ]


def _any(figures: AgencyFigures) -> bool:
    return any(value for value in _figures(figures))


@router.get("/changes")
def changes(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    code: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The directory's dated changes, latest first: what, when, under which act, by whom."""
    with context.db.read() as session:
        views = list_changes(session, code=code.strip() or None)
    return render(
        request,
        context,
        "changes.html",
        {"changes": views, "code": code.strip(), "now": utcnow()},
        page="changes",
    )
