"""What the hub needs from whatever stands above the city: the :class:`Upstream` interface.

The hub forwards packets addressed outside the city upstream and polls upstream for packets
addressed to its agencies. The national axis (VXP) is one upstream; a provincial platform
(LGSP) or a peer lienthong hub is another module implementing the same five calls with the
same values (:mod:`adapters.axis.models`) and the same errors (:mod:`adapters.axis.errors`).
The hub depends on this interface only; :func:`open_upstream` picks the implementation from
the configuration's ``kind``.

Receive loop (one per message type): ``list_received`` → ``fetch`` → store durably →
``acknowledge(ref, "done")``, or ``"fail"`` for a packet that cannot be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from adapters.axis.client import AxisClient, AxisConfig
from adapters.axis.models import AckStatus, AxisAgency, MessageType, ReceivedItem, SendResult

__all__ = ["Upstream", "UpstreamConfig", "VxpUpstream", "open_upstream"]

UpstreamConfig = AxisConfig
"""The configuration of an upstream; a discriminated union on ``kind`` once there are more."""


@runtime_checkable
class Upstream(Protocol):
    """A peer above the hub that takes packets and holds packets for the hub's agencies.

    Every call raises :class:`~adapters.axis.errors.AxisTransientError` (retry later) or
    :class:`~adapters.axis.errors.AxisPermanentError` (it will fail again as it is).
    """

    @property
    def name(self) -> str:
        """A short label for logs and metrics, e.g. ``vxp:hanoi.hub``."""
        ...

    def send(
        self,
        data: bytes,
        *,
        kind: MessageType,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        """Hand over a packet (exact bytes); the upstream's reference for it back."""
        ...

    def list_received(self, kind: MessageType) -> list[ReceivedItem]:
        """The packets of ``kind`` waiting for the hub."""
        ...

    def fetch(self, ref: str) -> bytes:
        """The bytes of one waiting packet."""
        ...

    def acknowledge(self, ref: str, outcome: AckStatus) -> None:
        """Tell the upstream what became of a fetched packet."""
        ...

    def list_agencies(self) -> list[AxisAgency]:
        """The agencies reachable through the upstream."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class VxpUpstream:
    """The national axis (VXP) as an :class:`Upstream`."""

    def __init__(self, client: AxisClient) -> None:
        self.client = client

    @property
    def name(self) -> str:
        """``vxp:<system id>``."""
        return f"vxp:{self.client.config.system_id}"

    def send(
        self,
        data: bytes,
        *,
        kind: MessageType,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        """``sendEdoc``."""
        return self.client.send_edoc(data, message_type=kind, to=recipients, sender=sender)

    def list_received(self, kind: MessageType) -> list[ReceivedItem]:
        """``getReceivedEdocList``."""
        return self.client.get_received_edoc_list(kind)

    def fetch(self, ref: str) -> bytes:
        """``getEdoc``."""
        return self.client.get_edoc(ref)

    def acknowledge(self, ref: str, outcome: AckStatus) -> None:
        """``updateStatus``."""
        self.client.update_status(ref, outcome)

    def list_agencies(self) -> list[AxisAgency]:
        """``getAgenciesList``."""
        return self.client.get_agencies_list()

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def open_upstream(config: UpstreamConfig) -> Upstream:
    """The upstream ``config`` describes (no connection is opened before the first call)."""
    return VxpUpstream(AxisClient(config))
