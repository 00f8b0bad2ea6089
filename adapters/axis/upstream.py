"""The national axis as the hub's :class:`~hub.axis.upstream.Upstream`, and the choice of
implementation by configuration.

The hub forwards packets addressed outside the city upstream and polls upstream for packets
addressed to its agencies. The national axis (VXP) is one upstream; a provincial platform
(LGSP) or a peer lienthong hub is another module implementing the same calls with the
same values (:mod:`hub.axis.models`) and the same errors (:mod:`hub.axis.errors`).
The hub depends on this interface only; :func:`open_upstream` picks the implementation from
the configuration's ``kind``.

Receive loop (one per message type): ``list_received`` → ``fetch`` → store durably →
``acknowledge(ref, "done")``, or ``"fail"`` for a packet that cannot be read.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.axis.client import AxisClient, AxisConfig
from hub.axis.models import AckStatus, AxisAgency, MessageType, ReceivedItem, SendResult, SentItem
from hub.axis.upstream import Upstream

__all__ = ["UpstreamConfig", "VxpUpstream", "open_upstream"]

UpstreamConfig = AxisConfig
"""The configuration of an upstream; a discriminated union on ``kind`` once there are more."""


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

    def list_sent(self, kind: MessageType | None = None) -> list[SentItem]:
        """``getSentEdocList``."""
        return self.client.get_sent_edoc_list(kind)

    def list_agencies(self) -> list[AxisAgency]:
        """``getAgenciesList``."""
        return self.client.get_agencies_list()

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def open_upstream(config: UpstreamConfig) -> Upstream:
    """The upstream ``config`` describes (no connection is opened before the first call)."""
    return VxpUpstream(AxisClient(config))
