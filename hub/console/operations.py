"""Failures (parked and expired deliveries) and their replay, and the audit log.

Replays go through :func:`hub.transport.replay.replay`, exactly like ``lienthong replay`` and
``POST /api/v1/replays``: same delivery ids, a new outbox row each, one audit entry naming
the console user as the actor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels import Channel
from hub.console import queries
from hub.console.figures import LOCAL_TZ
from hub.console.web import (
    PAGE_SIZE,
    ConsoleError,
    ContextDep,
    OperatorFormDep,
    ViewerDep,
    redirect,
    render,
)
from hub.db.models import Delivery, DeliveryState
from hub.records import audit
from hub.transport.replay import MAX_REPLAY, ReplayFilter, ReplayReport, replay

__all__ = ["router"]

router = APIRouter()
_log = structlog.get_logger(__name__)
_CHANNELS = tuple(channel.value for channel in Channel)


def _state(value: str) -> Literal["parked", "expired"]:
    if value not in ("parked", "expired"):
        raise ConsoleError(400, "error.failure_state", value=value)
    return "parked" if value == "parked" else "expired"


def _since(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConsoleError(400, "error.date", value=value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a moment at the very start or end of the calendar
        raise ConsoleError(400, "error.date", value=value) from None


def _failures(
    request: Request,
    context: ContextDep,
    *,
    state: str,
    recipient: str,
    channel: str,
    since: str,
    cursor: str = "",
    report: ReplayReport | None = None,
    reason: str = "",
    chosen: list[str] | None = None,
    status: int = 200,
    reason_missing: bool = False,
) -> Response:
    if channel and channel not in _CHANNELS:
        raise ConsoleError(400, "error.channel", value=channel)
    with context.db.read() as session:
        page = queries.failure_page(
            session,
            _state(state),
            recipient=recipient,
            channel=channel,
            since=_since(since),
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
        names = {entry.code: entry.name for entry in queries.directory_entries(session)}
    return render(
        request,
        context,
        "failures.html",
        {
            "page": page,
            "state": state,
            "recipient": recipient,
            "channel": channel,
            "since": since,
            "channels": _CHANNELS,
            "names": names,
            "report": report,
            "reason": reason,
            "chosen": set(chosen or ()),
            "replayed": request.query_params.get("replayed", ""),
            "audit_entry": request.query_params.get("audit", ""),
            "max_replay": MAX_REPLAY,
            "reason_missing": reason_missing,
        },
        status=status,
        page="failures",
    )


@router.get("/failures")
def failures(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    state: str = "parked",
    recipient: str = "",
    channel: str = "",
    since: str = "",
    cursor: str = "",
) -> Response:
    """Parked or expired deliveries with their last error and attempts, newest first."""
    return _failures(
        request,
        context,
        state=state,
        recipient=recipient,
        channel=channel,
        since=since,
        cursor=cursor,
    )


@router.post("/failures/replay")
def replay_failures(
    request: Request,
    context: ContextDep,
    identity: OperatorFormDep,
    state: Annotated[str, Form()] = "parked",
    recipient: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    delivery_id: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
    action: Annotated[str, Form()] = "dry-run",
) -> Response:
    """Dry run (what would be replayed) or replay: the deliveries ticked, or else every one
    the filter selects (operators and admins)."""
    chosen_state = _state(state)
    dry_run = action != "replay"
    ids = [value for value in (delivery_id or []) if value][:MAX_REPLAY]
    moment = _since(since)
    if not ids and channel:
        with context.db.read() as session:
            ids = _filtered_ids(session, chosen_state, recipient, channel, moment)
        if not ids:
            ids = ["-"]  # nothing matches: select nothing rather than every channel
    selection = ReplayFilter(
        state=chosen_state,
        recipient=recipient.strip() or None,
        since=moment,
        delivery_ids=tuple(ids),
    )
    if not dry_run and not reason.strip():
        return _failures(
            request,
            context,
            state=state,
            recipient=recipient,
            channel=channel,
            since=since,
            reason=reason,
            chosen=ids,
            report=None,
            status=422,
            reason_missing=True,
        )
    with context.db.database.transaction(commit=not dry_run) as session:
        report = replay(
            session, selection, actor=identity.actor, reason=reason.strip(), dry_run=dry_run
        )
    if dry_run:
        return _failures(
            request,
            context,
            state=state,
            recipient=recipient,
            channel=channel,
            since=since,
            report=report,
            reason=reason,
            chosen=[item.delivery_id for item in report.deliveries],
        )
    context.stats.cache.clear()
    _log.info(
        "console.replayed",
        user=identity.name,
        count=len(report.deliveries),
        audit_entry=report.audit_entry_id,
    )
    base = str(request.scope.get("root_path", "")).rstrip("/")
    return redirect(
        f"{base}/failures?state={chosen_state}&replayed={len(report.deliveries)}"
        f"&audit={report.audit_entry_id or ''}"
    )


def _filtered_ids(
    session: Session, state: str, recipient: str, channel: str, since: datetime | None
) -> list[str]:
    """Ids of the deliveries a filter with a channel selects (replay has no channel filter)."""
    query = (
        select(Delivery.id)
        .where(Delivery.state == DeliveryState(state), Delivery.channel == channel)
        .order_by(Delivery.updated_at, Delivery.id)
        .limit(MAX_REPLAY)
    )
    if recipient.strip():
        query = query.where(Delivery.recipient_code == recipient.strip())
    if since is not None:
        query = query.where(Delivery.updated_at >= since)
    return list(session.scalars(query))


@router.get("/audit")
def audit_log(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    action: str = "",
    actor: str = "",
    verify: str = "",
) -> Response:
    """The audit log, newest first; ``verify=1`` checks the whole hash chain."""
    result = None
    with context.db.read() as session:
        page = queries.audit_page(session, before=before, action=action, actor=actor)
        if verify:
            result = audit.verify(session)
    return render(
        request,
        context,
        "audit.html",
        {"page": page, "action": action, "actor": actor, "result": result},
        page="audit",
    )
