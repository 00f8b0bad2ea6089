"""Deliberately broken agency systems, each making one mistake integrators make."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import edxml
from adapters.webhook import signature_header
from edxml.models import StatusPacket
from simulators.agencies import Agency, PlannedAnswer, Received, Reply, WebhookEndpoint


class OwnCodeInResponseFor(Agency):
    """Puts its own code in ``ResponseFor/OrganId`` instead of the document's sender."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        return [
            replace(answer, data=self._misaddressed(answer.data))
            for answer in super().plan_answers(received)
        ]

    def _misaddressed(self, data: bytes) -> bytes:
        packet = edxml.parse(data)
        assert isinstance(packet, StatusPacket)
        about = packet.header.response_for.model_copy(update={"organ_id": self.code})
        header = packet.header.model_copy(update={"response_for": about})
        return edxml.build(packet.model_copy(update={"header": header}))


class NoDeduplication(Agency):
    """Takes every offer as new, so a redelivered packet is answered a second time."""

    def take(self, received: Received) -> bool:
        super().take(received)
        return True


class AnySignature(WebhookEndpoint):
    """Accepts any signature and any timestamp (it re-signs each request before checking)."""

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[Reply, Received | None]:
        now = str(int(time.time()))
        forged = {
            **headers,
            "x-lienthong-timestamp": now,
            "x-lienthong-signature": signature_header(self.secrets, now, body),
        }
        return super().handle(forged, body)
