"""The directory's dated changes over HTTP (operators): record them, preview them, list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from hub.api.context import ContextDep, OperatorDep
from hub.api.uploads import read_body
from hub.directory import parse_changes
from hub.directory.reorganise import ChangeReport, ChangeView, list_changes, record_changes

__all__ = ["MAX_CHANGE_FILE_BYTES", "router"]

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])

MAX_CHANGE_FILE_BYTES = 8 << 20
"""Largest change file the API takes (a city's whole reorganisation is far smaller)."""


@router.post(
    "/changes",
    response_model=ChangeReport,
    summary="Record dated directory changes from a YAML or CSV file (operators)",
    responses={
        403: {"description": "not an operator token"},
        422: {"description": "the file or a change is invalid; every problem is listed"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_changes(
    request: Request,
    operator: OperatorDep,
    context: ContextDep,
    dry_run: Annotated[bool, Query(description="check and preview; record nothing")] = False,
    source: Annotated[str, Query(max_length=255, description="the file's name")] = "<api>",
) -> ChangeReport:
    """The changes recorded (or, dry run, what they would do), with the deliveries on their
    way that they move; changes already in effect are applied at once."""
    raw = await read_body(request, MAX_CHANGE_FILE_BYTES)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    changes = parse_changes(bytes(raw), "csv" if kind == "text/csv" else "yaml", source=source)

    def record() -> ChangeReport:
        with context.database.transaction(commit=not dry_run) as session:
            return record_changes(session, changes, actor=operator.actor, dry_run=dry_run)

    return await run_in_threadpool(record)


@router.get(
    "/changes",
    response_model=list[ChangeView],
    summary="The recorded directory changes, latest first (operators)",
    responses={403: {"description": "not an operator token"}},
)
def get_changes(
    operator: OperatorDep, context: ContextDep, code: str | None = None
) -> list[ChangeView]:
    """Every recorded change (those touching ``code`` when given)."""
    with context.database.transaction(commit=False) as session:
        return list_changes(session, code=code)
