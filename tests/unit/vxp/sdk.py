"""Requests exactly as the official SDK sends them (the emulator), captured instead of sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from simulators.vxpsdk import VxpSdk

SYSTEM = "000.00.00.H41"
SECRET = "ltv_the-secret-of-nghe-an"
YESTERDAY = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)


class Capture:
    """An SDK object whose requests are kept and answered OK."""

    def __init__(self, secret: str = SECRET, system: str = SYSTEM) -> None:
        self.requests: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return httpx.Response(
                200,
                json={"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": "x", "data": []},
            )

        self.sdk = VxpSdk(
            "http://hub.test/vxp",
            system,
            secret,
            clock=lambda: YESTERDAY,
            transport=httpx.MockTransport(answer),
        )

    def last(self, call: Callable[[VxpSdk], Any]) -> httpx.Request:
        """The request ``call`` made."""
        call(self.sdk)
        return self.requests[-1]


def raw(request: httpx.Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as a server receives them."""
    return list(request.headers.raw)


def replaced(request: httpx.Request, name: str, value: bytes | None) -> list[tuple[bytes, bytes]]:
    """The headers with ``name`` set to ``value`` (None: removed)."""
    wanted = name.lower().encode()
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != wanted]
    if value is not None:
        headers.append((name.encode(), value))
    return headers
