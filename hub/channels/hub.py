"""The ``hub`` channel: packets for agencies served by another lienthong hub.

A peer hub is reached through its own agency API: the packet is posted, byte for byte, to
``<url>/api/v1/packets`` with the bearer token the peer issued to this hub (channel settings
``url`` and ``token``). The peer knows this hub as an agency on its ``hub`` channel, so it
takes the post as coming from a hub: it trusts it for senders outside its own city and makes
deliveries only to its own agencies among the recipients.

A packet addressed to several agencies of one peer is posted once per delivery; the peer
answers repeats of the same bytes with its first answer (200) and creates nothing new, so
each delivery is settled by the same acceptance. The answer's ``packet_id`` is kept as the
delivery's external reference. Statuses as for webhooks: 2xx delivered; 408, 425, 429, 5xx,
timeouts and connection failures transient; other answers permanent, with the peer's error
code and message (a 401 means the token is wrong or revoked).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from hub.channels.base import DeliveryJob, HandOver, delivery_headers
from hub.channels.webhook import body_chunks, classify_status, http_failures, origin
from hub.db.models import DeliveryState
from hub.errors import PermanentDeliveryError

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources

__all__ = ["PeerHubHandler", "build", "peer_label"]

_ANSWER_BYTES = 64 * 1024


def build(resources: ChannelResources) -> PeerHubHandler:
    """The channel's handler, on the worker's shared HTTP client."""
    return PeerHubHandler(resources.http)


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: every peer hub under one name."""
    return "hub"


class PeerHubHandler:
    """Posts packets to peer hubs' agency APIs; the breaker key is the peer's origin."""

    needs_payload = True

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def peer(self, job: DeliveryJob) -> str | None:
        try:
            return origin(self._base(job))
        except PermanentDeliveryError:
            return None

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        url = self._base(job).rstrip("/") + "/api/v1/packets"
        token = job.settings.get("token")
        if not isinstance(token, str) or not token:
            raise PermanentDeliveryError(
                f"agency {job.recipient} is behind a peer hub but has no 'token' in its "
                "channel settings (the API token the peer hub issued to this hub)",
                code="delivery.peer_hub_settings",
            )
        headers = delivery_headers(job, 0)
        headers.pop("X-Lienthong-Timestamp", None)
        headers["Authorization"] = f"Bearer {token}"
        headers["Content-Type"] = "application/xml"
        headers["Content-Length"] = str(len(payload))
        with (
            http_failures("peer hub", url, "delivery.peer_hub"),
            self._client.stream(
                "POST", url, content=body_chunks(payload), headers=headers
            ) as response,
        ):
            body = _read_answer(response)
            status = response.status_code
        answer = _json(body)
        if not 200 <= status < 300:
            found = answer.get("error")
            error: dict[str, object] = found if isinstance(found, dict) else {}
            detail = (
                " ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
                or " ".join(body.decode("utf-8", errors="replace").split())[:300]
            )
            classify_status(status, retry_after=None, snippet=f"peer hub: {detail}")
        packet_id = answer.get("packet_id")
        return HandOver(
            DeliveryState.DELIVERED,
            http_status=status,
            external_ref=packet_id if isinstance(packet_id, str) else None,
        )

    @staticmethod
    def _base(job: DeliveryJob) -> str:
        url = job.settings.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PermanentDeliveryError(
                f"agency {job.recipient} is behind a peer hub but has no base URL (channel "
                f"setting 'url', http:// or https://): {url!r}",
                code="delivery.peer_hub_settings",
            )
        return url

    def close(self) -> None:
        return None


def _read_answer(response: httpx.Response) -> bytes:
    kept = b""
    for chunk in response.iter_bytes():
        if len(kept) < _ANSWER_BYTES:
            kept += chunk[: _ANSWER_BYTES - len(kept)]
    return kept


def _json(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
