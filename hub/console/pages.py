"""The statistics pages: overview, agencies (with CSV/XLSX export), unacknowledged, peers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hub.console import charts, queries
from hub.console.exports import agency_table, to_csv, to_xlsx
from hub.console.figures import METRICS, AgencyRow, check_target
from hub.console.i18n import translator
from hub.console.service import UNACKED_HORIZON, AgencyStats
from hub.console.web import (
    PAGE_SIZE,
    ConsoleContext,
    ConsoleError,
    ContextDep,
    ViewerDep,
    language,
    render,
    window_of,
)
from hub.db.base import utcnow
from hub.db.text import normalise

__all__ = ["AGENCY_SORTS", "router"]

router = APIRouter()


@router.get("/")
def overview(
    request: Request, context: ContextDep, identity: ViewerDep, window: str = "30d"
) -> Response:
    """Traffic of today, 7 and 30 days; delivery times; per level against the targets."""
    chosen = window_of(window)
    figures = context.stats.overview(chosen)
    _ = translator(language(request))
    levels = figures.agencies.levels
    return render(
        request,
        context,
        "overview.html",
        {
            "figures": figures,
            "window": chosen,
            "levels": levels,
            "targets": context.settings.console.targets,
            "metrics": METRICS,
            "check": lambda metric, level, value: check_target(
                context.settings.console.targets, metric, level, value
            ),
            "volume_chart": charts.volume_chart(figures.days, _),
            "time_chart": charts.delivery_time_chart(figures.transport[chosen].histogram, _),
            "level_chart": charts.level_share_chart(levels, _),
        },
        page="overview",
    )


# -- agencies ------------------------------------------------------------------------------

AGENCY_SORTS: dict[str, Callable[[AgencyRow], tuple[bool, float | str]]] = {
    "code": lambda row: (False, row.code),
    "name": lambda row: (False, row.name.casefold()),
    "level": lambda row: (False, row.level),
    "sent": lambda row: (False, row.figures.documents_sent),
    "received": lambda row: (False, row.figures.received),
    "delivered": lambda row: _share_key(row.figures.shares()["delivered"]),
    "to01": lambda row: _share_key(row.figures.seconds_to_01),
    "to03": lambda row: _share_key(row.figures.seconds_to_03),
    "completed": lambda row: _share_key(row.figures.shares()["completed"]),
    "signed": lambda row: _share_key(row.figures.shares()["signed"]),
}
"""Sort keys; rows without a value sort last whichever the direction (see ``_sorted``)."""


def _share_key(value: float | None) -> tuple[bool, float]:
    return (value is None, value if value is not None else 0.0)


def _sorted(rows: Sequence[AgencyRow], sort: str, descending: bool) -> list[AgencyRow]:
    key = AGENCY_SORTS.get(sort, AGENCY_SORTS["code"])
    present = [row for row in rows if not key(row)[0]]
    missing = [row for row in rows if key(row)[0]]
    return sorted(present, key=lambda row: key(row)[1], reverse=descending) + missing


def flagger(context: ConsoleContext) -> Callable[[AgencyRow], bool]:
    """Whether a unit is flagged: it sent documents and too few were digitally signed."""
    threshold = context.settings.console.flag_below

    def flagged(row: AgencyRow) -> bool:
        signed = row.figures.shares()["signed"]
        return signed is not None and signed < threshold

    return flagged


def _selected(
    stats: AgencyStats,
    context: ConsoleContext,
    *,
    level: int | None,
    parent: str,
    text: str,
    flagged_only: bool,
    sort: str,
    direction: str,
) -> list[AgencyRow]:
    flagged = flagger(context)
    needle = normalise(text)
    rows = [
        row
        for row in stats.rows
        if (level is None or row.level == level)
        and (not parent or row.parent_code == parent)
        and (not needle or needle in normalise(f"{row.code} {row.name}"))
        and (not flagged_only or flagged(row))
    ]
    return _sorted(rows, sort, direction == "desc")


@router.get("/agencies")
def agencies(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    window: str = "30d",
    level: Annotated[int | None, Query(ge=0)] = None,
    parent: str = "",
    q: str = "",
    flagged: str = "",
    sort: str = "code",
    dir: str = "asc",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """Every agency with its figures; sort, filter, drill down from a parent to its units."""
    chosen = window_of(window)
    # Sorted by a median, every agency's is needed; otherwise only those of the rows shown.
    by_median = sort in ("to01", "to03")
    stats = context.stats.agencies(chosen) if by_median else context.stats.agencies_listed(chosen)
    rows = _selected(
        stats,
        context,
        level=level,
        parent=parent,
        text=q,
        flagged_only=bool(flagged),
        sort=sort,
        direction=dir,
    )
    by_code = {row.code: row for row in stats.rows}
    start = (page - 1) * PAGE_SIZE
    shown = context.stats.with_medians(stats, rows[start : start + PAGE_SIZE])
    return render(
        request,
        context,
        "agencies.html",
        {
            "stats": stats,
            "window": chosen,
            "rows": shown,
            "total": len(rows),
            "page_number": page,
            "pages": max(1, -(-len(rows) // PAGE_SIZE)),
            "level": level,
            "parent": by_code.get(parent) if parent else None,
            "parent_code": parent,
            "q": q,
            "flagged_only": bool(flagged),
            "sort": sort if sort in AGENCY_SORTS else "code",
            "dir": "desc" if dir == "desc" else "asc",
            "flagged": flagger(context),
            "threshold": context.settings.console.flag_below,
            "check": lambda metric, lvl, value: check_target(
                context.settings.console.targets, metric, lvl, value
            ),
        },
        page="agencies",
    )


@router.get("/agencies/export.{extension}")
def export_agencies(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    extension: str,
    window: str = "30d",
    level: Annotated[int | None, Query(ge=0)] = None,
    parent: str = "",
    q: str = "",
    flagged: str = "",
    sort: str = "code",
    dir: str = "asc",
) -> Response:
    """The agencies table as filtered and sorted, every row, as CSV or XLSX."""
    if extension not in ("csv", "xlsx"):
        raise ConsoleError(404, "error.not_found")
    chosen = window_of(window)
    stats = context.stats.agencies(chosen)
    rows = _selected(
        stats,
        context,
        level=level,
        parent=parent,
        text=q,
        flagged_only=bool(flagged),
        sort=sort,
        direction=dir,
    )
    _ = translator(language(request))
    header, table = agency_table(rows, _, flagger(context))
    stamp = stats.computed_at.strftime("%Y%m%d-%H%M")
    filename = f"lienthong-agencies-{chosen}-{stamp}.{extension}"
    if extension == "csv":
        body, media = to_csv(header, table), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(header, table, _("nav.agencies"))
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- unacknowledged ------------------------------------------------------------------------


@router.get("/unacknowledged")
def unacknowledged(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    missing: str = "01",
    level: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """Documents delivered but not answered, per recipient and level, by age."""
    wanted: queries.Missing = "03" if missing == "03" else "01"
    stats = context.stats.unacknowledged(wanted)
    hours = context.settings.console.unacked_hours
    rows = [
        row
        for row in stats.rows
        if level is None
        or (row.recipient in stats.agencies and stats.agencies[row.recipient].level == level)
    ]
    rows.sort(key=lambda row: (-row.buckets[-1], -row.total, row.recipient))
    per_level: dict[int, list[int]] = {}
    for row in stats.rows:
        entry = stats.agencies.get(row.recipient)
        key = entry.level if entry is not None else 0
        sums = per_level.setdefault(key, [0] * len(hours))
        for index, count in enumerate(row.buckets):
            sums[index] += count
    return render(
        request,
        context,
        "unacknowledged.html",
        {
            "stats": stats,
            "rows": rows,
            "hours": hours,
            "missing": wanted,
            "level": level,
            "per_level": sorted(per_level.items()),
            "horizon_days": UNACKED_HORIZON.days,
        },
        page="unacknowledged",
    )


@router.get("/unacknowledged/{recipient}")
def unacknowledged_documents(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    recipient: str,
    bucket: Annotated[int, Query(ge=0)] = 0,
    missing: str = "01",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """One recipient's unanswered documents in one age bucket, oldest delivery first."""
    hours = context.settings.console.unacked_hours
    if bucket >= len(hours):
        raise ConsoleError(400, "error.bucket")
    wanted: queries.Missing = "03" if missing == "03" else "01"
    now = utcnow()
    with context.db.read() as session:
        documents = queries.unacknowledged_documents(
            session,
            recipient,
            now=now,
            older_than_hours=hours[bucket],
            younger_than_hours=hours[bucket + 1] if bucket + 1 < len(hours) else None,
            horizon=now - UNACKED_HORIZON,
            missing=wanted,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE + 1,
        )
        entries = {entry.code: entry for entry in queries.directory_entries(session)}
    return render(
        request,
        context,
        "unacknowledged_documents.html",
        {
            "recipient": recipient,
            "agency": entries.get(recipient),
            "agencies": entries,
            "documents": documents[:PAGE_SIZE],
            "more": len(documents) > PAGE_SIZE,
            "page_number": page,
            "bucket": bucket,
            "hours": hours,
            "missing": wanted,
        },
        page="unacknowledged",
    )


# -- peers ---------------------------------------------------------------------------------


@router.get("/peers")
def peers(request: Request, context: ContextDep, identity: ViewerDep) -> Response:
    """Attempts per peer over the last day (breaker state as the attempts show it), and the
    national axis link."""
    stats = context.stats.peers()
    return render(
        request,
        context,
        "peers.html",
        {
            "stats": stats,
            "threshold": context.settings.peers.breaker_threshold,
            "axis_configured": context.settings.axis.configured,
        },
        page="peers",
    )
