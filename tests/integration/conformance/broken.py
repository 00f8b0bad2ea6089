"""Deliberately broken agency systems, each making one mistake integrators make."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import edxml
from edxml.models import DocumentPacket, ResponseFor, StatusPacket
from hub.channels.webhook import signature_header
from simulators.agencies import (
    Accepted,
    Agency,
    HubClient,
    PlannedAnswer,
    Received,
    Reply,
    SdkInbox,
    SdkSender,
    SdkSendError,
    WebhookEndpoint,
)


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


def _restated(data: bytes, about: ResponseFor | None = None, **header: object) -> bytes:
    """A status packet with its ResponseFor and header fields changed."""
    packet = edxml.parse(data)
    assert isinstance(packet, StatusPacket)
    changes: dict[str, object] = dict(header)
    if about is not None:
        changes["response_for"] = about
    return edxml.build(
        packet.model_copy(update={"header": packet.header.model_copy(update=changes)})
    )


def _is_take_back(received: Received) -> bool:
    packet = received.packet()
    return isinstance(packet, StatusPacket) and packet.header.status_code == "13"


def _replaced_id(received: Received) -> str | None:
    """The DocumentId a replacing document (business type 3) replaces; None for others."""
    packet = received.packet()
    if not isinstance(packet, DocumentPacket) or packet.business_type != 3:
        return None
    business = packet.trace.business if packet.trace else None
    return business.replacements[0].document_id if business and business.replacements else None


class IgnoresTakeBack(Agency):
    """Takes every incoming status for an answer to its own documents: a take-back (13) is
    kept and never answered."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        return [] if _is_take_back(received) else super().plan_answers(received)


class TakeBackAsRevoke(Agency):
    """Answers a take-back (13) as it answers a revoke, 03, instead of 15 or 16."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        answers = super().plan_answers(received)
        if not _is_take_back(received):
            return answers
        return [
            replace(
                answer,
                code="03",
                data=_restated(answer.data, status_code="03", description="Đồng ý thu hồi"),
            )
            for answer in answers
        ]


class EdocOnlyInbox(HubClient):
    """Lists only the document deliveries of its inbox (``kind=edoc``), so a take-back, which
    comes as a status delivery, is never fetched."""

    def inbox(self, *, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return super().inbox(kind="edoc", limit=limit)


class ReplacementUnderOldId(Agency):
    """Files a replacing document (type 3) as a new version of the one it replaces and
    answers it with that document's ResponseFor (its DocumentId, Code and date)."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        answers = super().plan_answers(received)
        old_id = _replaced_id(received)
        if old_id is None:
            return answers
        old = next(
            packet
            for item in self.received
            if isinstance(packet := item.packet(), DocumentPacket) and packet.document_id == old_id
        )
        about = edxml.status_for(old, "01", reporter=self.code).header.response_for
        return [
            replace(answer, about=old_id, data=_restated(answer.data, about)) for answer in answers
        ]


class ReplacementAsUpdate(Agency):
    """Answers a replacing document (type 3) as it answers an update: 15, and nothing else."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        answers = super().plan_answers(received)
        if _replaced_id(received) is None:
            return answers
        return [
            replace(
                answer,
                code="15",
                data=_restated(answer.data, status_code="15", description="Đồng ý cập nhật"),
            )
            for answer in answers[:1]
        ]


DEPARTMENT = "001.05.12.H26"
"""A unit under the ward committee (level 4), whose clerks assign and process documents."""


class ProgressFromTheDepartment(Agency):
    """Posts 04 and 05 with the code of the department that handles the document in
    ``From/OrganId``, not the agency's own."""

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        return [
            replace(answer, data=self._from_department(answer.data))
            if answer.code in ("04", "05")
            else answer
            for answer in super().plan_answers(received)
        ]

    def _from_department(self, data: bytes) -> bytes:
        packet = edxml.parse(data)
        assert isinstance(packet, StatusPacket)
        reporter = packet.header.from_.model_copy(update={"organ_id": DEPARTMENT})
        return _restated(data, from_=reporter)


class AcksUnreadableDone(SdkInbox):
    """An SDK system that acknowledges done whatever it fetched, readable or not."""

    @staticmethod
    def _readable(data: bytes) -> bool:
        return True


class StatusesAsDocuments(SdkSender):
    """An SDK system that sends every packet with messagetype edoc, statuses included."""

    def post_packet(self, data: bytes) -> Accepted:
        sent = self.sdk.send_edoc(data, sender=self.code, message_type="edoc")
        if sent is None or not sent.ok:
            raise SdkSendError(
                f"sendEdoc refused: {sent.error_code if sent else self.sdk.last_error}",
                status=400,
                error_code=sent.error_code if sent else None,
            )
        return Accepted(sent.doc_id, "status", "", (), True)
