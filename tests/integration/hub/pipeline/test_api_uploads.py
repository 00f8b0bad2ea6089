"""Uploads over a real socket cost what arrived, for a bounded time, a bounded number at once.

The API is served by uvicorn with the hub's own HTTP protocol (the header deadline), as
`lienthong serve` runs it; slow and vanishing clients are raw sockets.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from structlog.testing import capture_logs

from hub.api.serving import http_protocol

from . import packets
from .conftest import Hub
from .packets import DISTRICT, WARD

pytestmark = pytest.mark.integration


@contextmanager
def served(hub: Hub) -> Iterator[int]:
    """The hub's API on a free port, served as `lienthong serve` serves it: the port."""
    config = uvicorn.Config(
        hub.app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="off",
        http=http_protocol(hub.settings.api.header_timeout),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def begin(port: int, path: str, headers: dict[str, str], body: bytes = b"") -> socket.socket:
    """A connection that sent a request's headers and the start of its body, and waits."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=20)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    connection.sendall(f"POST {path} HTTP/1.1\r\nHost: hub.test\r\n{head}\r\n".encode() + body)
    return connection


def answer(connection: socket.socket) -> tuple[int, dict[str, str], Any, bool]:
    """Status, headers, JSON body of the answer, and whether the server closed afterwards."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += connection.recv(65536)
    closed = connection.recv(1) == b""
    return int(lines[0].split()[1]), headers, json.loads(rest[:length]), closed


def packet_headers(hub: Hub, code: str, length: int) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {hub.token(code)}",
        "Content-Type": "application/xml",
        "Content-Length": str(length),
    }


def test_an_upload_that_stops_arriving_is_answered_408_and_closed(hub: Hub) -> None:
    slow = hub.with_settings(body_idle_timeout=0.5)
    with served(slow) as port:
        connection = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 40_000_000), b"<")
        status, headers, body, closed = answer(connection)
        connection.close()

    assert (status, body["error"]["code"], headers["connection"]) == (
        408,
        "request.timeout",
        "close",
    )
    assert closed


def test_an_upload_that_takes_too_long_overall_is_answered_408(hub: Hub) -> None:
    slow = hub.with_settings(body_timeout=1.0, body_idle_timeout=30)
    with served(slow) as port:
        connection = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 1000), b"<")
        with contextlib.suppress(OSError):  # the answer may close the connection meanwhile
            for _ in range(20):
                time.sleep(0.1)
                connection.sendall(b" ")
        status, _, body, _ = answer(connection)
        connection.close()

    assert (status, body["error"]["code"]) == (408, "request.timeout")
    assert "LIENTHONG_BODY_TIMEOUT" in body["error"]["message"]


def test_a_json_body_that_stops_arriving_is_answered_408(hub: Hub) -> None:
    slow = hub.with_settings(body_idle_timeout=0.5)
    headers = {
        "Authorization": f"Bearer {hub.token(DISTRICT)}",
        "Content-Type": "application/json",
        "Content-Length": "100",
    }
    with served(slow) as port:
        connection = begin(port, "/api/v1/inbox/some-delivery/ack", headers, b'{"result"')
        status, _, body, closed = answer(connection)
        connection.close()

    assert (status, body["error"]["code"], closed) == (408, "request.timeout", True)


def test_headers_that_never_end_get_the_connection_closed(hub: Hub) -> None:
    hasty = hub.with_settings(header_timeout=0.5)
    with served(hasty) as port:
        connection = socket.create_connection(("127.0.0.1", port), timeout=20)
        connection.sendall(b"POST /api/v1/packets HTTP/1.1\r\nHost: hub.test\r\n")
        started = time.monotonic()
        closed = connection.recv(1) == b""
        waited = time.monotonic() - started
        connection.close()

    assert closed
    assert waited < 15


def test_a_connection_that_sends_nothing_is_closed(hub: Hub) -> None:
    hasty = hub.with_settings(header_timeout=0.5)
    with served(hasty) as port:
        connection = socket.create_connection(("127.0.0.1", port), timeout=20)
        closed = connection.recv(1) == b""
        connection.close()

    assert closed


def test_a_client_gone_mid_upload_is_logged_as_a_disconnect_not_a_crash(hub: Hub) -> None:
    with capture_logs() as logs, served(hub) as port:
        connection = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 10_000), b"<e")
        time.sleep(0.3)
        connection.close()
        deadline = time.monotonic() + 10
        while not any(log["event"] == "api.client_disconnected" for log in logs):
            assert time.monotonic() < deadline, f"no disconnect logged: {logs}"
            time.sleep(0.05)

    gone = [log for log in logs if log["event"] == "api.client_disconnected"]
    assert gone[0]["log_level"] == "info"
    assert gone[0]["received"] == 2
    assert not [log for log in logs if log["log_level"] in ("error", "critical")]


def test_an_agency_past_its_share_of_uploads_is_answered_429_with_retry_after(hub: Hub) -> None:
    narrow = hub.with_settings(max_uploads_per_agency=1)
    _, raw = packets.document(WARD, (DISTRICT,))
    with served(narrow) as port:
        holding = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 1000), b"<")
        time.sleep(0.3)
        refused = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/packets", content=raw, headers=hub.auth(WARD)
        )
        holding.close()

    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "upload.agency-busy")
    assert int(refused.headers["retry-after"]) > 0


def test_another_agency_still_uploads_while_one_holds_its_share(hub: Hub) -> None:
    narrow = hub.with_settings(max_uploads_per_agency=1)
    _, raw = packets.document(DISTRICT, (WARD,))
    with served(narrow) as port:
        holding = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 1000), b"<")
        time.sleep(0.3)
        accepted = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/packets", content=raw, headers=hub.auth(DISTRICT)
        )
        holding.close()

    assert accepted.status_code == 202


def test_a_hub_with_all_its_uploads_under_way_answers_503_with_retry_after(hub: Hub) -> None:
    narrow = hub.with_settings(max_uploads=1)
    _, raw = packets.document(DISTRICT, (WARD,))
    with served(narrow) as port:
        holding = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 1000), b"<")
        time.sleep(0.3)
        refused = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/packets", content=raw, headers=hub.auth(DISTRICT)
        )
        holding.close()

    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "upload.hub-busy")
    assert int(refused.headers["retry-after"]) > 0


def test_the_slot_of_an_upload_that_timed_out_is_given_back(hub: Hub) -> None:
    narrow = hub.with_settings(max_uploads_per_agency=1, body_idle_timeout=0.5)
    _, raw = packets.document(WARD, (DISTRICT,))
    with served(narrow) as port:
        stalled = begin(port, "/api/v1/packets", packet_headers(hub, WARD, 1000), b"<")
        timed_out, *_ = answer(stalled)
        stalled.close()
        accepted = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/packets", content=raw, headers=hub.auth(WARD)
        )

    assert (timed_out, accepted.status_code) == (408, 202)


def test_a_json_body_over_a_megabyte_is_refused_413(hub: Hub) -> None:
    with served(hub) as port:
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/inbox/some-delivery/ack",
            content=b'{"result": "done", "reason": "' + b"x" * 2_000_000 + b'"}',
            headers={**hub.auth(DISTRICT), "Content-Type": "application/json"},
        )

    assert (response.status_code, response.json()["error"]["code"]) == (413, "request.too-large")
