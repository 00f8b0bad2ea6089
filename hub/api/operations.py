"""Operating the hub over HTTP: replays (operators only), health, readiness and metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text

from hub.api.context import ContextDep, OperatorDep
from hub.api.params import PlainText
from hub.transport.replay import MAX_REPLAY, ReplayFilter, ReplayReport, replay

__all__ = ["ReplayRequest", "router"]

router = APIRouter(tags=["operations"])

_log = structlog.get_logger(__name__)


class ReplayRequest(BaseModel):
    """Which parked or expired deliveries to replay, why, and whether only to look."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["parked", "expired"]
    recipient: PlainText | None = None
    since: datetime | None = None
    delivery_ids: list[PlainText] = Field(default_factory=list, max_length=MAX_REPLAY)
    reason: PlainText = Field(default="", max_length=2000)
    dry_run: bool = False
    limit: int = Field(default=MAX_REPLAY, ge=1, le=MAX_REPLAY)

    @field_validator("since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """The moment in UTC (no zone: UTC); one at the calendar's very ends is refused."""
        if value is None:
            return None
        try:
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            raise ValueError("the moment is out of range once in UTC") from None


@router.post(
    "/api/v1/replays",
    response_model=ReplayReport,
    summary="Replay parked or expired deliveries (operators)",
    responses={
        403: {"description": "not an operator token"},
        422: {"description": "a real replay needs a reason"},
    },
)
def post_replay(body: ReplayRequest, operator: OperatorDep, context: ContextDep) -> ReplayReport:
    """Dry run: what would be replayed. Otherwise: replayed, same delivery ids, audited."""
    selection = ReplayFilter(
        state=body.state,
        recipient=body.recipient,
        since=body.since,
        delivery_ids=tuple(body.delivery_ids),
        limit=body.limit,
    )
    with context.database.transaction(commit=not body.dry_run) as session:
        return replay(
            session, selection, actor=operator.actor, reason=body.reason, dry_run=body.dry_run
        )


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and the broker are reachable",
    responses={503: {"description": "a dependency is not reachable; which one is named"}},
)
def readyz(context: ContextDep) -> JSONResponse:
    """200 when every dependency answers, 503 naming the ones that do not (the reasons, which
    name hosts and users, go to the log: anyone can call this)."""
    checks: dict[str, str] = {}
    reasons: dict[str, str] = {}
    try:
        with context.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"], reasons["database"] = _failed(exc)
    for name, check in context.ready_checks.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            checks[name], reasons[name] = _failed(exc)
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        _log.warning("api.not_ready", checks=reasons)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(context: ContextDep) -> Response:
    """Counters, the ingest latency histogram and deliveries by state."""
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _failed(exc: Exception) -> tuple[str, str]:
    """What ``/readyz`` says of a failed check, and the reason the log keeps."""
    detail = getattr(exc, "orig", None) or exc
    return f"unavailable ({type(exc).__name__})", f"{type(exc).__name__}: {detail}"
