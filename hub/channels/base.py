"""The channel contract: what hands one delivery over to its recipient, one kind per channel.

A handler is given a :class:`DeliveryJob` (and the packet bytes when it asks for them) and
either returns a :class:`HandOver` or raises a :class:`~hub.errors.DeliveryError` whose type
says whether retrying can help. Each channel's module (``hub/channels/<channel>.py``) builds
its handler; :mod:`hub.channels.registry` puts them in a :class:`HandlerRegistry`.

A channel with no handler (``axis`` when no axis is configured) fails each attempt
with a transient ``delivery.no_adapter`` error: deliveries wait through the retry schedule,
so a deployment that adds the adapter within it delivers them without an operator, and they
are parked with that error when it runs out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hub.channels import Channel
from hub.db.models import DeliveryState
from hub.errors import TransientDeliveryError

__all__ = [
    "ATTEMPT_HEADER",
    "DELIVERY_ID_HEADER",
    "KIND_HEADER",
    "PACKET_ID_HEADER",
    "TIMESTAMP_HEADER",
    "ChannelHandler",
    "DeliveryJob",
    "HandOver",
    "HandlerRegistry",
    "MissingHandler",
    "delivery_headers",
]

DELIVERY_ID_HEADER = "X-Lienthong-Delivery-Id"
"""Stable across retries and replays: receivers deduplicate on it."""
PACKET_ID_HEADER = "X-Lienthong-Packet-Id"
KIND_HEADER = "X-Lienthong-Kind"
ATTEMPT_HEADER = "X-Lienthong-Attempt"
TIMESTAMP_HEADER = "X-Lienthong-Timestamp"
"""Unix time in seconds when the attempt was sent."""


@dataclass(frozen=True)
class DeliveryJob:
    """One attempt at handing one packet to one recipient."""

    delivery_id: str
    packet_id: str
    recipient: str
    channel: Channel
    blob: str
    """Blob-store key (SHA-256) of the packet bytes."""
    kind: str
    """``edoc`` or ``status``."""
    attempt: int
    """The attempt number over the delivery's life, 1 for the first."""
    settings: Mapping[str, Any]
    """The recipient agency's channel settings from the directory (url, secret, ...)."""


@dataclass(frozen=True)
class HandOver:
    """A successful attempt: the state the delivery reaches, and what the peer said."""

    state: DeliveryState
    http_status: int | None = None
    external_ref: str | None = None


def delivery_headers(job: DeliveryJob, timestamp: int) -> dict[str, str]:
    """The headers every pushed packet carries (HTTP headers, or AMQP message headers)."""
    return {
        DELIVERY_ID_HEADER: job.delivery_id,
        PACKET_ID_HEADER: job.packet_id,
        KIND_HEADER: job.kind,
        ATTEMPT_HEADER: str(job.attempt),
        TIMESTAMP_HEADER: str(timestamp),
    }


class ChannelHandler(Protocol):
    """Hands deliveries over through one channel."""

    needs_payload: bool
    """Whether :meth:`deliver` must be given the packet bytes."""

    def peer(self, job: DeliveryJob) -> str | None:
        """The circuit-breaker key of the job's peer, or None when no breaker applies."""
        ...

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        """Hand the packet over.

        Raises:
            TransientDeliveryError: it may work later.
            PermanentDeliveryError: it cannot work as it is.
        """
        ...

    def close(self) -> None:
        """Release connections; called on the thread that called :meth:`deliver`."""
        ...


class MissingHandler:
    """Stands for a channel this deployment has no adapter for."""

    needs_payload = False

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def peer(self, job: DeliveryJob) -> str | None:
        return None

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        raise TransientDeliveryError(
            f"no adapter configured for channel {self.channel.value}; the delivery is "
            "retried on schedule and parked when the schedule runs out",
            code="delivery.no_adapter",
        )

    def close(self) -> None:
        return None


class HandlerRegistry:
    """The handler of each channel; channels without one get a :class:`MissingHandler`."""

    def __init__(self, handlers: Mapping[Channel, ChannelHandler]) -> None:
        self._handlers = dict(handlers)

    def get(self, channel: Channel) -> ChannelHandler:
        """The handler of ``channel``."""
        return self._handlers.get(channel) or MissingHandler(channel)

    @property
    def missing(self) -> tuple[Channel, ...]:
        """Channels no handler serves."""
        return tuple(channel for channel in Channel if channel not in self._handlers)

    def handlers(self) -> Iterable[ChannelHandler]:
        """Every configured handler."""
        return tuple(self._handlers.values())

    def close(self) -> None:
        """Close every handler."""
        for handler in self._handlers.values():
            handler.close()
