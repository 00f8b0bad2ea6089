"""The API over a real TCP socket: uvicorn serving the app, and `lienthong serve` itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from hub.db.models import DeliveryState

from . import packets
from .conftest import Hub
from .packets import DISTRICT, WARD

pytestmark = pytest.mark.integration


def serve(hub: Hub) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(hub.app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def base_url(hub: Hub) -> Iterator[str]:
    yield from serve(hub)


@pytest.fixture
def small_base_url(hub: Hub) -> Iterator[str]:
    yield from serve(hub.with_settings(max_packet_bytes=1000))


def test_packet_posted_over_http_is_fetched_byte_identical(base_url: str, hub: Hub) -> None:
    _, raw = packets.document(WARD, (DISTRICT,))
    with httpx.Client(base_url=base_url, timeout=10) as http:
        accepted = http.post("/api/v1/packets", content=raw, headers=hub.auth(WARD))
        delivery_id = accepted.json()["deliveries"][0]["delivery_id"]
        hub.set_state(delivery_id, DeliveryState.AVAILABLE)
        fetched = http.get(f"/api/v1/inbox/{delivery_id}", headers=hub.auth(DISTRICT))

    assert accepted.status_code == 202
    assert fetched.content == raw
    assert fetched.headers["content-length"] == str(len(raw))


def test_oversize_upload_without_a_length_is_refused_while_streaming(
    small_base_url: str, hub: Hub
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(6):
            yield b"<" * 500

    with httpx.Client(base_url=small_base_url, timeout=10) as http:
        response = http.post("/api/v1/packets", content=chunks(), headers=hub.auth(WARD))

    assert (response.status_code, response.json()["error"]["code"]) == (413, "packet.too-large")


def test_wrong_token_over_http_answers_401_with_a_challenge(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        response = http.get("/api/v1/inbox", headers={"Authorization": "Bearer lt_wrong"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_lienthong_serve_prints_its_address_and_serves(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "lienthong.db"
    shutil.copyfile(sqlite_template, database)
    port = free_port()
    env = {
        **os.environ,
        "LIENTHONG_DATA_DIR": str(tmp_path / "var"),
        "LIENTHONG_DATABASE_URL": f"sqlite:///{database.as_posix()}",
        "LIENTHONG_PORT": str(port),
        "LIENTHONG_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main(['serve']))"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "lienthong serve exited"
                assert time.monotonic() < deadline, "lienthong serve did not answer"
                time.sleep(0.1)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)

    assert response.json() == {"status": "ok"}
    assert f"http://127.0.0.1:{port}" in stderr


def test_timeline_of_a_vietnamese_document_id_over_http(base_url: str, hub: Hub) -> None:
    document_id = f"{WARD},2026/11/20,7816/UBND-TTĐT"
    _, raw = packets.document(WARD, (DISTRICT,), document_id=document_id)
    with httpx.Client(base_url=base_url, timeout=10) as http:
        http.post("/api/v1/packets", content=raw, headers=hub.auth(WARD))
        response = http.get(
            f"/api/v1/documents/{quote(document_id, safe='')}/timeline", headers=hub.auth(DISTRICT)
        )

    assert (response.status_code, response.json()["document_id"]) == (200, document_id)
