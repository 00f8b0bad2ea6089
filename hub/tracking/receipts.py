"""Receipts: the business state of each document at each recipient, from status packets.

Status packets travel like any packet (ingest routes them to ``ResponseFor/OrganId``); here
they are also recorded. Every status becomes a :class:`~hub.db.models.StatusEvent`, repeats,
late arrivals and statuses about unknown documents included, and moves the state of its
(document sender, DocumentId, recipient) pair by the pure rules of :func:`apply_status`:

- 01 → 03 → 04 → 05 → 06 only moves forward; a lower code arriving later changes nothing;
- 02 (refused) is final;
- a change request (revoke: business type 1; update: type 2; take-back: status 13 from the
  sender) is answered 03/02 for a revoke and 15/16 otherwise; the first answer stands;
- a replacing document (type 3) marks the documents it names as replaced.

A status about a document the hub never carried to that recipient is kept with
``document_known`` false; if the document arrives later its earlier statuses are applied then.
A status (or a revoke, an update) naming a code the directory joins by succession to the one
that holds the document (an ended code and its successor) is tied to that copy: a status from
a merged commune's old code moves the copy its successor holds, and the other way round.
Everything here runs inside the ingest transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

import structlog
from sqlalchemy import Connection, RowMapping, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from edxml.compose import LOCAL_TZ
from edxml.models import parse_timestamp
from hub.db.models import ChangeRequest, ChangeState, DocumentRecipient, StatusEvent
from hub.directory.succession import lineage

__all__ = [
    "PROGRESSION",
    "TAKE_BACK",
    "BusinessState",
    "DocumentNotice",
    "Effect",
    "Replacement",
    "StatusNotice",
    "Transition",
    "apply_status",
    "copies_of",
    "record_document",
    "record_status",
    "request_change",
]

PROGRESSION = ("01", "03", "04", "05", "06")
"""Arrived, accepted, assigned, in progress, completed: the monotone progression."""
REFUSED = "02"
TAKE_BACK = "13"
CHANGE_AGREED = "15"
CHANGE_REFUSED = "16"

_CHANGE_BY_BUSINESS_TYPE = {1: ChangeRequest.REVOKE, 2: ChangeRequest.UPDATE}
_NEW_DOCUMENT_TYPES = frozenset({0, 3})

_log = structlog.get_logger(__name__)


class Effect(StrEnum):
    """What one status did to the business state it concerns."""

    ADVANCED = "advanced"
    """The progression moved forward."""
    REFUSED = "refused"
    """02: the recipient refused the document (final)."""
    UNCHANGED = "unchanged"
    """Kept as an event only: a repeat, a late lower code, anything after a refusal."""
    CHANGE_REQUESTED = "change-requested"
    CHANGE_AGREED = "change-agreed"
    CHANGE_REFUSED = "change-refused"
    UNKNOWN_DOCUMENT = "unknown-document"
    """The hub did not carry this document to this recipient (yet)."""


@dataclass(frozen=True)
class BusinessState:
    """The business state of one document at one recipient."""

    status: str | None = None
    change_request: ChangeRequest | None = None
    change_state: ChangeState | None = None


@dataclass(frozen=True)
class Transition:
    """A new state and what changed."""

    state: BusinessState
    effect: Effect


def apply_status(state: BusinessState, code: str) -> Transition:
    """The state after status ``code`` arrives (pure; codes outside the table change nothing)."""
    if code == TAKE_BACK:
        return request_change(state, ChangeRequest.TAKE_BACK)
    if code in (CHANGE_AGREED, CHANGE_REFUSED):
        return _answer(
            state, code == CHANGE_AGREED, (ChangeRequest.UPDATE, ChangeRequest.TAKE_BACK)
        )
    pending_revoke = (
        state.change_request is ChangeRequest.REVOKE and state.change_state is ChangeState.REQUESTED
    )
    if pending_revoke and code in ("03", REFUSED):
        return _answer(state, code == "03", (ChangeRequest.REVOKE,))
    if state.status == REFUSED:
        return Transition(state, Effect.UNCHANGED)
    if code == REFUSED:
        return Transition(replace(state, status=REFUSED), Effect.REFUSED)
    if code in PROGRESSION and (
        state.status is None or PROGRESSION.index(code) > PROGRESSION.index(state.status)
    ):
        return Transition(replace(state, status=code), Effect.ADVANCED)
    return Transition(state, Effect.UNCHANGED)


def request_change(state: BusinessState, kind: ChangeRequest) -> Transition:
    """The state after the sender asks for a change (pure).

    Asking again for a change still awaiting its answer changes nothing; an answer that
    arrived before its request (out of order) is kept and the request attached to it.
    """
    if state.change_request is kind and state.change_state is ChangeState.REQUESTED:
        return Transition(state, Effect.UNCHANGED)
    if state.change_request is None and state.change_state is not None:
        return Transition(replace(state, change_request=kind), Effect.CHANGE_REQUESTED)
    return Transition(
        replace(state, change_request=kind, change_state=ChangeState.REQUESTED),
        Effect.CHANGE_REQUESTED,
    )


def _answer(
    state: BusinessState, agreed: bool, answers_to: tuple[ChangeRequest, ...]
) -> Transition:
    answer = ChangeState.AGREED if agreed else ChangeState.REFUSED
    effect = Effect.CHANGE_AGREED if agreed else Effect.CHANGE_REFUSED
    if state.change_request in answers_to and state.change_state is ChangeState.REQUESTED:
        return Transition(replace(state, change_state=answer), effect)
    if state.change_request is None and state.change_state is None:
        return Transition(replace(state, change_state=answer), effect)
    return Transition(state, Effect.UNCHANGED)


# -- recording, inside the ingest transaction --------------------------------------------


@dataclass(frozen=True)
class Replacement:
    """A document a replacing packet supersedes, at some recipients (all when empty)."""

    document_id: str
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentNotice:
    """What receipts need from an accepted document packet."""

    sender: str
    document_id: str
    recipients: tuple[str, ...]
    business_type: int
    reason: str | None = None
    replacements: tuple[Replacement, ...] = ()


@dataclass(frozen=True)
class StatusNotice:
    """What receipts need from an accepted status packet."""

    reporter: str
    """``From/OrganId``."""
    addressee: str
    """``ResponseFor/OrganId``."""
    document_id: str
    code: str
    description: str | None = None
    timestamp: str | None = None

    @property
    def document_sender(self) -> str:
        """The original document's sender: the sender itself asks to take back (13)."""
        return self.reporter if self.code == TAKE_BACK else self.addressee

    @property
    def recipient(self) -> str:
        """The document's recipient the status is about."""
        return self.addressee if self.code == TAKE_BACK else self.reporter


_INSERT_RECIPIENT = insert(DocumentRecipient.metadata.tables[DocumentRecipient.__tablename__])
_INSERT_STATUS_EVENT = insert(StatusEvent.metadata.tables[StatusEvent.__tablename__])
# Built once, run on the connection: every new document asks both, and building a statement
# costs more than running it.
_HELD_CODES = select(DocumentRecipient.recipient_code).where(
    DocumentRecipient.sender_code == bindparam("sender"),
    DocumentRecipient.document_id == bindparam("document_id"),
    DocumentRecipient.recipient_code.in_(bindparam("codes", expanding=True)),
)
_ANY_EARLIER_STATUS = select(
    exists().where(
        StatusEvent.document_sender_code == bindparam("sender"),
        StatusEvent.document_id == bindparam("document_id"),
        StatusEvent.document_known.is_(False),
    )
)


_COPY_COLUMNS = (
    DocumentRecipient.id,
    DocumentRecipient.recipient_code,
    DocumentRecipient.status,
    DocumentRecipient.status_at,
    DocumentRecipient.change_request,
    DocumentRecipient.change_state,
    DocumentRecipient.change_packet_id,
    DocumentRecipient.change_reason,
    DocumentRecipient.change_requested_at,
    DocumentRecipient.change_answered_at,
    DocumentRecipient.first_ack_at,
    DocumentRecipient.first_accept_at,
)
_COPY_FOR_UPDATE = (
    select(*_COPY_COLUMNS)
    .where(
        DocumentRecipient.sender_code == bindparam("sender"),
        DocumentRecipient.document_id == bindparam("document_id"),
        DocumentRecipient.recipient_code == bindparam("recipient"),
    )
    .with_for_update()
)
_RECIPIENTS = DocumentRecipient.metadata.tables[DocumentRecipient.__tablename__]
_STATE_FIELDS = tuple(column.key for column in _COPY_COLUMNS[2:])
_SAVE_COPY = (
    update(_RECIPIENTS)
    .where(_RECIPIENTS.c.id == bindparam("copy_id"))
    .values({name: bindparam(name) for name in (*_STATE_FIELDS, "updated_at")})
)


@dataclass
class _Copy:
    """A copy's business state as read by plain columns, saved back with one ``UPDATE`` when
    it changed (the ORM object's bookkeeping cost more than the statements)."""

    id: int
    recipient_code: str
    status: str | None
    status_at: datetime | None
    change_request: ChangeRequest | None
    change_state: ChangeState | None
    change_packet_id: str | None
    change_reason: str | None
    change_requested_at: datetime | None
    change_answered_at: datetime | None
    first_ack_at: datetime | None
    first_accept_at: datetime | None
    read: dict[str, object] = field(default_factory=dict)
    """The state fields as read, to know what changed."""

    @classmethod
    def of(cls, found: RowMapping) -> _Copy:
        copy = cls(**found)
        copy.read = {name: getattr(copy, name) for name in _STATE_FIELDS}
        return copy

    def save(self, connection: Connection, now: datetime) -> None:
        """Write the state back if any of it changed (as the ORM's flush would)."""
        state = {name: getattr(self, name) for name in _STATE_FIELDS}
        if state != self.read:
            connection.execute(_SAVE_COPY, {**state, "copy_id": self.id, "updated_at": now})
            self.read = state


def record_document(
    session: Session, packet_id: str, notice: DocumentNotice, now: datetime
) -> None:
    """Create the recipients' business states of a new or replacing document, or record a
    revoke/update request against the original document."""
    change = _CHANGE_BY_BUSINESS_TYPE.get(notice.business_type)
    if change is not None:
        rows = _rows(session, notice.sender, notice.document_id, notice.recipients)
        held = {row.recipient_code for row in rows}
        for code in notice.recipients:
            if code not in held:
                for found in _successor_rows(session, notice.sender, notice.document_id, code):
                    if found.recipient_code not in held:
                        held.add(found.recipient_code)
                        rows.append(found)
        for row in rows:
            transition = request_change(_state(row), change)
            _store(row, transition, now)
            if transition.effect is Effect.CHANGE_REQUESTED:
                row.change_packet_id = packet_id
                row.change_reason = notice.reason
                row.change_requested_at = now
        return
    if notice.business_type not in _NEW_DOCUMENT_TYPES:
        return
    connection = session.connection()
    keys = {"sender": notice.sender, "document_id": notice.document_id}
    existing = (
        set(connection.execute(_HELD_CODES, {**keys, "codes": list(notice.recipients)}).scalars())
        if notice.recipients
        else set()
    )
    missing = [code for code in dict.fromkeys(notice.recipients) if code not in existing]
    if missing:
        # A hot path: plain INSERTs, no objects to track.
        connection.execute(
            _INSERT_RECIPIENT,
            [
                {
                    "sender_code": notice.sender,
                    "document_id": notice.document_id,
                    "recipient_code": code,
                    "packet_id": packet_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for code in missing
            ],
        )
    held_back = connection.scalar(_ANY_EARLIER_STATUS, keys)
    earlier = _earlier_statuses(session, notice) if held_back else []
    if earlier:
        rows = _rows(session, notice.sender, notice.document_id, notice.recipients)
        _apply_earlier_statuses(earlier, {row.recipient_code: row for row in rows})
    for replaced in notice.replacements:
        for row in _rows(session, notice.sender, replaced.document_id, replaced.recipients):
            row.replaced_by = notice.document_id
            row.replaced_at = now


def record_status(session: Session, packet_id: str, notice: StatusNotice, now: datetime) -> Effect:
    """Keep the status as an event and apply it to its business state, if the hub knows it."""
    connection = session.connection()
    # The common case, the copy the status names, is read and written with plain statements;
    # copies joined by succession go through the ORM (rare, and the same rules).
    found = connection.execute(
        _COPY_FOR_UPDATE,
        {
            "sender": notice.document_sender,
            "document_id": notice.document_id,
            "recipient": notice.recipient,
        },
    ).first()
    direct = _Copy.of(found._mapping) if found is not None else None
    rows: list[_Copy] | list[DocumentRecipient] = (
        [direct]
        if direct is not None
        else _successor_rows(session, notice.document_sender, notice.document_id, notice.recipient)
    )
    row = rows[0] if rows else None
    effect = Effect.UNKNOWN_DOCUMENT
    for held in rows:
        transition = apply_status(_state(held), notice.code)
        _store(held, transition, now)
        _note_answer(held, notice.code, now)
        if transition.effect is Effect.CHANGE_REQUESTED:
            held.change_packet_id = packet_id
            held.change_reason = notice.description
            held.change_requested_at = now
        if held is row:
            effect = transition.effect
    if direct is not None:
        direct.save(connection, now)
    else:
        session.flush()
    connection.execute(
        _INSERT_STATUS_EVENT,
        {
            "packet_id": packet_id,
            "document_sender_code": notice.document_sender,
            "document_id": notice.document_id,
            "recipient_code": row.recipient_code if row is not None else notice.recipient,
            "reporter_code": notice.reporter,
            "status_code": notice.code,
            "description": notice.description,
            "reported_at_text": notice.timestamp[:64] if notice.timestamp else None,
            "reported_at": _local_time(notice.timestamp),
            "received_at": now,
            "document_known": row is not None,
            "effect": effect.value,
        },
    )
    if row is None:
        _log.info(
            "status.unknown_document",
            packet_id=packet_id,
            document_sender=notice.document_sender,
            recipient=notice.recipient,
            status=notice.code,
        )
    return effect


def copies_of(session: Session, document_id: str) -> set[tuple[str, str]]:
    """(sender, recipient) of every copy the hub carried of a document ``document_id`` names
    (several senders may have used one DocumentId); empty when it carried none."""
    rows = session.execute(
        select(DocumentRecipient.sender_code, DocumentRecipient.recipient_code).where(
            DocumentRecipient.document_id == document_id
        )
    )
    return {(sender, recipient) for sender, recipient in rows}


def _earlier_statuses(session: Session, notice: DocumentNotice) -> list[StatusEvent]:
    """Statuses about this document that arrived before it (kept as of an unknown document)."""
    return list(
        session.scalars(
            select(StatusEvent)
            .where(
                StatusEvent.document_sender_code == notice.sender,
                StatusEvent.document_id == notice.document_id,
                StatusEvent.document_known.is_(False),
            )
            .order_by(StatusEvent.id)
        )
    )


def _apply_earlier_statuses(
    earlier: Sequence[StatusEvent], rows: dict[str, DocumentRecipient]
) -> None:
    for event in earlier:
        row = rows.get(event.recipient_code)
        if row is None:
            continue
        transition = apply_status(_state(row), event.status_code)
        _store(row, transition, event.received_at)
        _note_answer(row, event.status_code, event.received_at)
        if transition.effect is Effect.CHANGE_REQUESTED:
            row.change_packet_id = event.packet_id
            row.change_reason = event.description
            row.change_requested_at = event.received_at
        event.document_known = True
        event.effect = transition.effect.value


def _rows(
    session: Session, sender: str, document_id: str, recipients: Sequence[str]
) -> list[DocumentRecipient]:
    query = (
        select(DocumentRecipient)
        .where(
            DocumentRecipient.sender_code == sender,
            DocumentRecipient.document_id == document_id,
        )
        .order_by(DocumentRecipient.id)
        .with_for_update()
    )
    if recipients:
        query = query.where(DocumentRecipient.recipient_code.in_(list(recipients)))
    return list(session.scalars(query))


def _successor_rows(
    session: Session, sender: str, document_id: str, code: str
) -> list[DocumentRecipient]:
    """The copies of the document held under codes joined to ``code`` by succession: under
    its successors if any (a status from an ended code), else under its predecessors (a
    status from the agency that took their copies over)."""
    for related in lineage(session, code):
        if not related:
            continue
        rows = list(
            session.scalars(
                select(DocumentRecipient)
                .where(
                    DocumentRecipient.sender_code == sender,
                    DocumentRecipient.document_id == document_id,
                    DocumentRecipient.recipient_code.in_(related),
                )
                .order_by(DocumentRecipient.id)
                .with_for_update()
            )
        )
        if rows:
            return rows
    return []


def _state(row: DocumentRecipient | _Copy) -> BusinessState:
    return BusinessState(
        status=row.status, change_request=row.change_request, change_state=row.change_state
    )


def _store(row: DocumentRecipient | _Copy, transition: Transition, now: datetime) -> None:
    state = transition.state
    if state.status != row.status:
        row.status = state.status
        row.status_at = now
    if state.change_state != row.change_state:
        answered = state.change_state in (ChangeState.AGREED, ChangeState.REFUSED)
        row.change_answered_at = now if answered else None
    row.change_request = state.change_request
    row.change_state = state.change_state


_ANSWERING = frozenset({"01", REFUSED, "03", "04", "05", "06"})
"""Statuses that show the recipient's system has the document (02 refuses it, having it)."""
_ACCEPTING = frozenset({"03", "04", "05", "06"})


def _note_answer(row: DocumentRecipient | _Copy, code: str, received_at: datetime) -> None:
    """Keep the first answer times (whatever the status did to the state: a repeat, a late
    lower code or a code after a refusal still shows the document was there)."""
    if code in _ANSWERING and (row.first_ack_at is None or received_at < row.first_ack_at):
        row.first_ack_at = received_at
    if code in _ACCEPTING and (row.first_accept_at is None or received_at < row.first_accept_at):
        row.first_accept_at = received_at


def _local_time(text: str | None) -> datetime | None:
    moment = parse_timestamp(text)
    if moment is None:
        return None
    return moment.replace(tzinfo=LOCAL_TZ).astimezone(UTC)
