"""A real HTTP webhook receiver on a free localhost port, answering as each test scripts it."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``hold`` keeps the request open until the event is set."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    """A request as the receiver got it (header names in lower case)."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    at: float


class WebhookReceiver:
    """Records every POST; answers each path with its scripted replies, the last repeating."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = {}
        self._received: dict[str, list[Received]] = defaultdict(list)
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                reply = receiver._record(self.path, dict(self.headers.items()), body)
                if reply.hold is not None:
                    reply.hold.wait(30)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path] = list(replies) or [Reply()]

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self._received[path].append(
                Received(path, {k.lower(): v for k, v in headers.items()}, body, time.monotonic())
            )
            self._lock.notify_all()
            script = self._scripts.get(path) or [Reply()]
            return script.pop(0) if len(script) > 1 else script[0]

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._received[path])

    def wait_for(self, path: str, count: int, timeout: float = 20.0) -> list[Received]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._received[path]) >= count, timeout):
                raise AssertionError(
                    f"{path}: {len(self._received[path])} requests after {timeout} s, "
                    f"expected {count}"
                )
            return list(self._received[path])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
