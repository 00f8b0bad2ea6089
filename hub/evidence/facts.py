"""The facts the hub vouches for, written in the transaction of the change they record.

Each fact is a statement: a small JSON object in canonical form (:func:`hub.records.chain.
canonical_json`) naming the packet, its SHA-256, the moment and what happened. The record
stores the statement and its SHA-256 and nothing else is computed here: a plain insert, no
lock, no read, so the ingest and delivery paths pay one statement each. The chain is made
later by a checkpoint (:mod:`hub.evidence.checkpoints`).

Kinds, after the evidence an eDelivery user expects:

========================  ==============================================================
``submitted``             the hub accepted the packet: SHA-256, size, sender, who posted
                          it, its recipients as addressed and the delivery made for each
``made-available``        a copy waits in the recipient's pull inbox
``retrieved``             the recipient fetched its copy and acknowledged it ``done``
``delivered``             the recipient's system took the copy (webhook, its own queue)
``relayed``               the copy went on to the next system: the national axis (with its
                          transaction id) or a peer hub
``refused``               the recipient acknowledged its copy ``fail`` (with its reason)
``parked``, ``expired``   not delivered: the last error, after the last attempt or the
                          maximum age
``requeued``              an operator replayed a parked or expired copy (audit entry)
``payload-purged``        retention removed the packet's bytes; the hash stays
========================  ==============================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert

from hub.channels import Channel
from hub.db.models import DeliveryState, EvidenceRecord
from hub.records.chain import canonical_json, sha256

__all__ = [
    "SETTLEMENT_COLUMNS",
    "STATEMENT_VERSION",
    "Copy",
    "EvidenceKind",
    "kind_of_settlement",
    "record_acknowledgement",
    "record_purge",
    "record_requeue",
    "record_submission",
    "settlement_row",
    "statement_time",
    "write_record",
]

STATEMENT_VERSION = 1
"""``v`` of every statement: how to read its fields."""

_ERROR_CHARS = 1000
_NOT_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")
"""Characters a statement may not carry: receipts are XML, which cannot hold them."""
_INSERT = insert(EvidenceRecord.metadata.tables[EvidenceRecord.__tablename__])
SETTLEMENT_COLUMNS = ("kind", "packet_id", "delivery_id", "at", "statement", "record_hash")
"""The columns of a record as written (the chain's columns are set when it is chained)."""


class EvidenceKind(StrEnum):
    """What a record vouches for (see the module's table)."""

    SUBMITTED = "submitted"
    MADE_AVAILABLE = "made-available"
    RETRIEVED = "retrieved"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    REFUSED = "refused"
    PARKED = "parked"
    EXPIRED = "expired"
    REQUEUED = "requeued"
    PAYLOAD_PURGED = "payload-purged"


_RELAYING = frozenset({Channel.AXIS, Channel.HUB})
"""Channels that hand a copy to another system on its way, not to the recipient itself."""
_BY_STATE = {
    DeliveryState.AVAILABLE: EvidenceKind.MADE_AVAILABLE,
    DeliveryState.DELIVERED: EvidenceKind.DELIVERED,
    DeliveryState.PARKED: EvidenceKind.PARKED,
    DeliveryState.EXPIRED: EvidenceKind.EXPIRED,
}


@dataclass(frozen=True)
class Copy:
    """One recipient's copy of a packet, as a delivery record names it."""

    packet_id: str
    delivery_id: str
    recipient: str
    channel: Channel
    sha256: str


def statement_time(moment: datetime) -> str:
    """A moment as statements write it: ISO 8601 in UTC, with microseconds."""
    return moment.isoformat(timespec="microseconds")


def kind_of_settlement(state: DeliveryState, channel: Channel) -> EvidenceKind | None:
    """The fact a worker's settlement amounts to; None for a state that proves nothing yet."""
    kind = _BY_STATE.get(state)
    if kind is EvidenceKind.DELIVERED and channel in _RELAYING:
        return EvidenceKind.RELAYED
    return kind


def record_submission(
    connection: Connection,
    *,
    packet_id: str,
    sha256: str,
    size: int,
    packet_kind: str,
    sender: str,
    submitted_by: str,
    source: str,
    document_id: str,
    addressed: Sequence[str],
    deliveries: Iterable[tuple[str, str, str]],
    at: datetime,
    business_type: int | None = None,
    status_code: str | None = None,
) -> None:
    """Vouch that the hub accepted a packet; ``deliveries`` are (recipient, id, channel)."""
    fields: dict[str, Any] = {
        "packet_kind": packet_kind,
        "size": size,
        "sender": sender,
        "submitted_by": submitted_by,
        "source": source,
        "document": document_id,
        "addressed": list(addressed),
        "deliveries": [
            {"recipient": recipient, "delivery": delivery_id, "channel": channel}
            for recipient, delivery_id, channel in deliveries
        ],
    }
    if business_type is not None:
        fields["business_type"] = business_type
    if status_code is not None:
        fields["status_code"] = status_code
    connection.execute(
        _INSERT,
        _row(EvidenceKind.SUBMITTED, packet_id, None, sha256, at, fields),
    )


def write_record(connection: Connection, row: Mapping[str, Any]) -> None:
    """Insert one record as this module's ``*_row`` functions build it."""
    connection.execute(_INSERT, row)


def settlement_row(
    copy: Copy,
    state: DeliveryState,
    *,
    at: datetime,
    attempt: int,
    http_status: int | None = None,
    peer_ref: str | None = None,
    error: str | None = None,
) -> dict[str, Any] | None:
    """The evidence record of what a delivery attempt came to (the columns of
    :data:`SETTLEMENT_COLUMNS`), when it proves something (see :func:`kind_of_settlement`);
    None for a retry, which proves nothing."""
    kind = kind_of_settlement(state, copy.channel)
    if kind is None:
        return None
    fields: dict[str, Any] = {"attempt": attempt}
    if http_status is not None:
        fields["http_status"] = http_status
    if peer_ref is not None:
        fields["peer_ref"] = peer_ref
    if error is not None and kind in (EvidenceKind.PARKED, EvidenceKind.EXPIRED):
        fields["error"] = _text(error)
    return _copy_row(kind, copy, at, fields)


def record_acknowledgement(
    connection: Connection, copy: Copy, *, done: bool, at: datetime, reason: str | None
) -> None:
    """Vouch for the recipient's acknowledgement of a copy it fetched from its inbox."""
    fields: dict[str, Any] = {}
    if reason:
        fields["reason"] = _text(reason)
    kind = EvidenceKind.RETRIEVED if done else EvidenceKind.REFUSED
    connection.execute(_INSERT, _copy_row(kind, copy, at, fields))


def record_requeue(
    connection: Connection,
    copies: Sequence[Copy],
    *,
    at: datetime,
    actor: str,
    reason: str,
    audit_entry: int,
) -> None:
    """Vouch that an operator sent parked or expired copies on their way again."""
    if not copies:
        return
    fields = {"actor": actor, "reason": _text(reason), "audit_entry": audit_entry}
    connection.execute(
        _INSERT, [_copy_row(EvidenceKind.REQUEUED, copy, at, fields) for copy in copies]
    )


def record_purge(
    connection: Connection,
    packets: Sequence[tuple[str, str]],
    *,
    at: datetime,
    actor: str,
    audit_entry: int,
) -> None:
    """Vouch that retention removed these packets' bytes: (packet id, SHA-256) each."""
    if not packets:
        return
    fields = {"actor": actor, "audit_entry": audit_entry}
    connection.execute(
        _INSERT,
        [
            _row(EvidenceKind.PAYLOAD_PURGED, packet_id, None, digest, at, fields)
            for packet_id, digest in packets
        ],
    )


def _copy_row(
    kind: EvidenceKind, copy: Copy, at: datetime, fields: Mapping[str, Any]
) -> dict[str, Any]:
    return _row(
        kind,
        copy.packet_id,
        copy.delivery_id,
        copy.sha256,
        at,
        {"recipient": copy.recipient, "channel": copy.channel.value, **fields},
    )


def _row(
    kind: EvidenceKind,
    packet_id: str,
    delivery_id: str | None,
    digest: str,
    at: datetime,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "v": STATEMENT_VERSION,
        "kind": kind.value,
        "packet": packet_id,
        "sha256": digest,
        "at": statement_time(at),
        **fields,
    }
    if delivery_id is not None:
        statement["delivery"] = delivery_id
    text = canonical_json(statement)
    return {
        "kind": kind.value,
        "packet_id": packet_id,
        "delivery_id": delivery_id,
        "at": at,
        "statement": text,
        "record_hash": sha256(text),
    }


def _text(value: str) -> str:
    """Free text (an error, a reason) cut to size and without characters XML cannot hold."""
    return _NOT_XML.sub("\ufffd", value[:_ERROR_CHARS])
