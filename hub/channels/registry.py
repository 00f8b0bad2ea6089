"""The registry of channels: each member of :class:`~hub.channels.Channel` is served by the
module of its name, ``hub/channels/<value>.py``.

A channel module provides ``build(resources) -> ChannelHandler | None`` (None: not configured
in this deployment, its deliveries wait with ``delivery.no_adapter``) and
``peer_label(recipient, settings) -> str`` (the peer the console shows). Adding a channel is
one new module and one member of the enum; nothing else lists channels.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

from hub.channels import Channel
from hub.channels.base import ChannelHandler, HandlerRegistry
from hub.transport.broker import AgencyQueues
from hub.transport.topology import Topology

if TYPE_CHECKING:
    from hub.axis.upstream import Upstream
    from hub.db.database import Database
    from hub.settings import Settings

__all__ = ["ChannelResources", "build_handlers", "channel_module", "peer_label"]


@dataclass(frozen=True)
class ChannelResources:
    """What the composition root hands the channels of one worker process."""

    settings: Settings
    database: Database
    topology: Topology
    http: httpx.Client
    """The pooled HTTP client of the process (webhooks, peer hubs)."""
    agency_queues: Callable[[], AgencyQueues]
    """Opens a broker connection for agencies' own queues (one per consumer thread)."""
    upstream: Upstream | None
    """The national axis, when one is configured."""


def channel_module(channel: Channel) -> ModuleType:
    """The module that serves ``channel``."""
    return importlib.import_module(f"hub.channels.{channel.value}")


def build_handlers(resources: ChannelResources) -> HandlerRegistry:
    """A handler for each channel this deployment can serve (one consumer thread's set)."""
    handlers: dict[Channel, ChannelHandler] = {}
    for channel in Channel:
        handler: ChannelHandler | None = channel_module(channel).build(resources)
        if handler is not None:
            handlers[channel] = handler
    return HandlerRegistry(handlers)


def peer_label(channel: Channel, recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer a delivery to ``recipient`` reaches, as operators see it."""
    label: str = channel_module(channel).peer_label(recipient, settings)
    return label
