"""What the simulated axis holds: every packet sent through it and each system's queue.

In memory and thread-safe (one lock; every operation is short). A packet sent once is one
:class:`Transmission` with one :class:`QueueEntry` per receiving system, all under the same
``doc_id``. Queue states: ``pending`` → ``processing`` / ``done`` / ``fail`` as the receiver
acknowledges; ``done`` and ``fail`` leave the receive list but stay here for inspection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from adapters.axis.protocol import AXIS_TZ
from hub.axis.models import MessageType

__all__ = ["AxisStore", "QueueEntry", "QueueState", "Transmission"]

QueueState = Literal["pending", "processing", "done", "fail"]
LISTED_STATES: frozenset[QueueState] = frozenset({"pending", "processing"})


@dataclass(frozen=True)
class Transmission:
    """One packet as handed to the axis."""

    doc_id: str
    sender_system: str | None
    """The system that sent it; None when injected by an operator."""
    sender: str
    recipients: tuple[str, ...]
    message_type: MessageType
    data: bytes = field(repr=False)
    """The file as sent (without the ``\\r\\n`` the SDK appends to the body)."""
    created: dt.datetime
    title: str = ""
    """The document's subject, when the packet could be read (``getSentEdocList``)."""
    notation: str = ""
    """The document's code notation (``UBND-VP``), when there is one."""

    @property
    def sha256(self) -> str:
        """SHA-256 hex of the packet bytes."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def created_time(self) -> str:
        """``yyyy/MM/dd HH:mm:ss``, axis local time."""
        return self.created.astimezone(AXIS_TZ).strftime("%Y/%m/%d %H:%M:%S")


@dataclass
class QueueEntry:
    """One transmission waiting in (or gone through) one receiving system's queue."""

    transmission: Transmission
    system_id: str
    recipients: tuple[str, ...]
    """The recipients this system serves."""
    state: QueueState = "pending"
    updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class AxisStore:
    """Every transmission and queue of the simulated axis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[Transmission] = []
        self._queues: dict[str, dict[str, QueueEntry]] = {}

    def submit(
        self,
        *,
        sender_system: str | None,
        sender: str,
        recipients: Sequence[str],
        message_type: MessageType,
        data: bytes,
        routes: Mapping[str, Sequence[str]],
        title: str = "",
        notation: str = "",
    ) -> Transmission:
        """Record a packet and queue it for each system of ``routes`` (system → its codes)."""
        transmission = Transmission(
            doc_id=str(uuid.uuid4()),
            sender_system=sender_system,
            sender=sender,
            recipients=tuple(recipients),
            message_type=message_type,
            data=data,
            created=dt.datetime.now(dt.UTC),
            title=title,
            notation=notation,
        )
        with self._lock:
            self._sent.append(transmission)
            for system_id, codes in routes.items():
                self._queues.setdefault(system_id, {})[transmission.doc_id] = QueueEntry(
                    transmission, system_id, tuple(codes)
                )
        return transmission

    def queue(
        self,
        system_id: str,
        message_type: MessageType | None = None,
        *,
        states: frozenset[QueueState] | None = LISTED_STATES,
    ) -> list[QueueEntry]:
        """A system's entries of ``message_type`` in ``states`` (None: any), oldest first."""
        with self._lock:
            return [
                entry
                for entry in self._queues.get(system_id, {}).values()
                if (message_type is None or entry.transmission.message_type == message_type)
                and (states is None or entry.state in states)
            ]

    def entry(self, system_id: str, doc_id: str) -> QueueEntry | None:
        """A system's entry for ``doc_id``."""
        with self._lock:
            return self._queues.get(system_id, {}).get(doc_id)

    def acknowledge(self, system_id: str, doc_id: str, state: QueueState) -> QueueEntry | None:
        """Move a system's entry to ``state``; None when the system has no such entry."""
        with self._lock:
            entry = self._queues.get(system_id, {}).get(doc_id)
            if entry is not None:
                entry.state = state
                entry.updated = dt.datetime.now(dt.UTC)
            return entry

    def sent_by(
        self, system_id: str, message_type: MessageType | None = None
    ) -> list[tuple[Transmission, list[QueueEntry]]]:
        """What a system sent, each with the receiving systems' entries."""
        with self._lock:
            return [
                (
                    t,
                    [q[t.doc_id] for q in self._queues.values() if t.doc_id in q],
                )
                for t in self._sent
                if t.sender_system == system_id
                and (message_type is None or t.message_type == message_type)
            ]

    def clear(self) -> None:
        """Forget every transmission and queue."""
        with self._lock:
            self._sent.clear()
            self._queues.clear()
