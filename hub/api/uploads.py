"""What reading a request body may cost the API: memory, time, and uploads at once.

- **Memory grows with the bytes that arrived**, never with what ``Content-Length`` promises:
  a packet is read into an anonymous memory mapping of the declared (or largest allowed)
  size, whose pages the kernel only provides once written, and handed on as a view of it, so
  a 50 MiB packet is in memory once and a client that declares 40 MB and sends one byte holds
  one page.
- **Every body**: :class:`BodyLimits` bounds the size of any request's body (1 MiB but for
  packets), every wait for its next piece and its whole arrival (the headers' time is bounded
  by the server, see :mod:`hub.api.serving`).
- **Uploads at once**: :class:`UploadGate` caps the packets read and ingested at once, per
  agency and overall, so the memory uploads can take is bounded too.
"""

from __future__ import annotations

import mmap
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

import anyio
import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import (
    AgencyBusyError,
    ClientGoneError,
    HubBusyError,
    InvalidRequestError,
    OversizePacketError,
    RequestTimeoutError,
    RequestTooLargeError,
)

__all__ = [
    "FORM_BODY_LIMIT",
    "RETRY_AFTER",
    "Body",
    "BodyLimits",
    "UploadGate",
    "packet_body",
    "read_body",
]

Body = bytes | bytearray | memoryview
"""A request body as read: a view of the memory it arrived in, or bytes."""

FORM_BODY_LIMIT = 1024 * 1024
"""Largest body the API reads but for packets (acknowledgements, replays, the console's
forms); larger ones are answered 413 ``request.too-large`` as soon as that is known."""
_BODY_LIMIT = "lienthong.body_limit"
"""Scope key by which an endpoint tells :class:`BodyLimits` the largest body it reads (None:
the endpoint bounds it itself, as :func:`read_body` does)."""
RETRY_AFTER = 5
"""Seconds a caller refused for want of an upload slot is told to wait (``Retry-After``)."""

_log = structlog.get_logger(__name__)


async def read_body(request: Request, limit: int) -> Body:
    """The request body, refused as soon as it is known to exceed ``limit`` bytes.

    Raises:
        OversizePacketError: declared or found larger than ``limit``.
        InvalidRequestError: ``request.length-mismatch``: more or fewer bytes than declared.
        RequestTimeoutError: the body stopped arriving (from :class:`BodyLimits`).
        ClientGoneError: the client closed the connection first (logged as such).
    """
    request.scope[_BODY_LIMIT] = None
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    if length is not None and length > limit:
        raise _too_large(length, limit)
    capacity = limit if length is None else length
    if capacity == 0:
        return b""
    # The kernel gives the mapping a page only when it is first written: the memory follows
    # the bytes received. A view of it goes on to ingest, so the packet is never copied.
    buffer = memoryview(mmap.mmap(-1, capacity))
    filled = 0
    try:
        async for chunk in request.stream():
            end = filled + len(chunk)
            if end > capacity:
                if length is None:
                    raise _too_large(None, limit)
                raise InvalidRequestError(
                    f"the body is longer than its Content-Length ({length} bytes)",
                    code="request.length-mismatch",
                )
            buffer[filled:end] = chunk
            filled = end
        if length is not None and filled != length:
            raise InvalidRequestError(
                f"the body ended after {filled} of its {length} bytes (Content-Length)",
                code="request.length-mismatch",
            )
    except ClientDisconnect:
        _give_back(buffer)
        _log.info(
            "api.client_disconnected", path=request.url.path, received=filled, declared=length
        )
        raise ClientGoneError(
            f"the client closed the connection after {filled} bytes of the body"
        ) from None
    except BaseException:
        _give_back(buffer)
        raise
    return buffer[:filled]


@asynccontextmanager
async def packet_body(request: Request, limit: int) -> AsyncIterator[Body]:
    """:func:`read_body` for the block, its memory given back to the system when the block
    ends, whatever still refers to it (a refused packet's traceback holds its buffer until the
    garbage collector runs: many such would otherwise add up past every cap)."""
    body = await read_body(request, limit)
    try:
        yield body
    finally:
        if isinstance(body, memoryview):
            _give_back(body)


def _give_back(view: memoryview) -> None:
    """Return the pages of the mapping ``view`` shows to the system, and close it unless some
    other view still shows it (that one then reads zeros, and frees it when it goes)."""
    mapping = view.obj
    if not isinstance(mapping, mmap.mmap) or mapping.closed:
        return
    mapping.madvise(mmap.MADV_DONTNEED)
    view.release()
    with suppress(BufferError):
        mapping.close()


def _too_large(size: int | None, limit: int) -> OversizePacketError:
    stated = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    return OversizePacketError(
        f"the packet is {stated}; this hub accepts at most {limit}", details={"limit": limit}
    )


class UploadGate:
    """The packets under way in this process, per agency and overall, each under its cap."""

    def __init__(self, total: int, per_agency: int) -> None:
        self.total = total
        self.per_agency = per_agency
        self._lock = threading.Lock()
        self._under_way = 0
        self._by_agency: Counter[str] = Counter()

    @contextmanager
    def admit(self, agency: str) -> Iterator[None]:
        """Hold one upload slot of ``agency`` for the block.

        Raises:
            AgencyBusyError: the agency has ``per_agency`` uploads under way.
            HubBusyError: the process has ``total`` uploads under way.
        """
        with self._lock:
            if self._by_agency[agency] >= self.per_agency:
                raise AgencyBusyError(
                    f"{agency} already has {self.per_agency} packets under way on this hub "
                    f"(LIENTHONG_MAX_UPLOADS_PER_AGENCY); send this one after {RETRY_AFTER} s",
                    retry_after=RETRY_AFTER,
                )
            if self._under_way >= self.total:
                raise HubBusyError(
                    f"the hub is reading {self.total} packets at once, all it takes "
                    f"(LIENTHONG_MAX_UPLOADS); send this one after {RETRY_AFTER} s",
                    retry_after=RETRY_AFTER,
                )
            self._under_way += 1
            self._by_agency[agency] += 1
        try:
            yield
        finally:
            with self._lock:
                self._under_way -= 1
                self._by_agency[agency] -= 1
                if not self._by_agency[agency]:
                    del self._by_agency[agency]

    @property
    def under_way(self) -> int:
        """Uploads holding a slot now."""
        return self._under_way


class BodyLimits:
    """ASGI middleware bounding every request body: its size, each wait for more of it, and
    its whole arrival.

    A body is at most :data:`FORM_BODY_LIMIT` bytes unless the endpoint reading it bounds it
    itself (:func:`read_body` does, for packets); every wait for more lasts at most
    ``idle`` seconds, and the body arrives within ``total`` seconds of the request's start.
    Beyond, ``receive`` raises :class:`~hub.errors.RequestTooLargeError` (413) or
    :class:`~hub.errors.RequestTimeoutError` (408, the connection closed). Once the body is
    complete, ``receive`` is passed through untouched: a streamed answer waits on it for the
    client to go away.
    """

    def __init__(self, app: ASGIApp, *, idle: float, total: float) -> None:
        self.app = app
        self.idle = idle
        self.total = total

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.total
        declared = _declared_length(scope)
        received = 0
        complete = False

        async def guarded() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            limit: int | None = scope.get(_BODY_LIMIT, FORM_BODY_LIMIT)
            if limit is not None and declared is not None and declared > limit:
                raise _form_too_large(limit)
            wait = min(self.idle, deadline - anyio.current_time())
            try:
                with anyio.fail_after(max(wait, 0.0)):
                    message = await receive()
            except TimeoutError:
                raise self._timeout(overall=wait < self.idle) from None
            if message["type"] != "http.request":
                complete = True
                return message
            received += len(message.get("body", b""))
            if limit is not None and received > limit:
                raise _form_too_large(limit)
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)

    def _timeout(self, *, overall: bool) -> RequestTimeoutError:
        if overall:
            return RequestTimeoutError(
                f"the request body took more than {self.total:g} s to arrive "
                "(LIENTHONG_BODY_TIMEOUT)"
            )
        return RequestTimeoutError(
            f"the request body stopped arriving: nothing came for {self.idle:g} s "
            "(LIENTHONG_BODY_IDLE_TIMEOUT)"
        )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _form_too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        f"the request body is larger than the {limit} bytes this endpoint reads",
        details={"limit": limit},
    )
