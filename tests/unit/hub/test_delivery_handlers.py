"""Channel handlers: the pull inbox, the VXP endpoint's channel, and channels this deployment
has no adapter for."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import pytest

from hub.channels import Channel, vxp
from hub.channels.base import DeliveryJob, HandlerRegistry, delivery_headers
from hub.channels.inbox import InboxHandler
from hub.channels.registry import ChannelResources
from hub.db.models import DeliveryState
from hub.errors import TransientDeliveryError

JOB = DeliveryJob(
    delivery_id="D1",
    packet_id="P1",
    recipient="000.00.00.G22",
    channel=Channel.AXIS,
    blob="ab" * 32,
    kind="status",
    attempt=3,
    settings={},
)


def test_an_inbox_delivery_becomes_available_without_any_push() -> None:
    handler = InboxHandler()

    assert handler.deliver(JOB, b"").state is DeliveryState.AVAILABLE
    assert handler.peer(JOB) is None


def test_a_vxp_delivery_becomes_available_for_the_system_to_list() -> None:
    handler = vxp.build(cast(ChannelResources, None))

    assert handler.deliver(replace(JOB, channel=Channel.VXP), b"").state is DeliveryState.AVAILABLE
    assert vxp.peer_label("000.00.00.H41", {}) == "vxp"


def test_a_channel_without_adapter_fails_transiently_with_a_clear_error() -> None:
    registry = HandlerRegistry({Channel.INBOX: InboxHandler()})

    with pytest.raises(TransientDeliveryError, match="no adapter configured for channel axis") as e:
        registry.get(Channel.AXIS).deliver(JOB, b"")

    assert e.value.code == "delivery.no_adapter"
    assert registry.missing == tuple(channel for channel in Channel if channel is not Channel.INBOX)


def test_pushed_packets_carry_the_delivery_headers() -> None:
    assert delivery_headers(JOB, 1_700_000_000) == {
        "X-Lienthong-Delivery-Id": "D1",
        "X-Lienthong-Packet-Id": "P1",
        "X-Lienthong-Kind": "status",
        "X-Lienthong-Attempt": "3",
        "X-Lienthong-Timestamp": "1700000000",
    }
