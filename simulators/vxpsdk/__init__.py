"""An emulation of the official VXP client SDK on the wire, written from AXIS-SDK.md.

It is the reference for "what an agency's document system sends to the axis": point
:class:`VxpSdk` at any VXP endpoint (the simulated axis, the hub's own VXP endpoint) and it
sends exactly what an integrator's SDK object would, then reads the answer the way the SDK
reads it, returning None wherever the SDK would hand its caller ``null``::

    with VxpSdk("http://127.0.0.1:8600", "vpcp", secret) as sdk:
        sent = sdk.send_edoc(packet_bytes, sender="000.00.00.G22", to=["000.00.00.H26"])
        listed = sdk.get_received_edoc_list("edoc")

- :mod:`simulators.vxpsdk.service` — :class:`VxpSdk`, one service object, and the SDK's formats;
- :mod:`simulators.vxpsdk.javamap` — the header map, a ``java.util.HashMap`` played step by step;
- :mod:`simulators.vxpsdk.gson` — JSON written and read as the SDK's gson does;
- :mod:`simulators.vxpsdk.answers` — the typed results, read field by field with
  ``getAsString()``.

Nothing here is shared with :mod:`adapters.axis`: the emulator is an independent statement of
the SDK's behaviour, against which the hub's client and endpoints are checked.
"""

from __future__ import annotations

from simulators.vxpsdk.answers import (
    SdkAgency,
    SdkAgencyList,
    SdkEdoc,
    SdkReceivedEdoc,
    SdkReceivedList,
    SdkResult,
    SdkSendResult,
    SdkSentEdoc,
    SdkSentList,
)
from simulators.vxpsdk.gson import GsonReadError
from simulators.vxpsdk.javamap import JavaHashMap, java_string_hash
from simulators.vxpsdk.service import (
    HEADER_PREFIX,
    SDK_USER_AGENT,
    SDK_VERSION,
    VIETNAM,
    DocIdKey,
    Exchange,
    VxpSdk,
    sdk_hash_file,
    sdk_timestamp,
)

__all__ = [
    "HEADER_PREFIX",
    "SDK_USER_AGENT",
    "SDK_VERSION",
    "VIETNAM",
    "DocIdKey",
    "Exchange",
    "GsonReadError",
    "JavaHashMap",
    "SdkAgency",
    "SdkAgencyList",
    "SdkEdoc",
    "SdkReceivedEdoc",
    "SdkReceivedList",
    "SdkResult",
    "SdkSendResult",
    "SdkSentEdoc",
    "SdkSentList",
    "VxpSdk",
    "java_string_hash",
    "sdk_hash_file",
    "sdk_timestamp",
]
