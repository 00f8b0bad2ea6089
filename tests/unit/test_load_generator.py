"""The load generator gives up quickly on a dead API but rides through brief outages.

Each test posts to a real HTTP server on 127.0.0.1 that plays the hub's API: it answers,
answers 503 with Retry-After for a while, or stops listening mid-run.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from simulators.load import (
    Document,
    FastReceiver,
    Posted,
    StatusResponder,
    post_documents,
    prepare_documents,
)

SENDER = "000.00.01.H98"
RECIPIENTS = ("000.00.02.H98", "000.00.03.H98")
TOKENS = {SENDER: "sender-token", **{code: f"token-{code}" for code in RECIPIENTS}}
UNREACHABLE = re.compile(r"^API unreachable for \d+\.\d s: \w+: ")

Answer = Callable[[int], int | None]
"""Given the request's number (from 1), the status to answer, or None to hang up."""


class FakeApi:
    """A tiny stand-in for the hub's API: POST /api/v1/packets answered by ``answer``."""

    def __init__(self, answer: Answer, port: int = 0) -> None:
        self.answer = answer
        self.requests = 0
        self._closed = False
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with api._lock:
                    api.requests += 1
                    number = api.requests
                status = api.answer(number)
                if status is None:
                    return
                body = b"busy"
                if status == 202:
                    deliveries = [{"delivery_id": f"d{number}"}]
                    body = json.dumps(
                        {"packet_id": f"p{number}", "deliveries": deliveries}
                    ).encode()
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening: from now on connections are refused, as with a dead process."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def fake_api(answer: Answer, port: int = 0) -> Iterator[FakeApi]:
    api = FakeApi(answer, port)
    try:
        yield api
    finally:
        api.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def documents(count: int, statuses: bool = False) -> list[Document]:
    return prepare_documents(SENDER, RECIPIENTS, count, size=2000, statuses=statuses)


def test_an_api_that_dies_mid_run_ends_the_run_within_the_budget() -> None:
    died = threading.Event()

    def answer(number: int) -> int | None:
        if number == 5:
            died.set()
        return 202 if number <= 5 else None

    api = FakeApi(answer)

    def kill() -> None:
        if died.wait(10):
            api.close()

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    began = time.monotonic()
    try:
        posted = post_documents(
            api.url, TOKENS, documents(60), concurrency=2, rate=10, unreachable_after=0.5
        )
    finally:
        killer.join(5)
        api.close()
    took = time.monotonic() - began

    assert took < 4, f"took {took:.1f} s; the paced schedule alone is 6 s"
    assert len(posted) == 60
    accepted = [p for p in posted if p.accepted]
    assert sorted(p.packet_id for p in accepted) == ["p1", "p2", "p3", "p4", "p5"]
    refused = [p for p in posted if not p.accepted]
    assert all(p.status == 0 and not p.accepted for p in refused)
    assert all(UNREACHABLE.match(p.error) for p in refused), refused[0].error
    assert all(p.answered >= p.started > 0 for p in refused)


def test_an_api_never_there_fails_every_document_after_the_budget() -> None:
    began = time.monotonic()
    posted = post_documents(
        f"http://127.0.0.1:{free_port()}",
        TOKENS,
        documents(20),
        concurrency=4,
        unreachable_after=0.3,
    )
    took = time.monotonic() - began

    assert took < 3
    assert all(UNREACHABLE.match(p.error) for p in posted), posted[0].error
    assert "ConnectError" in posted[0].error


def test_503_with_retry_after_for_longer_than_the_budget_is_ridden_through() -> None:
    began = time.monotonic()

    def answer(number: int) -> int:
        return 503 if time.monotonic() - began < 1.0 else 202

    with fake_api(answer) as api:
        posted = post_documents(
            api.url, TOKENS, documents(10), concurrency=2, unreachable_after=0.3
        )

    assert all(p.accepted for p in posted), [p.error for p in posted if not p.accepted]
    assert any(p.unavailable for p in posted)
    assert len({p.packet_id for p in posted}) == 10


def test_refused_connections_shorter_than_the_budget_are_ridden_through() -> None:
    port = free_port()
    results: list[Posted] = []
    poster = threading.Thread(
        target=lambda: results.extend(
            post_documents(
                f"http://127.0.0.1:{port}",
                TOKENS,
                documents(10),
                concurrency=2,
                unreachable_after=5,
            )
        )
    )
    poster.start()
    time.sleep(0.8)
    with fake_api(lambda _: 202, port=port):
        poster.join(10)

    assert not poster.is_alive()
    assert all(p.accepted for p in results), [p.error for p in results if not p.accepted]
    assert any(p.unavailable for p in results)


def test_an_api_unavailable_past_patience_ends_the_run_not_each_document() -> None:
    began = time.monotonic()
    with fake_api(lambda _: 503) as api:
        posted = post_documents(api.url, TOKENS, documents(20), concurrency=2, patience=0.5)
    took = time.monotonic() - began

    assert took < 3, f"took {took:.1f} s, about patience per document"
    assert all(p.status == 0 for p in posted)
    assert all(p.error.startswith("API unavailable for ") for p in posted), posted[0].error
    assert "HTTP 503: busy" in posted[0].error


def test_the_status_responder_gives_up_on_a_dead_api() -> None:
    prepared = documents(4, statuses=True)
    with FastReceiver() as receiver:
        responder = StatusResponder(
            receiver,
            f"http://127.0.0.1:{free_port()}",
            TOKENS,
            prepared,
            concurrency=1,
            unreachable_after=0.3,
        )
        began = time.monotonic()
        try:
            for number, document in enumerate(prepared):
                httpx.post(
                    receiver.url(f"/{document.recipient}"),
                    content=document.data,
                    headers={"X-Lienthong-Delivery-Id": f"d{number}"},
                    timeout=5,
                ).raise_for_status()
            assert responder.wait_for(len(prepared), timeout=5)
        finally:
            responder.close()
        took = time.monotonic() - began

    assert took < 3
    assert responder.recorded == {}
    assert set(responder.failed) == {document.sha256 for document in prepared}
    for reason in responder.failed.values():
        assert reason.startswith("0 API unreachable for "), reason
