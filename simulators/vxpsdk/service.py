"""One service object of the official VXP SDK, emulated byte for byte on the wire (AXIS-SDK.md).

:class:`VxpSdk` behaves as an integrator's SDK object does: one header map for the object's
whole life (``timestamp`` and ``systemid`` from the start, every parameter of every call
added and never removed), the timestamp written once at creation and never refreshed, each
map key sent as ``XroadVnpt-<key>`` (``Content-Type`` also as the real ``Content-Type``), the
signature over the map in Java ``HashMap`` order, the SDK's ``User-Agent`` and
``XroadVnpt-version``, the ``sendEdoc`` body followed by ``\\r\\n`` with the file's unpadded hex
``hash-file``, ``{}`` (and ``Expect: 100-continue``) for ``getEdoc``/``updateStatus``, an empty
JSON body for the list calls. Answers are read as the SDK reads them: a call returns a typed
result, or None where the SDK would throw inside and hand its caller ``null`` (the reason is
kept on :attr:`VxpSdk.last_exchange`, which the SDK would not tell).

Where AXIS-SDK.md is silent the emulator chooses, and says so here:

- parameters enter the map in the order ``docId``/``docid``, ``status``, ``from``, ``to``,
  ``servicetype``, ``messagetype``, ``hash-file``, then ``Content-Type``; the order only
  matters between keys of one bucket;
- ``getEdoc``, ``updateStatus`` and the list calls set ``Content-Type: application/json``;
- ``getSentEdocList`` sends ``servicetype`` and, when given, ``messagetype``;
- a ``to`` given as one string is sent as the JSON text of that string (``"code"``), a list as
  a JSON array; no ``to`` leaves the map as it was (an earlier call's ``to`` stays);
- a failed connection returns None, as an exception inside the SDK would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx

from simulators.vxpsdk.answers import (
    SdkAgencyList,
    SdkEdoc,
    SdkReceivedList,
    SdkResult,
    SdkSendResult,
    SdkSentList,
    read_agencies,
    read_edoc,
    read_received,
    read_result,
    read_send,
    read_sent,
)
from simulators.vxpsdk.gson import GsonReadError, parse, to_json
from simulators.vxpsdk.javamap import JavaHashMap

__all__ = [
    "HEADER_PREFIX",
    "SDK_USER_AGENT",
    "SDK_VERSION",
    "VIETNAM",
    "DocIdKey",
    "Exchange",
    "VxpSdk",
    "sdk_hash_file",
    "sdk_timestamp",
]

HEADER_PREFIX = "XroadVnpt-"
SDK_USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
SDK_VERSION = "3.0.201608"
VIETNAM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The time zone of the integrators' JVMs (no daylight saving)."""
CRLF = b"\r\n"

DocIdKey = Literal["docId", "docid"]
"""The two spellings of the doc id parameter integrators use."""

_Result = TypeVar("_Result")


def sdk_timestamp(moment: dt.datetime, zone: dt.tzinfo = VIETNAM) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` in ``zone``: ``SSSS`` is the milliseconds on four digits."""
    local = moment.astimezone(zone)
    return f"{local:%d%m%Y}T{local:%H%M%S}+{local.microsecond // 1000:04d}"


def sdk_hash_file(data: bytes) -> str:
    """SHA-256 of ``data``, each byte as ``Integer.toHexString(b & 0xFF)``: no zero padding."""
    return "".join(format(byte, "x") for byte in hashlib.sha256(data).digest())


@dataclass(frozen=True)
class Exchange:
    """One call as it went: the request sent, the response (None if none came), what failed."""

    request: httpx.Request
    response: httpx.Response | None
    error: str | None
    """Why the SDK would have returned null (unreachable, unreadable answer); None if it did not."""


class VxpSdk:
    """An SDK service object for one system at one endpoint; not thread-safe, as the SDK's."""

    def __init__(
        self,
        endpoint: str,
        system_id: str,
        secret: str,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        zone: dt.tzinfo = VIETNAM,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        verify: bool = True,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.system_id = system_id
        self._secret = secret
        moment = clock() if clock is not None else dt.datetime.now(dt.UTC)
        self.timestamp = sdk_timestamp(moment, zone)
        """Written once, here, and sent on every call of the object's life."""
        self.headers = JavaHashMap()
        """The never-cleared header map (keys without the ``XroadVnpt-`` prefix)."""
        self.headers.put("timestamp", self.timestamp)
        self.headers.put("systemid", system_id)
        self.last_exchange: Exchange | None = None
        self._http = httpx.Client(
            timeout=timeout, transport=transport, verify=verify, follow_redirects=False
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the SDK's calls ------------------------------------------------------------------

    def send_edoc(
        self,
        data: bytes,
        *,
        sender: str,
        to: Sequence[str] | str | None = None,
        message_type: str = "edoc",
        service_type: str = "eDoc",
    ) -> SdkSendResult | None:
        """``sendEdoc``: the file's bytes then ``\\r\\n``, ``hash-file`` of the file alone."""
        params = [("from", sender)]
        if to is not None:
            params.append(("to", to_json(to)))
        params += [
            ("servicetype", service_type),
            ("messagetype", message_type),
            ("hash-file", sdk_hash_file(data)),
        ]
        return self._call(
            "sendEdoc", params, "application/octet-stream", data + CRLF, read_send, expect=False
        )

    def get_received_edoc_list(
        self, message_type: str = "edoc", *, service_type: str = "eDoc"
    ) -> SdkReceivedList | None:
        """``getReceivedEdocList``: what waits for this system."""
        params = [("servicetype", service_type), ("messagetype", message_type)]
        return self._call(
            "getReceivedEdocList", params, "application/json", b"", read_received, expect=False
        )

    def get_edoc(self, doc_id: str, *, doc_id_key: DocIdKey = "docId") -> SdkEdoc | None:
        """``getEdoc``: one waiting packet's bytes."""
        return self._call(
            "getEdoc", [(doc_id_key, doc_id)], "application/json", b"{}", read_edoc, expect=True
        )

    def update_status(
        self, doc_id: str, status: str, *, doc_id_key: DocIdKey = "docId"
    ) -> SdkResult | None:
        """``updateStatus``: acknowledge a downloaded packet (``done``, ``fail``, …)."""
        params = [(doc_id_key, doc_id), ("status", status)]
        return self._call(
            "updateStatus", params, "application/json", b"{}", read_result, expect=True
        )

    def get_sent_edoc_list(
        self, message_type: str | None = None, *, service_type: str = "eDoc"
    ) -> SdkSentList | None:
        """``getSentEdocList``: what this system sent, one item per receiver."""
        params = [("servicetype", service_type)]
        if message_type is not None:
            params.append(("messagetype", message_type))
        return self._call(
            "getSentEdocList", params, "application/json", b"", read_sent, expect=False
        )

    def get_agencies_list(self) -> SdkAgencyList | None:
        """``getAgenciesList``: the agencies reachable through the axis."""
        return self._call(
            "getAgenciesList", [], "application/json", b"", read_agencies, expect=False
        )

    @property
    def last_error(self) -> str | None:
        """Why the last call returned None (the SDK would not say); None after a readable one."""
        return self.last_exchange.error if self.last_exchange is not None else None

    # -- one call -------------------------------------------------------------------------

    def request_headers(self, *, expect: bool) -> list[tuple[str, str]]:
        """The headers of a call made now, from the map as it stands."""
        entries = self.headers.items()
        signed = to_json({f"{HEADER_PREFIX}{key}": value for key, value in entries})
        digest = hmac.new(
            self._secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        headers: list[tuple[str, str]] = []
        for key, value in entries:
            if key == "Content-Type":
                headers.append(("Content-Type", value))
            headers.append((f"{HEADER_PREFIX}{key}", value))
        headers += [
            (f"{HEADER_PREFIX}sign-header-key", ";".join(key for key, _ in entries)),
            (f"{HEADER_PREFIX}sign-header", signed),
            (f"{HEADER_PREFIX}hash-header", digest),
            ("User-Agent", SDK_USER_AGENT),
            (f"{HEADER_PREFIX}version", SDK_VERSION),
        ]
        if expect:
            headers.append(("Expect", "100-continue"))
        return headers

    def _call(
        self,
        operation: str,
        params: Sequence[tuple[str, str]],
        content_type: str,
        body: bytes,
        reader: Callable[[Any], _Result],
        *,
        expect: bool,
    ) -> _Result | None:
        for key, value in params:
            self.headers.put(key, value)
        self.headers.put("Content-Type", content_type)
        request = self._http.build_request(
            "POST",
            f"{self.endpoint}/{operation}",
            headers=self.request_headers(expect=expect),
            content=body,
        )
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            self.last_exchange = Exchange(request, None, f"{type(exc).__name__}: {exc}")
            return None
        try:
            result = reader(parse(response.content))
        except GsonReadError as exc:
            self.last_exchange = Exchange(request, response, str(exc))
            return None
        self.last_exchange = Exchange(request, response, None)
        return result
