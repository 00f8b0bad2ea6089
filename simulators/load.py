"""Generated load for benchmarks and scenarios: document traffic, a fast webhook receiver, timings.

- :func:`prepare_documents` builds document packets from one sender to recipients in turn,
  each with the status 01 ("đã đến") its recipient will answer, before any clock starts.
- :class:`FastReceiver` is a small asyncio HTTP/1.1 server on its own thread that takes webhook
  deliveries on any path (one path per recipient agency). It keeps the first arrival of each
  ``X-Lienthong-Delivery-Id``, counts repeats of an id as duplicates (delivery is at least
  once) and reports a *conflict* when a second delivery id brings the same bytes to the same
  path: the same document delivered twice as a new one. Paths can be scripted to answer an
  error status or to answer slowly.
- :func:`post_documents` posts packets over HTTP from N concurrent client threads (one pooled
  httpx client; its synchronous path costs a quarter of the CPU of its asyncio one), flat
  out or paced, waiting out 503s and refused connections as an agency system would, but
  giving up on every packet left once the API has been unreachable (or only 502/503/504)
  for longer than a bounded spell: a dead API fails a run quickly instead of hanging it.
- :class:`StatusResponder` answers every document that reaches the receiver with its prepared
  status 01, posted with the recipient's token, and records when the hub accepted it.

Times are :func:`time.monotonic` seconds, comparable across the threads of one process.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import queue
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from edxml.builder import build
from edxml.compose import FileToAttach, new_document, status_for

__all__ = [
    "Arrival",
    "Document",
    "FastReceiver",
    "Posted",
    "Reply",
    "StatusResponder",
    "percentile",
    "post_documents",
    "prepare_documents",
]

_T = TypeVar("_T")

_HEAD_LIMIT = 64 * 1024
_READ_CHUNK = 1 << 20
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_UNAVAILABLE = frozenset({502, 503, 504})
_BUSY = frozenset({429})
"""The agency's uploads at once are capped: posted again, not counted as an outage."""
_RETRY_SECONDS = 0.2
_NOTATION = "UBND-VP"
_SUBJECT = "Về việc tăng cường xử lý văn bản, hồ sơ công việc trên môi trường mạng"


# -- documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A document packet ready to post, and the status 01 its recipient answers with."""

    data: bytes
    sha256: str
    sender: str
    recipient: str
    status: bytes


def prepare_documents(
    sender: str,
    recipients: Sequence[str],
    count: int,
    *,
    size: int = 20_000,
    first_number: int = 1,
    seed: int = 1,
    statuses: bool = True,
) -> list[Document]:
    """``count`` new documents from ``sender``, addressed to ``recipients`` in turn.

    Each packet is about ``size`` bytes (its attachment is random bytes) and has its own
    DocumentId (numbers from ``first_number``), so the hub takes each as a new document.
    """
    if not recipients:
        raise ValueError("at least one recipient is needed")
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not secrets
    attachment = b"%PDF-1.7\n" + rng.randbytes(max(0, size * 3 // 4 - 3000))
    made = []
    for index in range(count):
        recipient = recipients[index % len(recipients)]
        packet, contents = new_document(
            sender=sender,
            recipients=[recipient],
            number=str(first_number + index),
            notation=_NOTATION,
            subject=_SUBJECT,
            place="Hà Nội",
            files=[FileToAttach(attachment, name="van-ban.pdf")],
        )
        data = build(packet, contents)
        status = build(status_for(packet, "01", reporter=recipient)) if statuses else b""
        made.append(Document(data, hashlib.sha256(data).hexdigest(), sender, recipient, status))
    return made


# -- the receiver --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the receiver answers a path: a status, an optional ``Retry-After``, a delay."""

    status: int = 200
    retry_after: int | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Arrival:
    """One webhook request as the receiver got it."""

    path: str
    delivery_id: str
    packet_id: str
    kind: str
    attempt: int
    sha256: str
    size: int
    at: float
    body: bytes | None = None


@dataclass
class _Ledger:
    first: dict[str, Arrival] = field(default_factory=dict)
    repeats: Counter[str] = field(default_factory=Counter)
    ids_by_copy: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    per_path: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    refused: int = 0


class FastReceiver:
    """A webhook receiver for load: asyncio on its own thread, every path accepted.

    ``on_delivery`` is called on the receiver's loop with the first arrival of each delivery
    id (answered 2xx); it must not block (hand the work to another thread).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_bodies: bool = False,
        on_delivery: Callable[[Arrival], None] | None = None,
    ) -> None:
        self._keep_bodies = keep_bodies
        self.on_delivery = on_delivery
        self._replies: dict[str, Reply] = {}
        self._ledger = _Ledger()
        self._changed = threading.Condition()
        self._handlers: set[asyncio.Task[None]] = set()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="fast-receiver", daemon=True
        )
        self._thread.start()
        self._server = self.run(asyncio.start_server(self._serve, host, port, backlog=1024))
        address = self._server.sockets[0].getsockname()
        self.host = str(address[0])
        self.port = int(address[1])

    # -- control, from any thread

    def run(self, coroutine: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        """Run ``coroutine`` on the receiver's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def url(self, path: str) -> str:
        """The URL of ``path`` on this receiver."""
        return f"http://{self.host}:{self.port}{path}"

    def reply(self, path: str, reply: Reply | None) -> None:
        """Answer ``path`` with ``reply`` from now on (None: 200 at once again)."""
        with self._changed:
            if reply is None:
                self._replies.pop(path, None)
            else:
                self._replies[path] = reply

    def delivered(self, path: str | None = None) -> int:
        """Distinct delivery ids accepted (on ``path``, or everywhere)."""
        with self._changed:
            if path is None:
                return len(self._ledger.first)
            return self._ledger.per_path[path]

    def arrivals(self) -> list[Arrival]:
        """The first accepted arrival of each delivery id, in order of arrival."""
        with self._changed:
            return list(self._ledger.first.values())

    def first(self, delivery_id: str) -> Arrival | None:
        """The first accepted arrival of a delivery id."""
        with self._changed:
            return self._ledger.first.get(delivery_id)

    def received(self, path: str) -> int:
        """Requests that reached ``path`` so far, answered yet or not (held by a delay)."""
        with self._changed:
            return self._ledger.received[path]

    @property
    def duplicates(self) -> int:
        """Requests that brought a delivery id already accepted (allowed: at least once)."""
        with self._changed:
            return sum(self._ledger.repeats.values())

    @property
    def requests(self) -> int:
        """Every webhook request, accepted or answered with an error."""
        with self._changed:
            return self._ledger.requests

    @property
    def refused(self) -> int:
        """Requests answered with a non-2xx status by a scripted reply."""
        with self._changed:
            return self._ledger.refused

    def conflicts(self) -> dict[tuple[str, str], set[str]]:
        """(SHA-256 of the bytes, path) reached by more than one delivery id: never allowed."""
        with self._changed:
            return {key: set(ids) for key, ids in self._ledger.ids_by_copy.items() if len(ids) > 1}

    def wait_for(self, count: int, timeout: float, path: str | None = None) -> bool:
        """Whether ``count`` distinct deliveries (on ``path``) were accepted within ``timeout``.

        A delivery counts once the receiver has decided its 2xx answer (after any scripted
        delay), whether or not the answer then reached the hub.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: (
                    (len(self._ledger.first) if path is None else self._ledger.per_path[path])
                    >= count
                ),
                timeout,
            )

    def close(self) -> None:
        """Stop serving and end the receiver's thread."""
        if not self.loop.is_running():
            return
        self.run(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> FastReceiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- serving, on the loop

    async def _shutdown(self) -> None:
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
            ConnectionError,
        ):
            pass
        except ValueError:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            raise ValueError("request head too large")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, path, version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        digest = hashlib.sha256()
        kept = bytearray() if self._keep_bodies else None
        size = 0
        async for chunk in _body(reader, headers):
            digest.update(chunk)
            size += len(chunk)
            if kept is not None:
                kept += chunk
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        reply = self._replies.get(path) or Reply()
        with self._changed:
            self._ledger.received[path] += 1
            self._changed.notify_all()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if method == "POST":
            self._record(path, headers, digest.hexdigest(), size, kept, reply)
        answer = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        answer.append("Content-Length: 0")
        if reply.retry_after is not None:
            answer.append(f"Retry-After: {reply.retry_after}")
        if close:
            answer.append("Connection: close")
        writer.write(("\r\n".join(answer) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        return not close

    def _record(
        self,
        path: str,
        headers: Mapping[str, str],
        sha256: str,
        size: int,
        body: bytearray | None,
        reply: Reply,
    ) -> None:
        delivery_id = headers.get("x-lienthong-delivery-id", "")
        attempt = headers.get("x-lienthong-attempt", "0")
        arrival = Arrival(
            path=path,
            delivery_id=delivery_id,
            packet_id=headers.get("x-lienthong-packet-id", ""),
            kind=headers.get("x-lienthong-kind", ""),
            attempt=int(attempt) if attempt.isdigit() else 0,
            sha256=sha256,
            size=size,
            at=time.monotonic(),
            body=bytes(body) if body is not None else None,
        )
        new = False
        with self._changed:
            ledger = self._ledger
            ledger.requests += 1
            if not 200 <= reply.status < 300:
                ledger.refused += 1
                return
            if delivery_id in ledger.first:
                ledger.repeats[delivery_id] += 1
            else:
                new = True
                ledger.first[delivery_id] = arrival
                ledger.per_path[path] += 1
            ledger.ids_by_copy[(sha256, path)].add(delivery_id)
            self._changed.notify_all()
        if new and self.on_delivery is not None:
            self.on_delivery(arrival)


async def _body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return
            yield await reader.readexactly(size)
            await reader.readexactly(2)
    remaining = int(headers.get("content-length", "0") or "0")
    while remaining > 0:
        chunk = await reader.read(min(remaining, _READ_CHUNK))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", remaining)
        remaining -= len(chunk)
        yield chunk


# -- posting -------------------------------------------------------------------------------


@dataclass
class Posted:
    """One packet posted: when, the hub's answer, and the ids it gave."""

    document: Document
    started: float = 0.0
    answered: float = 0.0
    status: int = 0
    packet_id: str = ""
    delivery_ids: tuple[str, ...] = ()
    unavailable: int = 0
    """Answers 502/503/504 or failed connections waited out before the final answer."""
    error: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the hub took the packet (202, or 200 for identical bytes posted again)."""
        return self.status in (200, 202)


def http_client(concurrency: int, timeout: float = 60.0) -> httpx.Client:
    """A pooled HTTP client for ``concurrency`` threads."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


def post_documents(
    api_url: str,
    tokens: Mapping[str, str],
    documents: Sequence[Document],
    *,
    concurrency: int = 8,
    rate: float | None = None,
    patience: float = 120.0,
    unreachable_after: float = 30.0,
    stop: threading.Event | None = None,
) -> list[Posted]:
    """Post every document as its sender (token by sender code) from ``concurrency`` threads.

    With ``rate`` (packets per second) the posts are scheduled at fixed intervals from the
    start (an open loop: a slow hub does not slow the schedule, it queues). Answers 502, 503
    and 504 and failed connections are retried every 0.2 s for up to ``patience`` seconds,
    as an agency system would. When no request has got any answer for ``unreachable_after``
    seconds (the API is gone), or none an answer other than 502/503/504 for ``patience``
    seconds, the run gives up: every packet not yet answered ends with status 0 and the
    error ``"API unreachable for N s: <last error>"`` (or ``"API unavailable ..."``).
    ``stop`` ends the run early (unposted documents keep status 0).
    """
    results = [Posted(document) for document in documents]
    url = api_url.rstrip("/") + "/api/v1/packets"
    lock = threading.Lock()
    indexes = iter(range(len(documents)))
    outage = _Outage(unreachable_after=unreachable_after, unavailable_after=patience)
    start = time.monotonic()

    def take() -> int | None:
        with lock:
            return next(indexes, None)

    def lane(client: httpx.Client) -> None:
        while (index := take()) is not None:
            if stop is not None and stop.is_set():
                return
            posted = results[index]
            if rate is not None:
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    outage.gave_up.wait(delay)
            if outage.reason:
                _give_up(posted, outage.reason)
                continue
            token = tokens[posted.document.sender]
            _post(client, url, token, posted.document.data, posted, patience, outage)

    with http_client(concurrency) as client:
        lanes = [
            threading.Thread(target=lane, args=(client,), name=f"load-{n}", daemon=True)
            for n in range(max(1, concurrency))
        ]
        for thread in lanes:
            thread.start()
        for thread in lanes:
            thread.join()
    return results


class _Outage:
    """How long the API has failed every request, shared by the threads posting to it.

    An unreachable spell (no answer at all: refused, reset, timed out) ends with any answer;
    an unavailable one (no answer but 502/503/504) with any other answer. A spell longer than
    its budget gives up for good, so that the other threads stop at once rather than each
    waiting out its own patience.
    """

    def __init__(self, *, unreachable_after: float, unavailable_after: float) -> None:
        self._unreachable_after = unreachable_after
        self._unavailable_after = unavailable_after
        self._lock = threading.Lock()
        now = time.monotonic()
        self._answered = now
        self._served = now
        self._unreachable_since: float | None = None
        self._unavailable_since: float | None = None
        self.gave_up = threading.Event()
        self.reason = ""

    def note(self, began: float, status: int, error: str) -> str:
        """Record an attempt begun at ``began`` (status 0: no answer); why to give up, or ""."""
        now = time.monotonic()
        with self._lock:
            if self.reason:
                return self.reason
            if status == 0:
                if self._unreachable_since is None:
                    self._unreachable_since = max(began, self._answered)
            else:
                self._answered = now
                self._unreachable_since = None
            if status == 0 or status in _UNAVAILABLE:
                if self._unavailable_since is None:
                    self._unavailable_since = max(began, self._served)
            else:
                self._served = now
                self._unavailable_since = None
            if self._unreachable_since is not None:
                spell = now - self._unreachable_since
                if spell >= self._unreachable_after:
                    self.reason = f"API unreachable for {spell:.1f} s: {error}"
            if not self.reason and self._unavailable_since is not None:
                spell = now - self._unavailable_since
                if spell >= self._unavailable_after:
                    self.reason = f"API unavailable for {spell:.1f} s: {error}"
            if self.reason:
                self.gave_up.set()
            return self.reason


def _give_up(posted: Posted, reason: str) -> None:
    posted.answered = time.monotonic()
    posted.started = posted.started or posted.answered
    posted.status = 0
    posted.error = reason


def _post(
    client: httpx.Client,
    url: str,
    token: str,
    data: bytes,
    posted: Posted,
    patience: float,
    outage: _Outage,
) -> None:
    posted.started = time.monotonic()
    deadline = posted.started + patience
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    while True:
        if outage.reason:
            _give_up(posted, outage.reason)
            return
        began = time.monotonic()
        answer: httpx.Response | None = None
        error = ""
        try:
            answer = client.post(url, content=data, headers=headers)
        except httpx.TransportError as exc:
            error = posted.error = f"{type(exc).__name__}: {exc}"
        status = answer.status_code if answer is not None else 0
        retry = status == 0 or status in _UNAVAILABLE or status in _BUSY
        if answer is not None and retry:
            error = f"HTTP {status}: {answer.text[:200]}"
        reason = outage.note(began, status, error)
        if retry and reason:
            _give_up(posted, reason)
            return
        if retry and time.monotonic() < deadline:
            posted.unavailable += 1
            outage.gave_up.wait(_RETRY_SECONDS)
            continue
        posted.answered = time.monotonic()
        posted.status = status
        if answer is not None and posted.accepted:
            body = answer.json()
            posted.packet_id = str(body["packet_id"])
            posted.delivery_ids = tuple(str(item["delivery_id"]) for item in body["deliveries"])
            posted.error = ""
        elif answer is not None:
            posted.error = answer.text[:300]
        return


# -- answering with statuses -----------------------------------------------------------------


class StatusResponder:
    """Answers each document that reaches ``receiver`` with its prepared status 01.

    Installs itself as the receiver's ``on_delivery``; ``concurrency`` threads post the
    statuses with the recipients' tokens. ``recorded`` maps a document's SHA-256 to the moment
    the hub accepted its status, ``failed`` to the answer when it did not. Like
    :func:`post_documents` it gives up once the API has been unreachable for
    ``unreachable_after`` seconds: every status from then on fails at once with that reason.
    """

    def __init__(
        self,
        receiver: FastReceiver,
        api_url: str,
        tokens: Mapping[str, str],
        documents: Iterable[Document] = (),
        *,
        concurrency: int = 8,
        patience: float = 120.0,
        unreachable_after: float = 30.0,
    ) -> None:
        self._receiver = receiver
        self._url = api_url.rstrip("/") + "/api/v1/packets"
        self._tokens = dict(tokens)
        self._documents = {document.sha256: document for document in documents}
        self._patience = patience
        self._outage = _Outage(unreachable_after=unreachable_after, unavailable_after=patience)
        self.recorded: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        self._done = threading.Condition()
        self._work: queue.SimpleQueue[Document | None] = queue.SimpleQueue()
        self._client = http_client(concurrency)
        self._threads = [
            threading.Thread(target=self._answer_all, name=f"status-{n}", daemon=True)
            for n in range(max(1, concurrency))
        ]
        for thread in self._threads:
            thread.start()
        receiver.on_delivery = self._arrived

    def add(self, documents: Iterable[Document]) -> None:
        """Answer these documents too."""
        for document in documents:
            self._documents[document.sha256] = document

    def _arrived(self, arrival: Arrival) -> None:
        document = self._documents.get(arrival.sha256)
        if document is not None and document.status:
            self._work.put(document)

    def _answer_all(self) -> None:
        while (document := self._work.get()) is not None:
            posted = Posted(document)
            token = self._tokens[document.recipient]
            _post(
                self._client,
                self._url,
                token,
                document.status,
                posted,
                self._patience,
                self._outage,
            )
            with self._done:
                if posted.accepted:
                    self.recorded[document.sha256] = posted.answered
                else:
                    self.failed[document.sha256] = f"{posted.status} {posted.error}"
                self._done.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether ``count`` statuses were recorded or failed within ``timeout``."""
        with self._done:
            return self._done.wait_for(
                lambda: len(self.recorded) + len(self.failed) >= count, timeout
            )

    def close(self) -> None:
        """Stop answering, let the threads finish, close the HTTP client."""
        self._receiver.on_delivery = None
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join(30)
        self._client.close()


# -- numbers -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0-1) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
