"""Posting packets, and following them: one packet, one document's timeline."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from hub.api.context import AgencyDep, CallerDep, ContextDep
from hub.api.uploads import packet_body
from hub.errors import HubError
from hub.ingest.service import DeliveryReceipt, PacketKind, Source
from hub.tracking.timeline import PacketView, Timeline, document_timeline, packet_view

__all__ = ["PacketAccepted", "router"]

router = APIRouter(prefix="/api/v1", tags=["packets"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "not a valid edXML packet (unsafe, malformed, schema or rule broken)"},
    401: {"description": "missing, unknown or revoked token"},
    403: {"description": "From/OrganId is not the token's agency nor one it may send for"},
    409: {"description": "a different new document with this sender and DocumentId exists"},
    408: {"description": "the body stopped arriving (LIENTHONG_BODY_IDLE_TIMEOUT)"},
    413: {"description": "larger than LIENTHONG_MAX_PACKET_BYTES"},
    422: {"description": "a recipient is unknown to the directory or inactive"},
    429: {"description": "your agency has its share of uploads under way: see Retry-After"},
    503: {"description": "the hub has all the uploads it takes under way: see Retry-After"},
}


class PacketAccepted(BaseModel):
    """The answer to a posted packet: its tracking id and one delivery per recipient."""

    model_config = ConfigDict(frozen=True)

    packet_id: str
    kind: PacketKind
    document_id: str
    deliveries: list[DeliveryReceipt]


@router.post(
    "/packets",
    status_code=202,
    response_model=PacketAccepted,
    summary="Post an edXML packet (raw bytes)",
    responses={200: {"description": "the same bytes again: the first answer"}, **_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def post_packet(
    request: Request, response: Response, agency: AgencyDep, context: ContextDep
) -> PacketAccepted:
    """Accept a document or status packet; 202 with its tracking ids, 200 for a repeat."""
    metrics = context.metrics
    started = time.perf_counter()
    try:
        limit = context.settings.ingest.max_packet_bytes
        source: Source = "hub" if agency.peer_hub else "api"
        with context.uploads.admit(agency.code):
            async with packet_body(request, limit) as raw:
                result = await run_in_threadpool(context.ingest.accept, raw, agency, source=source)
    except HubError as exc:
        metrics.ingest_rejections.labels(code=exc.code).inc()
        raise
    finally:
        metrics.ingest_latency.observe(time.perf_counter() - started)
    if result.created:
        metrics.packets_accepted.labels(kind=result.kind).inc()
    response.status_code = 202 if result.created else 200
    return PacketAccepted(
        packet_id=result.packet_id,
        kind=result.kind,
        document_id=result.document_id,
        deliveries=result.deliveries,
    )


@router.get(
    "/packets/{packet_id}",
    response_model=PacketView,
    summary="One packet and its deliveries",
    responses={404: {"description": "no such packet, or you are not a party to it"}},
)
def get_packet(packet_id: str, caller: CallerDep, context: ContextDep) -> PacketView:
    """A packet's facts and each delivery's transport state with its attempts."""
    with context.database.transaction() as session:
        return packet_view(session, caller, packet_id)


@router.get(
    "/documents/{document_id:path}/timeline",
    response_model=Timeline,
    summary="A document's timeline (DocumentId URL-encoded: '/' as %2F, ',' as %2C)",
    responses={
        404: {"description": "no such document, or you are not a party to it"},
        409: {"description": "several senders used this DocumentId: add ?sender="},
    },
)
def get_timeline(
    document_id: str,
    caller: CallerDep,
    context: ContextDep,
    sender: str | None = Query(default=None, description="the document's sender code"),
) -> Timeline:
    """Every recipient's transport and business state, and every status received."""
    with context.database.transaction() as session:
        return document_timeline(session, caller, document_id, sender)
