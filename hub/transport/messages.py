"""The broker contract: what a delivery message says, and its headers.

A message carries ids, never the payload (claim check): the JSON body names the delivery, the
packet, the recipient, the channel and the blob key. The headers say which attempt the message
asks for and when its round began, so that a worker can tell a stale or duplicate message
from a due one without any other state:

- ``x-lienthong-attempt``: the attempt this message is for, counted over the delivery's whole
  life (replays continue the count); a worker acts on it only while the delivery has had
  exactly one attempt fewer;
- ``x-lienthong-first-attempt``: the attempt that began the current round (ingest or replay),
  so the retry schedule restarts on replay;
- ``x-lienthong-queued-at``: when the round began (ISO 8601, UTC), for the maximum age.

Parked and expired messages also carry ``x-lienthong-state``, ``x-lienthong-error`` and
``x-lienthong-error-code``. Messages are transport-neutral here: the AMQP adapter maps them
to and from pika's frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.errors import MalformedMessageError

__all__ = [
    "ATTEMPT_HEADER",
    "DEFERRALS_HEADER",
    "DELIVERY_COUNT_HEADER",
    "ERROR_CODE_HEADER",
    "ERROR_HEADER",
    "FIRST_ATTEMPT_HEADER",
    "QUEUED_AT_HEADER",
    "STATE_HEADER",
    "DeliveryMessage",
    "IncomingMessage",
    "OutgoingMessage",
    "PublishResult",
    "Round",
]

ATTEMPT_HEADER = "x-lienthong-attempt"
FIRST_ATTEMPT_HEADER = "x-lienthong-first-attempt"
QUEUED_AT_HEADER = "x-lienthong-queued-at"
STATE_HEADER = "x-lienthong-state"
ERROR_HEADER = "x-lienthong-error"
ERROR_CODE_HEADER = "x-lienthong-error-code"
DEFERRALS_HEADER = "x-lienthong-deferrals"
"""Times in a row the delivery was put back without an attempt (its peer had no free slot)."""
DELIVERY_COUNT_HEADER = "x-delivery-count"
"""Set by quorum queues: how many times the message was handed out before."""

JSON = "application/json"


class DeliveryMessage(BaseModel):
    """The body of a delivery message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    delivery_id: str
    packet_id: str
    recipient: str
    channel: str
    blob: str
    """SHA-256 of the packet bytes: their key in the blob store."""

    def encode(self) -> bytes:
        """The JSON body."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def decode(cls, body: bytes) -> DeliveryMessage:
        """Read a JSON body.

        Raises:
            MalformedMessageError: the body is not a delivery message.
        """
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise MalformedMessageError(f"not a delivery message: {exc}") from exc


@dataclass(frozen=True)
class Round:
    """Where a message stands in its delivery's retry schedule."""

    attempt: int
    first_attempt: int
    queued_at: datetime

    @property
    def number(self) -> int:
        """1 for the first attempt of the round, 2 for its first retry, and so on."""
        return self.attempt - self.first_attempt + 1

    def headers(self) -> dict[str, Any]:
        """The message headers that carry the round."""
        return {
            ATTEMPT_HEADER: self.attempt,
            FIRST_ATTEMPT_HEADER: self.first_attempt,
            QUEUED_AT_HEADER: self.queued_at.astimezone(UTC).isoformat(),
        }

    def next(self) -> Round:
        """The round as the next attempt's message carries it."""
        return Round(self.attempt + 1, self.first_attempt, self.queued_at)

    @classmethod
    def of(cls, headers: Mapping[str, Any]) -> Round:
        """Read the round from message headers.

        Raises:
            MalformedMessageError: a header is missing or unreadable.
        """
        try:
            attempt = int(headers[ATTEMPT_HEADER])
            first = int(headers.get(FIRST_ATTEMPT_HEADER, attempt))
            queued_at = datetime.fromisoformat(str(headers[QUEUED_AT_HEADER]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedMessageError(f"unreadable round headers: {exc!r}") from exc
        if queued_at.tzinfo is None:
            queued_at = queued_at.replace(tzinfo=UTC)
        if attempt < 1 or not 1 <= first <= attempt:
            raise MalformedMessageError(f"impossible attempt numbers {first}..{attempt}")
        return cls(attempt, first, queued_at)


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to publish, persistent and mandatory."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    content_type: str = JSON
    type: str | None = None
    expiration_ms: int | None = None
    """Per-message TTL; only for retry tiers."""


@dataclass(frozen=True)
class IncomingMessage:
    """A message taken from a queue, to be acknowledged by ``tag`` on the same channel."""

    body: bytes
    tag: int
    headers: Mapping[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    redelivered: bool = False
    session: int = 0
    """Which connection of the consumer received it (tags are only valid on that one)."""

    @property
    def delivery_count(self) -> int:
        """How many times the broker handed this message out before now."""
        value = self.headers.get(DELIVERY_COUNT_HEADER, 0)
        return value if isinstance(value, int) else 0


class PublishResult(StrEnum):
    """What became of one published message."""

    CONFIRMED = "confirmed"
    """The broker took responsibility for it (routed, stored, confirmed)."""
    UNROUTABLE = "unroutable"
    """No queue was bound for it: returned to the publisher, then confirmed."""
    REFUSED = "refused"
    """The broker refused it (nack)."""
    UNCONFIRMED = "unconfirmed"
    """No confirm arrived (connection lost, timeout): it may or may not be queued."""
