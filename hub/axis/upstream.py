"""What the hub needs from whatever stands above the city: the :class:`Upstream` interface.

The hub forwards packets addressed outside the city upstream and polls upstream for packets
addressed to its agencies. The national axis (VXP, ``adapters/axis``) is one upstream; a
provincial platform (LGSP) or a peer lienthong hub would be another module implementing the
same calls with the same values (:mod:`hub.axis.models`) and the same errors
(:mod:`hub.axis.errors`). The composition root picks the implementation.

Receive loop (one per message type): ``list_received`` → ``fetch`` → store durably →
``acknowledge(ref, "done")``, or ``"fail"`` for a packet that cannot be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hub.axis.models import AckStatus, AxisAgency, MessageType, ReceivedItem, SendResult, SentItem

__all__ = ["Upstream"]


@runtime_checkable
class Upstream(Protocol):
    """A peer above the hub that takes packets and holds packets for the hub's agencies.

    Every call raises :class:`~hub.axis.errors.AxisTransientError` (retry later) or
    :class:`~hub.axis.errors.AxisPermanentError` (it will fail again as it is).
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

    def list_sent(self, kind: MessageType | None = None) -> list[SentItem]:
        """Each receiver of what the hub sent (of ``kind``, or every kind), as the upstream
        reports it: what :mod:`hub.axis.reconcile` compares with the hub's deliveries."""
        ...

    def list_agencies(self) -> list[AxisAgency]:
        """The agencies reachable through the upstream."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
