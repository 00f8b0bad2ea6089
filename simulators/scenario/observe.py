"""What a scenario run saw, judged against what its profiles imply, and summed up per level.

Two views are compared. The hub's, through the operator API: each document's timeline (every
packet with its deliveries and attempts, every recipient's business state, every status). The
simulated systems', through :class:`Tracker`: which packets each agency holds (by SHA-256,
since the hub passes bytes through untouched), under which delivery ids, and which statuses
each sender got back. :func:`judge` lists what is not (yet) as expected for one document;
:func:`summarize` counts per level of the recipients; everything here but :class:`Tracker`
is pure.
"""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import edxml
from edxml import DocumentPacket, StatusPacket
from simulators.agencies import Agency
from simulators.load import percentile
from simulators.profiles import STATUS_RANK, Profile
from simulators.scenario.plan import Roster

__all__ = [
    "ChangeRecord",
    "DocumentRecord",
    "LevelRow",
    "Tracker",
    "judge",
    "render_table",
    "summarize",
]

CATEGORIES = ("delivered", "statuses", "changes", "landed")
_CHANGE_REQUESTS = {"revoke": "revoke", "update": "update", "take-back": "take-back"}


@dataclass(frozen=True)
class ChangeRecord:
    """A change the scenario made to a document."""

    kind: str
    """``revoke``, ``update``, ``replace`` or ``take-back``."""
    recipients: tuple[str, ...]
    """The recipients it concerns."""
    replacement: str | None = None
    """``replace``: the replacing document's id."""


@dataclass
class DocumentRecord:
    """A new (or replacing) document the scenario sent, and what it did to it afterwards."""

    key: tuple[str, int]
    sender: str
    recipients: tuple[str, ...]
    packet: DocumentPacket
    sha256: str
    sent_at: float
    """``time.monotonic()`` when the hub (or the axis) accepted it."""
    replaces: str | None = None
    changes: list[ChangeRecord] = field(default_factory=list)
    lands: dict[str, str] = field(default_factory=dict)
    """Where the copy addressed to each code must land when a reorganisation ended it (its
    successor); codes not listed land where addressed."""

    @property
    def document_id(self) -> str:
        """Its DocumentId."""
        return self.packet.document_id

    def landing(self, code: str) -> str:
        """The agency that takes the copy addressed to ``code``."""
        return self.lands.get(code, code)

    def withdrawn_at(self, recipient: str, profile: Profile) -> bool:
        """Whether ``recipient`` agreed to give the document up (revoke or take-back): its
        further statuses are no longer expected."""
        return any(
            change.kind in ("revoke", "take-back")
            and recipient in change.recipients
            and profile.expected_change(change.kind) == "agreed"
            for change in self.changes
        )


class Tracker:
    """What the simulated systems hold: packets by SHA-256 and delivery id, statuses by
    document. :meth:`update` reads only what arrived since its last call."""

    def __init__(self, agencies: Mapping[str, Agency]) -> None:
        self.agencies = dict(agencies)
        self.holders: dict[str, set[str]] = defaultdict(set)
        """SHA-256 of a packet → codes of the agencies holding it."""
        self.delivery_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
        """(agency, SHA-256) → the delivery ids it came under."""
        self.statuses: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        """(agency, DocumentId) → reporter → status codes the agency received about it."""
        self.documents_received = 0
        self._read: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def update(self) -> None:
        """Take in what every agency received since the last call."""
        with self._lock:
            for code, agency in self.agencies.items():
                fresh = agency.received[self._read[code] :]
                self._read[code] += len(fresh)
                for item in fresh:
                    digest = item.sha256
                    self.holders[digest].add(code)
                    self.delivery_ids[(code, digest)].add(item.delivery_id)
                    if item.kind == "edoc":
                        self.documents_received += 1
                        continue
                    try:
                        packet = edxml.parse(item.body)
                    except edxml.EdxmlError:
                        continue
                    if isinstance(packet, StatusPacket):
                        about = self.statuses[(code, packet.document_id)]
                        about[packet.sender].add(packet.header.status_code)

    def holds(self, code: str, sha256: str) -> bool:
        """Whether agency ``code`` holds the packet with this SHA-256."""
        return code in self.holders.get(sha256, ())

    def got_status(self, sender: str, document_id: str, reporter: str, code: str) -> bool:
        """Whether ``sender`` received status ``code`` from ``reporter`` about the document."""
        return code in self.statuses.get((sender, document_id), {}).get(reporter, ())

    def duplicates(self) -> list[str]:
        """Packets an agency holds under more than one delivery id (a document delivered
        twice as new): there should be none."""
        return [
            f"{code} holds packet {digest[:12]}… under {len(ids)} delivery ids: "
            + ", ".join(sorted(ids))
            for (code, digest), ids in sorted(self.delivery_ids.items())
            if len(ids) > 1
        ]

    def redelivered(self) -> int:
        """Offers of delivery ids an agency already held, all agencies together."""
        return sum(agency.repeated_offers() for agency in self.agencies.values())


def _by_recipient(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(row["recipient"]): row for row in rows}


def judge(
    record: DocumentRecord,
    timeline: Mapping[str, Any] | None,
    *,
    roster: Roster,
    profile_of: Callable[[str], Profile],
    tracker: Tracker,
) -> dict[str, list[str]]:
    """What is not (yet) as expected for one document, by category (``delivered``,
    ``statuses``, ``changes``, ``landed``); empty lists when it settled as its profiles imply.
    A copy addressed to a code a reorganisation ended is judged by the profile of the agency
    it lands at; a copy merged into another one to the same successor is expected so."""
    found: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    label = f"{record.document_id} ({record.sender})"
    if timeline is None:
        found["delivered"].append(f"{label}: the hub shows no timeline of it yet")
        return found

    def channel(code: str) -> str:
        member = roster.members.get(code)
        return member.channel if member is not None else "unknown"

    for packet in timeline.get("packets", ()):
        for delivery in packet.get("deliveries", ()):
            recipient = str(delivery["recipient"])
            if delivery["state"] == "merged":
                found["landed"].extend(_merged_problems(record, packet, delivery, label))
                continue
            state = profile_of(recipient).expected_delivery(channel(recipient))
            what = f"{packet['kind']} {packet['packet_id']} of {label} to {recipient}"
            if delivery["state"] != state:
                error = f" ({delivery['last_error']})" if delivery.get("last_error") else ""
                found["delivered"].append(f"{what} is {delivery['state']}{error}, expected {state}")
            elif state != "parked" and not tracker.holds(recipient, str(packet["sha256"])):
                found["delivered"].append(f"{what}: {recipient}'s system never received it")
    states = _by_recipient(timeline.get("recipients", ()))
    if record.lands:
        found["landed"].extend(_landing_problems(record, timeline, label))
    for addressed in record.recipients:
        recipient = record.landing(addressed)
        profile = profile_of(recipient)
        expected = profile.expected_status(channel(recipient))
        if expected is None or record.withdrawn_at(recipient, profile):
            continue
        row = states.get(addressed) or states.get(recipient)
        status = row.get("status") if row is not None else None
        if status != expected:
            found["statuses"].append(
                f"{label} at {recipient} ({profile.name}) is {status or 'without status'}, "
                f"expected {expected}"
            )
        elif not tracker.got_status(record.sender, record.document_id, recipient, expected):
            found["statuses"].append(
                f"{label}: the sender never received {expected} from {recipient}"
            )
    for change in record.changes:
        for recipient in change.recipients:
            row = states.get(recipient)
            if change.kind == "replace":
                replaced = row.get("replaced_by") if row is not None else None
                if replaced != change.replacement:
                    found["changes"].append(
                        f"{label} at {recipient}: replaced_by is {replaced}, expected "
                        f"{change.replacement}"
                    )
                continue
            wanted = profile_of(recipient).expected_change(change.kind) or "requested"
            request = row.get("change_request") if row is not None else None
            answer = row.get("change_state") if row is not None else None
            if request != _CHANGE_REQUESTS[change.kind] or answer != wanted:
                found["changes"].append(
                    f"{label} at {recipient}: {change.kind} is {request}/{answer}, "
                    f"expected {_CHANGE_REQUESTS[change.kind]}/{wanted}"
                )
    return found


def _original(record: DocumentRecord, timeline: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next(
        (
            packet
            for packet in timeline.get("packets", ())
            if packet["kind"] == "edoc" and packet.get("sha256") == record.sha256
        ),
        None,
    )


def _landing_problems(record: DocumentRecord, timeline: Mapping[str, Any], label: str) -> list[str]:
    """Each copy the document addressed went where the reorganisation sends it."""
    original = _original(record, timeline)
    if original is None:
        return [f"{label}: the hub shows no packet with the bytes sent"]
    reached: dict[str, str] = {}
    for delivery in original.get("deliveries", ()):
        recipient = str(delivery["recipient"])
        reached.setdefault(recipient, recipient)
        for redirect in delivery.get("redirects") or ():
            if redirect.get("to_code"):
                reached[str(redirect["from_code"])] = str(redirect["to_code"])
    problems = []
    for addressed in record.recipients:
        wanted = record.landing(addressed)
        got = reached.get(addressed)
        if got != wanted:
            problems.append(
                f"{label}: the copy addressed to {addressed} went to {got or 'nobody'}, "
                f"expected {wanted}"
            )
    return problems


def _merged_problems(
    record: DocumentRecord, packet: Mapping[str, Any], delivery: Mapping[str, Any], label: str
) -> list[str]:
    """A merged copy is one whose addressee's successor already has a copy of the packet."""
    redirects = list(delivery.get("redirects") or ())
    carriers = {str(item["delivery_id"]): item for item in packet.get("deliveries", ())}
    for redirect in redirects:
        carrier = carriers.get(str(redirect.get("merged_into")))
        wanted = record.landing(str(redirect["from_code"]))
        if carrier is not None and carrier["recipient"] == wanted == redirect.get("to_code"):
            return []
    return [
        f"{label}: the copy to {delivery['recipient']} was merged, but not into a copy to its "
        "successor"
    ]


@dataclass(frozen=True)
class LevelRow:
    """One level's copies of new documents (or every level's, for the total)."""

    level: int | None
    name: str
    sent: int = 0
    delivered: int = 0
    acknowledged: int = 0
    """Copies whose recipient reported 01."""
    accepted: int = 0
    """Copies registered: 03 or further."""
    completed: int = 0
    """Copies completed: 06."""
    refused: int = 0
    """Copies refused: 02."""
    retried: int = 0
    """Copies that took more than one attempt."""
    parked: int = 0
    median: float | None = None
    """Median seconds from acceptance to delivery."""
    p95: float | None = None


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def summarize(
    records: Iterable[DocumentRecord],
    timelines: Mapping[tuple[str, int], Mapping[str, Any] | None],
    roster: Roster,
) -> list[LevelRow]:
    """Per level of the recipients, then a total: the copies of the scenario's new (and
    replacing) documents, how far they got, and how long delivery took."""
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    times: dict[tuple[int, str], list[float]] = defaultdict(list)
    for record in records:
        timeline = timelines.get(record.key)
        if timeline is None:
            continue
        original = next(
            (
                packet
                for packet in timeline.get("packets", ())
                if packet["kind"] == "edoc" and packet.get("sha256") == record.sha256
            ),
            None,
        )
        if original is None:
            continue
        states = _by_recipient(timeline.get("recipients", ()))
        acknowledged = {
            str(event["reporter"])
            for event in timeline.get("statuses", ())
            if event["status_code"] == "01"
        }
        for delivery in original.get("deliveries", ()):
            if delivery["state"] == "merged":
                continue  # carried by the packet's copy to the same successor
            recipient = str(delivery["recipient"])
            addressed = [str(item["from_code"]) for item in delivery.get("redirects") or ()] + [
                recipient
            ]
            level = roster.level_of(recipient)
            row = counts[level]
            row["sent"] += 1
            if delivery["state"] == "delivered":
                row["delivered"] += 1
                if delivery.get("delivered_at"):
                    times[level].append(_seconds(delivery["created_at"], delivery["delivered_at"]))
            row["parked"] += delivery["state"] == "parked"
            row["retried"] += int(delivery.get("attempts") or 0) > 1
            status = next(
                (states[code].get("status") for code in addressed if code in states), None
            )
            row["acknowledged"] += recipient in acknowledged
            row["accepted"] += STATUS_RANK.get(str(status), 0) >= STATUS_RANK["03"]
            row["completed"] += status == "06"
            row["refused"] += status == "02"
    rows = [
        _row(level, name, counts[(level, name)], times[(level, name)])
        for level, name in sorted(counts)
    ]
    total: dict[str, int] = defaultdict(int)
    for level_counts in counts.values():
        for name, value in level_counts.items():
            total[name] += value
    every = [value for level_times in times.values() for value in level_times]
    return [*rows, _row(None, "total", total, every)]


def _row(
    level: int | None, name: str, counts: Mapping[str, int], times: Sequence[float]
) -> LevelRow:
    return LevelRow(
        level=level,
        name=name,
        sent=counts.get("sent", 0),
        delivered=counts.get("delivered", 0),
        acknowledged=counts.get("acknowledged", 0),
        accepted=counts.get("accepted", 0),
        completed=counts.get("completed", 0),
        refused=counts.get("refused", 0),
        retried=counts.get("retried", 0),
        parked=counts.get("parked", 0),
        median=statistics.median(times) if times else None,
        p95=percentile(times, 0.95) if times else None,
    )


_HEADERS = (
    "level",
    "sent",
    "delivered",
    "01 ack",
    "03 accepted",
    "06 done",
    "02 refused",
    "retried",
    "parked",
    "median",
    "p95",
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def render_table(rows: Sequence[LevelRow]) -> str:
    """The per-level summary as a text table (delivery times from acceptance at the hub)."""
    lines = []
    for row in rows:
        label = row.name if row.level is None else f"{row.level} {row.name}"
        lines.append(
            [
                label,
                str(row.sent),
                str(row.delivered),
                str(row.acknowledged),
                str(row.accepted),
                str(row.completed),
                str(row.refused),
                str(row.retried),
                str(row.parked),
                _duration(row.median),
                _duration(row.p95),
            ]
        )
    widths = [
        max(len(_HEADERS[column]), *(len(line[column]) for line in lines))
        for column in range(len(_HEADERS))
    ]

    def render(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    body = [render(line) for line in lines]
    if len(body) > 1:
        body.insert(len(body) - 1, rule)
    return "\n".join([render(_HEADERS), rule, *body])
