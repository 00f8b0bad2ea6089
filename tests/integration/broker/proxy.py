"""A TCP proxy in front of RabbitMQ whose connections a test can cut.

It reads the AMQP frames the broker sends and records each Basic.Ack (delivery tag and
``multiple`` flag) it forwards; with ``cut_after_acks``, when the next Basic.Ack would exceed
that many it closes both sides instead, so a publisher loses its connection with some messages
confirmed and some not. :meth:`close_connections` cuts every connection at once; new ones are
still accepted.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from urllib.parse import urlsplit, urlunsplit

_BASIC_ACK = (60, 80)
_FRAME_METHOD = 1
_FRAME_HEADER = 7


class BrokerProxy:
    def __init__(self, amqp_url: str, *, cut_after_acks: int | None = None) -> None:
        parts = urlsplit(amqp_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5672)
        self._url = parts
        self._limit = cut_after_acks
        self.forwarded: list[tuple[int, bool]] = []
        self.cut = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        port = self._listener.getsockname()[1]
        netloc = self._url.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        return urlunsplit(
            self._url._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)
        )

    def confirmed_tags(self) -> set[int]:
        """Publish sequence numbers the forwarded confirms cover."""
        covered: set[int] = set()
        for tag, multiple in self.forwarded:
            covered |= set(range(1, tag + 1)) if multiple else {tag}
        return covered

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._upward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._downward, args=(upstream, client), daemon=True).start()

    def _upward(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass

    def _downward(self, source: socket.socket, target: socket.socket) -> None:
        buffer = b""
        try:
            while chunk := source.recv(65536):
                buffer += chunk
                while len(buffer) >= _FRAME_HEADER:
                    kind, _channel, size = struct.unpack(">BHI", buffer[:_FRAME_HEADER])
                    end = _FRAME_HEADER + size + 1
                    if len(buffer) < end:
                        break
                    frame, buffer = buffer[:end], buffer[end:]
                    payload = frame[_FRAME_HEADER:-1]
                    if kind == _FRAME_METHOD and struct.unpack(">HH", payload[:4]) == _BASIC_ACK:
                        if self._limit is not None and len(self.forwarded) >= self._limit:
                            self.close_connections()
                            return
                        tag, bits = struct.unpack(">QB", payload[4:13])
                        self.forwarded.append((tag, bool(bits & 1)))
                    target.sendall(frame)
        except OSError:
            pass

    def close_connections(self) -> None:
        self.cut.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
        self.close_connections()
