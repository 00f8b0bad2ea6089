"""The agency's pull inbox over HTTP: list, fetch the raw packet, acknowledge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from hub.api.context import AgencyDep, ContextDep
from hub.api.params import PlainText
from hub.channels.inbox import AckResult, InboxItem, acknowledge, list_inbox, open_delivery
from hub.db.models import Packet
from hub.errors import PayloadPurgedError, StorageError
from hub.payloads import BlobStoreError

__all__ = ["AckRequest", "router"]

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])

_CHUNK = 1 << 20
_NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no delivery with this id is addressed to you"}
}


class AckRequest(BaseModel):
    """The agency's verdict on a fetched packet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: Literal["done", "fail"]
    """``done``: taken into the agency's system; ``fail``: it cannot take it."""
    reason: PlainText | None = Field(default=None, max_length=2000)


@router.get("", response_model=list[InboxItem], summary="What awaits you, oldest first")
def get_inbox(
    agency: AgencyDep,
    context: ContextDep,
    kind: Literal["edoc", "status"] | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[InboxItem]:
    """Deliveries addressed to the caller that are available for fetching."""
    with context.database.transaction() as session:
        return list_inbox(session, agency.code, kind=kind, limit=limit)


@router.get(
    "/{delivery_id}",
    response_class=StreamingResponse,
    summary="The packet, byte for byte as its sender posted it",
    responses={
        200: {"content": {"application/xml": {}}},
        409: {"description": "not available yet"},
        410: {"description": "delivered long ago; its bytes were removed by retention"},
        **_NOT_YOURS,
    },
)
def fetch(delivery_id: str, agency: AgencyDep, context: ContextDep) -> StreamingResponse:
    """The raw packet; headers carry the delivery id to deduplicate on and the SHA-256."""
    with context.database.transaction() as session:
        delivery = open_delivery(session, agency.code, delivery_id)
    blobs = context.blobs
    try:
        present = blobs.exists(delivery.sha256)
    except BlobStoreError as exc:
        raise StorageError(f"the payload store failed: {exc}") from exc
    if not present:
        with context.database.transaction() as session:
            purged = session.scalar(
                select(Packet.payload_purged_at).where(Packet.id == delivery.packet_id)
            )
        if purged is not None:
            raise PayloadPurgedError(
                f"the bytes of packet {delivery.packet_id} were removed by the hub's retention "
                f"on {purged.isoformat()}, after every recipient had taken delivery; its "
                "record and timeline remain",
                details={"packet_id": delivery.packet_id, "purged_at": purged.isoformat()},
            )
        raise StorageError(f"the payload of packet {delivery.packet_id} is missing")

    def chunks() -> Iterator[bytes]:
        with blobs.open(delivery.sha256) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/xml",
        headers={
            "Content-Length": str(delivery.size),
            "ETag": f'"{delivery.sha256}"',
            "X-Lienthong-Delivery-Id": delivery.delivery_id,
            "X-Lienthong-Packet-Id": delivery.packet_id,
            "X-Lienthong-Kind": delivery.kind,
            "X-Lienthong-Sender": quote(delivery.sender),
            "X-Lienthong-Sha256": delivery.sha256,
        },
    )


@router.post(
    "/{delivery_id}/ack",
    response_model=AckResult,
    summary="Acknowledge a fetched packet: done or fail",
    responses={
        409: {"description": "acknowledged otherwise before, or not available"},
        **_NOT_YOURS,
    },
)
def ack(delivery_id: str, body: AckRequest, agency: AgencyDep, context: ContextDep) -> AckResult:
    """``done`` → delivered, ``fail`` → refused; the same acknowledgement again is a no-op."""
    with context.database.transaction() as session:
        return acknowledge(session, agency.code, delivery_id, body.result, body.reason)
