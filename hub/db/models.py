"""The hub's tables as typed ORM classes; this metadata is the target of every migration.

The directory: administrative levels, agencies with their delivery channel, the API tokens
agencies authenticate with (stored as SHA-256 digests only) and the delegations that let one
agency send on behalf of another; its history: dated changes (renamed, re-coded, merged, split,
dissolved, moved, levels redrawn), the successions they made, and the versions of every agency
and level they left (what the directory was on any date).

Transport: every accepted packet (its bytes live in the blob store under ``sha256``), one
delivery per recipient with its transport state, every delivery attempt, and the outbox
rows the relay publishes to RabbitMQ (written in the same transaction as the packet).

Receipts: every status event as received, and the business state of each (document,
recipient) pair. Operations: the hash-chained audit log and the API tokens of operators.

Payloads, when the database payload store is chosen (``LIENTHONG_PAYLOAD_STORE=database``):
each stored packet's key and the chunks of its bytes.

The VXP endpoint: the SDK systems agencies connect with, and their HMAC secrets (encrypted,
since a verifier needs the secret itself). The national axis: each reconciliation of what
the axis says it carried against the hub's deliveries.

Evidence: the transport facts the hub vouches for, chained and signed at checkpoints.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.auth.roles import ConsoleRole
from hub.channels import Channel
from hub.db.base import Base, TimestampMixin, UTCDateTime, utcnow
from hub.db.text import search_text

__all__ = [
    "AGENCY_CODE_LENGTH",
    "PEER_CODE_LENGTH",
    "Agency",
    "AgencyDelegation",
    "AgencyLevel",
    "AgencyLevelVersion",
    "AgencySuccession",
    "AgencyToken",
    "AgencyVersion",
    "AuditEntry",
    "AxisPollState",
    "AxisReconciliation",
    "Base",
    "ChangeKind",
    "ChangeRequest",
    "ChangeState",
    "ConsoleRole",
    "ConsoleSession",
    "ConsoleUser",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryRedirect",
    "DeliveryState",
    "DirectoryChange",
    "DocumentRecipient",
    "EvidenceCheckpoint",
    "EvidenceRecord",
    "OperatorToken",
    "OutboxMessage",
    "Packet",
    "PayloadBlob",
    "PayloadChunk",
    "StatusEvent",
    "VxpSecret",
    "VxpSystem",
]

AGENCY_CODE_LENGTH = 64
"""Longest agency code the directory stores (Decision 20/2020 allows 35 characters)."""


class AgencyLevel(TimestampMixin, Base):
    """An administrative level (central, city, district, commune, ...), as given by the data."""

    __tablename__ = "agency_levels"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """Rank of the level: 1 is the top; deeper levels have larger numbers."""
    name: Mapped[str] = mapped_column(String(100))
    """Display name, e.g. ``Trung ương`` or ``Xã, phường``."""


class Agency(TimestampMixin, Base):
    """An agency the hub can route to, with the channel its documents leave by."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(ForeignKey("agency_levels.level"), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.code"), index=True, default=None
    )
    channel: Mapped[Channel] = mapped_column(
        Enum(
            Channel,
            name="channel",
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    channel_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the code or the agency was invented for a sample or a test city."""
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When a directory change brought it into being; None: before the directory's history."""
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When a directory change ended it (dissolved, merged, split, re-coded); None: it exists.
    ``name``, ``level`` and ``parent_code`` are those in force now (see AgencyVersion)."""

    level_row: Mapped[AgencyLevel] = relationship(lazy="joined", innerjoin=True)


class AgencyToken(Base):
    """An API token of an agency; only its SHA-256 digest is stored.

    Several tokens may be active at once, so a token is rotated by issuing the new one,
    deploying it, then revoking the old one.
    """

    __tablename__ = "agency_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the whole token."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, so operators can tell tokens apart."""
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AgencyDelegation(Base):
    """Permission for ``delegate_code`` to send packets whose ``From`` is ``principal_code``."""

    __tablename__ = "agency_delegations"

    delegate_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), primary_key=True
    )
    principal_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- the directory's history -------------------------------------------------------------


class ChangeKind(StrEnum):
    """What a dated directory change does."""

    RENAME = "rename"
    """An agency takes another name."""
    RECODE = "recode"
    """An agency takes another code: the new code succeeds the old one."""
    MERGE = "merge"
    """Agencies end and one agency (existing or new) succeeds them all."""
    SPLIT = "split"
    """An agency ends and several agencies succeed it (no single successor)."""
    DISSOLVE = "dissolve"
    """Agencies end, with one successor or none."""
    MOVE = "move"
    """Agencies change level or parent."""
    CREATE = "create"
    """New agencies come into being."""
    LEVELS = "levels"
    """The list of administrative levels in force changes (four levels to three, ...)."""


class DirectoryChange(Base):
    """A dated change of the directory: who recorded it, when, under which legal act."""

    __tablename__ = "directory_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """The change's id in its file, or one derived from its content (re-imports match it)."""
    kind: Mapped[ChangeKind] = mapped_column(
        Enum(
            ChangeKind,
            name="change_kind",
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    """When it takes effect (a date in a file is the city's midnight, UTC+7)."""
    act: Mapped[str] = mapped_column(Text)
    """The legal act that decided it (resolution, decision, ...)."""
    note: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text)
    """One line saying what it does, for lists."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The change as given, with the codes it ends, creates and revises and their successors."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the change as given: an import of the same key must bring the same change."""
    source: Mapped[str] = mapped_column(String(255), default="")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    """True for invented changes (samples, tests)."""
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    """When the hub applied it to what it holds (names in force, deliveries on their way)."""
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What applying it did (deliveries re-targeted, merged, parked)."""


class AgencySuccession(Base):
    """``successor_code`` takes over from ``predecessor_code`` from ``effective_at`` on."""

    __tablename__ = "agency_successions"

    predecessor_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    successor_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code"), primary_key=True, index=True
    )
    change_id: Mapped[int] = mapped_column(ForeignKey("directory_changes.id"), index=True)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    carries_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    """The predecessor's API tokens may send for the successor (its system carries on)."""
    takes_in_flight: Mapped[bool] = mapped_column(Boolean, default=False)
    """Of a split: this successor takes what was on its way to the predecessor."""


class AgencyVersion(Base):
    """An agency's name, level and parent over a span of time (``valid_until`` excluded)."""

    __tablename__ = "agency_versions"
    __table_args__ = (Index("ix_agency_versions_code_valid_from", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """None: since before the directory's history."""
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """None: still in force (or in force from ``valid_from`` on)."""
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(ForeignKey("agency_levels.level"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), default=None)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("directory_changes.id"), default=None)
    """The change that began this version (None: the directory's import)."""


class AgencyLevelVersion(Base):
    """An administrative level and its name over a span of time (``valid_until`` excluded)."""

    __tablename__ = "agency_level_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(ForeignKey("agency_levels.level"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("directory_changes.id"), default=None)


# -- transport -------------------------------------------------------------------------

ID_LENGTH = 26
"""Length of packet and delivery ids (see hub.ids)."""
PEER_CODE_LENGTH = 64
"""Longest peer error code kept on an attempt (longer ones are cut)."""
DOCUMENT_ID_LENGTH = 255


def _str_enum(enum: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class DeliveryState(StrEnum):
    """Where one recipient's copy of a packet is on its way (the transport axis)."""

    QUEUED = "queued"
    """Accepted; waiting for the relay and a worker."""
    RETRYING = "retrying"
    """The last attempt failed transiently; waiting in a retry tier."""
    AVAILABLE = "available"
    """Inbox channel: waiting for the agency to fetch and acknowledge it."""
    DELIVERED = "delivered"
    """Handed over: pushed and accepted, or fetched and acknowledged ``done``."""
    REFUSED = "refused"
    """The recipient's system acknowledged it with ``fail``."""
    PARKED = "parked"
    """Given up after the last attempt or a permanent error; an operator may replay it."""
    EXPIRED = "expired"
    """Given up past the maximum age; an operator may replay it."""
    MERGED = "merged"
    """Its recipient and another of the packet's became one agency (a directory change): the
    packet's delivery to their successor carries it (see DeliveryRedirect)."""


TERMINAL_STATES = frozenset(
    {
        DeliveryState.DELIVERED,
        DeliveryState.REFUSED,
        DeliveryState.PARKED,
        DeliveryState.EXPIRED,
        DeliveryState.MERGED,
    }
)
"""States a delivery stays in unless an operator replays it."""


def _packet_search_text(context: Any) -> str:
    """The ``search_text`` of a packet being inserted, from its own document columns."""
    values = context.get_current_parameters()
    return search_text(values.get("document_id"), values.get("code"), values.get("subject"))


class Packet(Base):
    """An accepted packet: routing facts, checks recorded on ingest, where its bytes are."""

    __tablename__ = "packets"
    __table_args__ = (
        Index(
            "uq_packets_new_document",
            "sender_code",
            "document_id",
            unique=True,
            sqlite_where=text("kind = 'edoc' AND business_type = 0"),
            postgresql_where=text("kind = 'edoc' AND business_type = 0"),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """``edoc`` or ``status``."""
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the bytes as received: the blob key, and the idempotency key."""
    size: Mapped[int] = mapped_column(BigInteger)
    sender_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), index=True)
    """``From/OrganId``."""
    submitted_by: Mapped[str | None] = mapped_column(String(AGENCY_CODE_LENGTH), default=None)
    """The authenticated agency that posted it (may differ from the sender by delegation)."""
    source: Mapped[str] = mapped_column(String(16), default="api")
    """How it arrived: ``api``, ``axis`` or ``hub``."""
    document_id: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH), index=True)
    """The document's id; for a status, the id of the document it reports on."""
    business_type: Mapped[int | None] = mapped_column(Integer, default=None)
    """0 new, 1 revoke, 2 update, 3 replace; None for a status."""
    status_code: Mapped[str | None] = mapped_column(String(2), default=None)
    addressee_code: Mapped[str | None] = mapped_column(String(AGENCY_CODE_LENGTH), default=None)
    """A status's ``ResponseFor/OrganId``: the original document's sender."""
    code: Mapped[str | None] = mapped_column(String(128), default=None)
    """``number/notation`` of a document, or a status's ``ResponseFor/Code``."""
    subject: Mapped[str | None] = mapped_column(Text, default=None)
    signature_status: Mapped[str] = mapped_column(String(16))
    """``valid``, ``invalid``, ``absent`` or ``unverifiable``."""
    signature_reason: Mapped[str | None] = mapped_column(Text, default=None)
    signature_trusted: Mapped[bool | None] = mapped_column(Boolean, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The edxml inspection of the packet (attachments, trace, warnings…)."""
    pdf_signed: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    """The digital signatures in the document's PDF attachments (Decree 30/2020): ``signed``
    (a valid signature in at least one PDF), ``tampered``, ``unverifiable``, ``unsigned``, or
    ``no-pdf``; None for status packets. See :mod:`hub.ingest.pdf_signatures` for the rule."""
    pdf_count: Mapped[int] = mapped_column(Integer, default=0)
    pdf_signed_count: Mapped[int] = mapped_column(Integer, default=0)
    pdf_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """:class:`~hub.ingest.pdf_signatures.PacketPdfReport` as JSON: signers, times, trust."""
    payload_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When retention removed the packet's bytes from the payload store (its record stays)."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    search_text: Mapped[str | None] = mapped_column(Text, default=_packet_search_text)
    """Document id, number/notation and subject, lower case without diacritics, for the
    console's accent-insensitive search (:mod:`hub.db.text`); set on every insert."""

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="packet")


class Delivery(TimestampMixin, Base):
    """One recipient's copy of a packet, and where it is on its way (see DeliveryState)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("packet_id", "recipient_code"),
        Index("ix_deliveries_recipient_code_state", "recipient_code", "state"),
        Index("ix_deliveries_state_updated_at", "state", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    """The delivery id receivers deduplicate on; kept across retries and replays."""
    packet_id: Mapped[str] = mapped_column(ForeignKey("packets.id"), index=True)
    recipient_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    channel: Mapped[Channel] = mapped_column(
        Enum(
            Channel,
            name="delivery_channel",
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    """The channel resolved at ingest (the directory may change later)."""
    state: Mapped[DeliveryState] = mapped_column(
        _str_enum(DeliveryState, "delivery_state"), default=DeliveryState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ack_result: Mapped[str | None] = mapped_column(String(8), default=None)
    """Inbox acknowledgement: ``done`` or ``fail``."""
    ack_reason: Mapped[str | None] = mapped_column(Text, default=None)
    external_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    """The peer's id for it, e.g. the national axis transaction id."""

    packet: Mapped[Packet] = relationship(back_populates="deliveries")


class DeliveryRedirect(Base):
    """A delivery sent to another agency than the one addressed, by a directory change."""

    __tablename__ = "delivery_redirects"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    from_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    """The code the packet named (or the delivery had)."""
    to_code: Mapped[str | None] = mapped_column(String(AGENCY_CODE_LENGTH), default=None)
    """Its successor; None when there was no single one (the delivery was parked)."""
    change_id: Mapped[int | None] = mapped_column(ForeignKey("directory_changes.id"), default=None)
    stage: Mapped[str] = mapped_column(String(16))
    """``ingest`` (addressed to a code that no longer existed) or ``in-flight`` (on its way
    when the change took effect)."""
    merged_into: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    """The packet's delivery to the successor that carries this one (state ``merged``)."""
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryAttempt(Base):
    """One try at handing a delivery over, whatever came of it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    """1 for the first attempt; replays continue the count."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    """``delivered``, ``available``, ``transient``, ``permanent``, ``breaker-open``…"""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    peer_code: Mapped[str | None] = mapped_column(String(PEER_CODE_LENGTH), default=None)
    """The error code exactly as the peer answered it (e.g. the axis's ``ErrorCode "-1"``),
    kept so that an operator can tell what an unknown code meant once it is known."""
    worker: Mapped[str | None] = mapped_column(String(64), default=None)


class OutboxMessage(Base):
    """A delivery to publish to RabbitMQ; written with the packet, marked once confirmed."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16), default="ingest")
    """Why it is published: ``ingest`` or ``replay``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# -- receipts ----------------------------------------------------------------------------


class ChangeRequest(StrEnum):
    """A change the sender asked for after sending a document."""

    REVOKE = "revoke"
    """A revoke packet (business type 1); answered 03 (agree) or 02 (refuse)."""
    UPDATE = "update"
    """An update packet (business type 2); answered 15 (agree) or 16 (refuse)."""
    TAKE_BACK = "take-back"
    """A status 13 from the sender; answered 15 (agree) or 16 (refuse)."""


class ChangeState(StrEnum):
    """Where the last change request stands."""

    REQUESTED = "requested"
    AGREED = "agreed"
    REFUSED = "refused"


class DocumentRecipient(TimestampMixin, Base):
    """The business state of one document at one recipient, from the statuses it reported."""

    __tablename__ = "document_recipients"
    __table_args__ = (UniqueConstraint("sender_code", "document_id", "recipient_code"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sender_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    """The document's sender (``From/OrganId`` of the document packet)."""
    document_id: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH), index=True)
    recipient_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), index=True)
    packet_id: Mapped[str] = mapped_column(ForeignKey("packets.id"), index=True)
    """The new-document (or replacing) packet that addressed the document to the recipient."""
    status: Mapped[str | None] = mapped_column(String(2), default=None)
    """Highest of 01, 03, 04, 05, 06 reported so far, or 02 (refused, final); None before."""
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the hub received the status that set ``status``."""
    change_request: Mapped[ChangeRequest | None] = mapped_column(
        _str_enum(ChangeRequest, "change_request"), default=None
    )
    change_state: Mapped[ChangeState | None] = mapped_column(
        _str_enum(ChangeState, "change_state"), default=None
    )
    change_packet_id: Mapped[str | None] = mapped_column(ForeignKey("packets.id"), default=None)
    """The revoke or update packet, or the status 13, that asked for the change."""
    change_reason: Mapped[str | None] = mapped_column(Text, default=None)
    change_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    change_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    replaced_by: Mapped[str | None] = mapped_column(String(DOCUMENT_ID_LENGTH), default=None)
    """DocumentId of the document that replaced this one (business type 3)."""
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    first_ack_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the hub received the first status 01…06 or 02 about the document here (whatever
    it did to the state; earlier than ``created_at`` when it came before the document)."""
    first_accept_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the hub received the first status 03…06 about the document here."""


class StatusEvent(Base):
    """One status packet as received: kept even when repeated, late or about no known document."""

    __tablename__ = "status_events"
    __table_args__ = (Index("ix_status_events_document", "document_sender_code", "document_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    packet_id: Mapped[str] = mapped_column(ForeignKey("packets.id"), index=True)
    document_sender_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    """The original document's sender: ``ResponseFor/OrganId``, or ``From`` for a 13."""
    document_id: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH))
    recipient_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    """The document's recipient the status is about: ``From``, or ``ResponseFor`` for a 13."""
    reporter_code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH))
    """``From/OrganId`` of the status packet."""
    status_code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    reported_at_text: Mapped[str | None] = mapped_column(String(64), default=None)
    """The packet's ``Timestamp`` as written (local time, no zone)."""
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """``Timestamp`` read as Asia/Ho_Chi_Minh time; None when it does not parse."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    document_known: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the hub carried the document to this recipient (a business state exists)."""
    effect: Mapped[str] = mapped_column(String(24))
    """What the status did to the business state (``advanced``, ``unchanged``, ...)."""


# -- operations --------------------------------------------------------------------------


class AuditEntry(Base):
    """One operator action, chained to the previous entry by SHA-256 (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    """1, 2, 3, ... without gaps; assigned under the chain lock."""
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class OperatorToken(Base):
    """An API token of a hub operator (replays, every packet and timeline); digest only."""

    __tablename__ = "operator_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    """The operator's name, recorded as the actor of what the token does."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# -- evidence of sending and delivery -----------------------------------------------------


class EvidenceRecord(Base):
    """A transport fact the hub vouches for: a packet submitted, a copy delivered, made
    available, retrieved, relayed, refused, parked, expired, requeued; its payload purged.

    Written with the change it records, in the same transaction, without a link; a checkpoint
    later gives it its place in the chain (``seq``) and the chain hash (see hub.evidence).
    """

    __tablename__ = "evidence_records"
    __table_args__ = (
        Index(
            "ix_evidence_records_unsealed",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    """Order of writing (commit order may differ); the chain's order is ``seq``."""
    kind: Mapped[str] = mapped_column(String(24))
    packet_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    delivery_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When the fact happened (the same moment the statement states)."""
    statement: Mapped[str] = mapped_column(Text)
    """The canonical JSON of the fact: what the record hash covers and a receipt carries."""
    record_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of ``statement``."""
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    """Place in the chain (1, 2, 3, ...), given by the checkpoint that sealed it."""
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    chain_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class EvidenceCheckpoint(Base):
    """A signed statement of the evidence chain's head: everything up to ``last_seq``."""

    __tablename__ = "evidence_checkpoints"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """1, 2, 3, ... without gaps; assigned under the checkpoint lock."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    """The chain hash of record ``last_seq``."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    """``hash`` of the checkpoint before it."""
    statement: Mapped[str] = mapped_column(Text)
    """The canonical JSON that was signed."""
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of ``statement``."""
    signature: Mapped[str] = mapped_column(Text)
    """Base64 RSA-SHA256 (PKCS #1 v1.5) signature of ``statement`` by the hub's key."""
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the DER of the certificate whose key signed it."""


# -- the monitoring console ------------------------------------------------------------


class ConsoleUser(TimestampMixin, Base):
    """A person who signs in to the console; only an argon2 hash of the password is kept."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[ConsoleRole] = mapped_column(_str_enum(ConsoleRole, "console_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsoleSession(Base):
    """A browser's session: the cookie's SHA-256 only, its CSRF token, when it expires.

    Sessions without a user are the sign-in form's, so that form has a CSRF token too.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True, default=None
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    """The absolute end of the session; it also ends after the idle time without use."""


class SignInFailures(Base):
    """Failed console sign-ins counted per (name typed, client address), which locks that
    pair, and per client address, which throttles it (``hub.console.throttle``).

    Rows are keyed by SHA-256 digests: no name typed (real or not) is kept in clear.
    """

    __tablename__ = "console_sign_in_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """SHA-256 of the name typed, on (name, address) rows; null on an address's own row."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Failures since ``window_start``; counting starts again once the window has passed."""
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AxisPollState(Base):
    """The last round of one receive loop of an upstream (the national axis), for the console."""

    __tablename__ = "axis_poll_state"

    upstream: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``edoc`` or ``status``."""
    polls: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """The last round whose list could be read."""
    listed: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    repeated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)
    """Items of the last round left for the next one: the inbound backlog."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PayloadBlob(Base):
    """A packet's bytes in the database payload store: its SHA-256, size, and the upload
    whose chunks hold them (written first, then named by this row in the same transaction)."""

    __tablename__ = "payload_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload: Mapped[str] = mapped_column(String(32), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PayloadChunk(Base):
    """One piece of an upload's bytes, in order (``seq`` from 0); every piece but the last
    has the store's chunk size."""

    __tablename__ = "payload_chunks"

    upload: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AxisReconciliation(Base):
    """One comparison of what an upstream says it carried for the hub (``getSentEdocList``)
    with the hub's deliveries through it (``lienthong axis reconcile``)."""

    __tablename__ = "axis_reconciliations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    upstream: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    """The start of the window of the hub's deliveries compared."""
    listed: Mapped[int] = mapped_column(Integer, default=0)
    """Receivers the upstream listed (one per packet and receiving code)."""
    matched: Mapped[int] = mapped_column(Integer, default=0)
    """Listed receivers that are a delivery of the hub with that transaction id."""
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    """Listed receivers the hub has no delivery for (a packet sent twice, or not by it)."""
    missing: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries the hub handed to the upstream in the window that it does not list."""
    receive_states: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """The matched receivers by the state the upstream reports (``done``, ``pending``…)."""
    samples: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """A few of the unknown and missing ones, for the operator to look at."""


# -- the VXP endpoint ---------------------------------------------------------------------

VXP_SYSTEM_ID_LENGTH = 64


class VxpSystem(Base):
    """The SDK system an agency connects to the hub's VXP endpoint with (one per agency)."""

    __tablename__ = "vxp_systems"

    system_id: Mapped[str] = mapped_column(String(VXP_SYSTEM_ID_LENGTH), primary_key=True)
    """What the SDK sends as ``systemid``."""
    agency_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VxpSecret(Base):
    """An HMAC secret of a VXP system, encrypted with the hub's key (LIENTHONG_VXP_KEYS).

    Several may be active at once, so a secret is rotated by issuing the new one, deploying
    it, then revoking the old one.
    """

    __tablename__ = "vxp_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[str] = mapped_column(
        ForeignKey("vxp_systems.system_id", ondelete="CASCADE"), index=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    """The secret as a Fernet token under the hub's key; never the secret itself."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The secret's first characters, so operators can tell secrets apart."""
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# Indexes the console's pages read through (aggregates over a time window, accent-insensitive
# search, unacknowledged documents, attempts per peer); declared here so the classes above
# stay as they were.
Index(
    "ix_packets_search_text",
    Packet.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
)
Index(
    "ix_packets_console_window",
    Packet.received_at,
    Packet.kind,
    Packet.business_type,
    Packet.sender_code,
    Packet.pdf_signed,
)
Index(
    "ix_deliveries_console_window",
    Delivery.created_at,
    Delivery.recipient_code,
    Delivery.state,
    Delivery.delivered_at,
)
Index(
    "ix_document_recipients_console_window",
    DocumentRecipient.created_at,
    DocumentRecipient.recipient_code,
    DocumentRecipient.status,
)
Index(
    "ix_document_recipients_unacknowledged",
    DocumentRecipient.recipient_code,
    DocumentRecipient.created_at,
    DocumentRecipient.packet_id,
    sqlite_where=text("status IS NULL OR status = '01'"),
    postgresql_where=text("status IS NULL OR status = '01'"),
)
Index("ix_delivery_attempts_started_at", DeliveryAttempt.started_at)
# Revision 0006: the answer times per agency read from the window's rows alone, and the
# unacknowledged page's join to delivered deliveries served from the index.
Index(
    "ix_document_recipients_answer_times",
    DocumentRecipient.created_at,
    postgresql_include=["recipient_code", "first_ack_at", "first_accept_at"],
)
Index(
    "ix_deliveries_delivered",
    Delivery.packet_id,
    Delivery.recipient_code,
    postgresql_include=["delivered_at"],
    sqlite_where=text("state = 'delivered'"),
    postgresql_where=text("state = 'delivered'"),
)
# Revision 0011: what one agency submitted lately (the VXP endpoint's getSentEdocList).
Index("ix_packets_submitted_by_received_at", Packet.submitted_by, Packet.received_at)
