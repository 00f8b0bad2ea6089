"""The HTTP server the API runs in: uvicorn's httptools protocol with a header deadline.

uvicorn bounds the idle time between requests of a kept-alive connection, but not the time a
client takes to send a request's headers: a connection that sends them a byte at a time (or
never starts) would stay open for good. Here a client has ``header_timeout`` seconds from its
connection, and from the first byte of each later request, to complete the headers; the
connection is closed otherwise. The body's time is bounded by
:class:`hub.api.uploads.BodyTimeouts`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HeaderDeadlineProtocol", "http_protocol"]

_log = structlog.get_logger(__name__)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose headers come too slowly."""

    header_timeout = 30.0
    """Seconds to complete a request's headers (set by :func:`http_protocol`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            _log.info("api.header_timeout", client=self.client, seconds=self.header_timeout)
            self.transport.close()


def http_protocol(header_timeout: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to give uvicorn (``http=``) for a deadline of ``header_timeout``."""
    return type(
        "HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout}
    )
