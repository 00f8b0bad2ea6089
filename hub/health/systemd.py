"""The systemd notification protocol (sd_notify): a datagram to ``$NOTIFY_SOCKET``."""

from __future__ import annotations

import os
import socket

import structlog

__all__ = ["SystemdNotifier"]

_log = structlog.get_logger(__name__)


class SystemdNotifier:
    """Sends state lines (``READY=1``, ``WATCHDOG=1``, ``STATUS=…``) to the service manager."""

    def __init__(self, address: str) -> None:
        # A leading "@" names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address

    @classmethod
    def from_environment(cls) -> SystemdNotifier | None:
        """The notifier of ``$NOTIFY_SOCKET``; None when no service manager listens."""
        address = os.environ.get("NOTIFY_SOCKET", "")
        return cls(address) if address else None

    def notify(self, *lines: str) -> bool:
        """Send the lines as one message; False (logged) when it could not be sent."""
        message = "\n".join(line.replace("\n", " ") for line in lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                sender.connect(self._address)
                sender.sendall(message)
        except OSError as exc:
            _log.warning("health.notify_failed", error=str(exc))
            return False
        return True
