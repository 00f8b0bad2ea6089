"""The documents pages: search, one document's page, and its downloads (operators)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Annotated, Any, BinaryIO, cast
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

import edxml
from hub.auth.callers import AuthenticatedOperator
from hub.console import queries
from hub.console.web import (
    PAGE_SIZE,
    ConsoleError,
    ContextDep,
    OperatorDep,
    ViewerDep,
    render,
)
from hub.db.models import DeliveryState, Packet
from hub.errors import HubError, NotFoundError
from hub.payloads import BlobNotFoundError, BlobStoreError
from hub.tracking.timeline import Timeline, document_timeline

__all__ = ["RecipientTimeline", "Step", "recipient_timelines", "router"]

router = APIRouter()
_log = structlog.get_logger(__name__)

TRACE_PARSE_LIMIT = 8 * 1024 * 1024
"""Packets up to this size are read again for their trace headers on the document page."""
_CHUNK = 64 * 1024
_STATUSES = ("none", "01", "02", "03", "04", "05", "06")


_YEARS = range(1900, 9999)
"""Years a date of the search may name: the day after the last one is still a date, and its
start a moment in UTC (the years at the ends of the calendar overflow)."""


def _date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        raise ConsoleError(400, "error.date", value=text) from None
    if day is not None and day.year not in _YEARS:
        raise ConsoleError(400, "error.date", value=text)
    return day


@router.get("/documents")
def search(
    request: Request,
    context: ContextDep,
    identity: ViewerDep,
    q: str = "",
    sender: str = "",
    recipient: str = "",
    state: str = "",
    status: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    cursor: str = "",
) -> Response:
    """Documents by id, number/notation or subject (accents optional), sender, recipient,
    delivery state, business status and dates; newest first, a page at a time."""
    if state and state not in {member.value for member in DeliveryState}:
        raise ConsoleError(400, "error.state", value=state)
    if status and status not in _STATUSES:
        raise ConsoleError(400, "error.status", value=status)
    query = queries.DocumentQuery(
        text=q[:200],
        sender=sender,
        recipient=recipient,
        state=state,
        status=status,
        date_from=_date(date_from),
        date_to=_date(date_to),
    )
    with context.db.read() as session:
        page = queries.search_documents(session, query, cursor=cursor or None, limit=PAGE_SIZE)
        names = {entry.code: entry.name for entry in queries.directory_entries(session)}
    return render(
        request,
        context,
        "documents.html",
        {
            "query": query,
            "q": q,
            "date_from": date_from,
            "date_to": date_to,
            "page": page,
            "names": names,
            "states": [member.value for member in DeliveryState],
            "statuses": _STATUSES,
            "cursor": cursor,
        },
        page="documents",
    )


@dataclass(frozen=True)
class Step:
    """One moment of a recipient's timeline, on the transport or the business axis."""

    at: datetime
    axis: str
    """``transport`` or ``business``."""
    what: str
    """A message key (``step.*`` or ``status.*``)."""
    detail: str = ""
    good: bool | None = None


@dataclass(frozen=True)
class RecipientTimeline:
    """Everything that happened to one recipient's copy, in time order."""

    recipient: str
    state: str | None
    """The transport state of the document's delivery to it."""
    status: str | None
    """Its business status (01…06, 02), if it reported one."""
    change: str | None
    steps: list[Step]


def recipient_timelines(timeline: Timeline) -> list[RecipientTimeline]:
    """Per recipient of the document: transport steps and business statuses, merged."""
    documents = [view for view in timeline.packets if view.kind == "edoc"]
    order: dict[str, None] = {}
    for view in documents:
        for delivery in view.deliveries:
            order.setdefault(delivery.recipient, None)
    for state in timeline.recipients:
        order.setdefault(state.recipient, None)
    business = {state.recipient: state for state in timeline.recipients}
    result: list[RecipientTimeline] = []
    for recipient in order:
        steps: list[Step] = []
        transport_state: str | None = None
        for view in documents:
            kind = f"business.{view.business_type or 0}"
            for delivery in view.deliveries:
                if delivery.recipient != recipient:
                    continue
                transport_state = delivery.state.value
                steps.append(Step(view.received_at, "transport", "step.accepted", kind))
                for attempt in delivery.attempt_log:
                    detail = f"#{attempt.number} {attempt.outcome}"
                    if attempt.http_status:
                        detail += f" HTTP {attempt.http_status}"
                    if attempt.peer_code:
                        detail += f" ({attempt.peer_code})"
                    if attempt.error:
                        detail += f": {attempt.error}"
                    steps.append(
                        Step(
                            attempt.started_at,
                            "transport",
                            "step.attempt",
                            detail,
                            attempt.outcome in ("delivered", "available"),
                        )
                    )
                if delivery.delivered_at is not None:
                    steps.append(
                        Step(delivery.delivered_at, "transport", "step.delivered", good=True)
                    )
                if delivery.acked_at is not None:
                    steps.append(
                        Step(
                            delivery.acked_at,
                            "transport",
                            "step.acked",
                            delivery.ack_result or "",
                            delivery.ack_result == "done",
                        )
                    )
                if delivery.state in (DeliveryState.PARKED, DeliveryState.EXPIRED):
                    steps.append(
                        Step(
                            delivery.updated_at,
                            "transport",
                            f"step.{delivery.state.value}",
                            delivery.last_error or "",
                            False,
                        )
                    )
        for event in timeline.statuses:
            if event.recipient != recipient:
                continue
            detail = " — ".join(part for part in (event.description or "", event.effect) if part)
            steps.append(
                Step(
                    event.received_at,
                    "business",
                    f"status.{event.status_code}",
                    detail,
                    event.status_code != "02",
                )
            )
        answered = business.get(recipient)
        result.append(
            RecipientTimeline(
                recipient=recipient,
                state=transport_state,
                status=answered.status if answered is not None else None,
                change=(
                    f"{answered.change_request.value}: {answered.change_state.value}"
                    if answered is not None
                    and answered.change_request is not None
                    and answered.change_state is not None
                    else None
                ),
                steps=sorted(steps, key=lambda step: step.at),
            )
        )
    return result


def _packet(session: Any, packet_id: str) -> Packet:
    packet = session.get(Packet, packet_id)
    if packet is None:
        raise ConsoleError(404, "error.packet", packet_id=packet_id)
    session.expunge(packet)
    return cast(Packet, packet)


def _trace(context: ContextDep, packet: Packet) -> tuple[list[dict[str, str | None]], str]:
    """The packet's trace headers read again from its bytes, or why they are not shown."""
    if packet.size > TRACE_PARSE_LIMIT:
        return [], "trace.too_large"
    try:
        parsed = edxml.parse(context.blobs.read(packet.sha256))
    except BlobStoreError:
        return [], "trace.no_blob"
    except edxml.EdxmlError:
        return [], "trace.unreadable"
    trace = getattr(parsed, "trace", None)
    if trace is None:
        return [], "trace.none"
    return [
        {"organ_id": hop.organ_id, "timestamp": hop.timestamp} for hop in trace.trace_headers
    ], ""


@router.get("/documents/{packet_id}")
def document_page(
    request: Request, context: ContextDep, identity: ViewerDep, packet_id: str
) -> Response:
    """A packet: metadata, trace headers, XML and PDF signatures, attachments, and the
    document's timeline per recipient (transport and business)."""
    with context.db.read() as session:
        packet = _packet(session, packet_id)
        sender = packet.sender_code if packet.kind == "edoc" else packet.addressee_code
        timeline: Timeline | None = None
        try:
            timeline = document_timeline(
                session, AuthenticatedOperator("console"), packet.document_id, sender
            )
        except (NotFoundError, HubError):
            timeline = None
        names = {entry.code: entry.name for entry in queries.directory_entries(session)}
    trace, trace_note = _trace(context, packet)
    return render(
        request,
        context,
        "document.html",
        {
            "packet": packet,
            "timeline": timeline,
            "recipients": recipient_timelines(timeline) if timeline is not None else [],
            "names": names,
            "trace": trace,
            "trace_note": trace_note,
            "attachments": list((packet.summary or {}).get("attachments") or []),
            "pdf": packet.pdf_report or {},
        },
        page="documents",
    )


class _Kept:
    """A file the reader writes an attachment to and closes, while the bytes stay readable."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target

    def write(self, data: bytes) -> int:
        return self._target.write(data)

    def close(self) -> None:
        self._target.flush()


def _filename_header(name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@router.get("/documents/{packet_id}/raw")
def raw_packet(
    request: Request, context: ContextDep, identity: OperatorDep, packet_id: str
) -> Response:
    """The packet's bytes exactly as received (operators and admins)."""
    with context.db.read() as session:
        packet = _packet(session, packet_id)
    if not context.blobs.exists(packet.sha256):
        raise ConsoleError(404, "error.blob", packet_id=packet_id)

    def chunks() -> Iterator[bytes]:
        with context.blobs.open(packet.sha256) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    _log.info("console.download", user=identity.name, packet_id=packet_id, what="packet")
    return StreamingResponse(
        chunks(),
        media_type="application/xml",
        headers={
            "Content-Disposition": _filename_header(f"{packet.id}.edxml"),
            "Content-Length": str(packet.size),
        },
    )


@router.get("/documents/{packet_id}/attachments/{index}")
def attachment(
    request: Request, context: ContextDep, identity: OperatorDep, packet_id: str, index: int
) -> Response:
    """One attachment's decoded bytes (operators and admins), read out of the packet."""
    with context.db.read() as session:
        packet = _packet(session, packet_id)
    listed = list((packet.summary or {}).get("attachments") or [])
    if not 0 <= index < len(listed):
        raise ConsoleError(404, "error.attachment", index=index)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    def opener(position: int, name: str | None) -> BinaryIO | None:
        return cast(BinaryIO, _Kept(spool)) if position == index else None

    try:
        with context.blobs.open(packet.sha256) as handle:
            edxml.read(handle, opener=opener)
    except BlobNotFoundError as exc:
        spool.close()
        raise ConsoleError(404, "error.blob", packet_id=packet_id) from exc
    except (BlobStoreError, edxml.EdxmlError) as exc:
        spool.close()
        raise ConsoleError(500, "error.attachment_read", detail=str(exc)) from exc
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := spool.read(_CHUNK):
                yield chunk
        finally:
            spool.close()

    name = str(listed[index].get("name") or f"attachment-{index + 1}")
    _log.info("console.download", user=identity.name, packet_id=packet_id, attachment=index)
    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": _filename_header(name), "Content-Length": str(size)},
    )
