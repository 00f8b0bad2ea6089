"""The national document interchange axis (VXP): a client, and the upstream interface.

- :mod:`adapters.axis.protocol` — the wire: operations, signed headers, lenient answers, and
  :class:`ProtocolOptions`, every choice the official SDK's wire leaves open (docs/vxp-sdk.md);
- :mod:`adapters.axis.javaorder` — the Java ``HashMap`` order the SDK signs its headers in;
- :mod:`adapters.axis.client` — :class:`AxisClient`, one system's account at a node;
- :mod:`adapters.axis.upstream` — :class:`Upstream`, what the hub depends on;
- :mod:`hub.axis.errors` — the exception tree; :mod:`hub.axis.delivery_errors` maps it
  onto the hub's delivery errors.
"""

from __future__ import annotations

from adapters.axis.client import AxisClient, AxisConfig
from adapters.axis.protocol import ErrorCode, Operation, ProtocolOptions
from adapters.axis.upstream import UpstreamConfig, VxpUpstream, open_upstream
from hub.axis.errors import (
    AxisAuthError,
    AxisBusyError,
    AxisError,
    AxisPermanentError,
    AxisProtocolError,
    AxisRefusedError,
    AxisTransientError,
    AxisUnavailableError,
    AxisUnknownFailureError,
)
from hub.axis.models import (
    AckStatus,
    AxisAgency,
    MessageType,
    ReceivedItem,
    SendResult,
    SentItem,
)
from hub.axis.upstream import Upstream

__all__ = [
    "AckStatus",
    "AxisAgency",
    "AxisAuthError",
    "AxisBusyError",
    "AxisClient",
    "AxisConfig",
    "AxisError",
    "AxisPermanentError",
    "AxisProtocolError",
    "AxisRefusedError",
    "AxisTransientError",
    "AxisUnavailableError",
    "AxisUnknownFailureError",
    "ErrorCode",
    "MessageType",
    "Operation",
    "ProtocolOptions",
    "ReceivedItem",
    "SendResult",
    "SentItem",
    "Upstream",
    "UpstreamConfig",
    "VxpUpstream",
    "open_upstream",
]
