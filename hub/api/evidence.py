"""Evidence receipts over HTTP: the signed record of a packet's sending and delivery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from hub.api.context import CallerDep, ContextDep
from hub.errors import ConfigurationError
from hub.evidence.export import export_receipt
from hub.tracking.timeline import packet_view

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["evidence"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {}}, "description": "the receipt, XML-signed"},
    404: {"description": "no such packet, you are not a party to it, or it has no evidence"},
    500: {"description": "evidence.not-configured: the hub has no evidence signing key"},
}


@router.get(
    "/packets/{packet_id}/evidence",
    response_class=Response,
    summary="The signed evidence receipt of a packet (sender, recipients, operators)",
    responses=_RESPONSES,
)
def get_evidence(packet_id: str, caller: CallerDep, context: ContextDep) -> Response:
    """What the hub vouches for about the packet: its submission and each copy's delivery,
    signed with the hub's key; `lienthong evidence verify` checks it offline."""
    signer = context.evidence
    if signer is None:
        raise ConfigurationError(
            "this hub has no evidence signing key (LIENTHONG_EVIDENCE_KEY_FILE)",
            code="evidence.not-configured",
        )
    with context.database.transaction() as session:
        packet_view(session, caller, packet_id)
        receipt = export_receipt(session, signer, [packet_id], subject=packet_id)
    return Response(
        receipt,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="evidence-{packet_id}.xml"'},
    )
